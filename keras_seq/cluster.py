"""Where this process stands in a `tf.distribute` cluster: several workers, the chief,
and values the workers agree on.

Under `MultiWorkerMirroredStrategy` every worker runs the same program; the weights
stay equal because each step all-reduces the gradients. Anything a worker decides on
its own (stopping by wall time, where to write) must be decided the same way on all
of them, or one waits forever in a collective the others never join.
"""

import contextlib
import functools

import tensorflow as tf


def multi_worker(strategy=None):
    """Whether `strategy` (default: the current one) spans more than one worker."""
    strategy = strategy or tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return False
    spec = resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in spec.jobs if job in ("chief", "worker")) > 1


def is_chief(strategy=None):
    """Whether this process writes the run's files: always outside a cluster; in one, the
    `chief` task, or worker 0 where the cluster names no chief (the `TF_CONFIG` rule)."""
    strategy = strategy or tf.distribute.get_strategy()
    if not multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    return chief_task(resolver.task_type, resolver.task_id, resolver.cluster_spec().jobs)


def chief_task(task_type, task_id, jobs):
    """The `TF_CONFIG` rule: the task of job `chief`, or worker 0 where `jobs` (the
    cluster's job names) has no `chief`."""
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in jobs


def worker_name(strategy=None):
    """`"worker-1"`-style name of this process's task (`"chief"` outside a cluster)."""
    strategy = strategy or tf.distribute.get_strategy()
    if not multi_worker(strategy):
        return "chief"
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}-{resolver.task_id}"


@contextlib.contextmanager
def leaving_together(strategy=None):
    """Around the end of a run (the chief's evaluation and export, the other workers'
    clean-up): on leaving it, every worker waits for all the others in one collective, so
    that no worker exits while the chief still works alone. A task that exits first is
    reported by the chief's coordination service as crashed ("The following tasks are
    unhealthy", tensorflow#58434), in the middle of the chief's output. Nothing to wait
    for outside a multi-worker cluster."""
    try:
        yield
    finally:
        max_over_workers([0.0], strategy)


def clip_after_all_reduce(optimizer):
    """Makes `optimizer` clip the gradient summed over the replicas, as one device clips
    the whole batch's, instead of each replica's share of it; returns it.

    Keras 3.15 clips (`clipnorm`, `clipvalue`, `global_clipnorm`) in `apply` and sums
    the replicas' gradients after it, in the TensorFlow backend's update step. Under a
    strategy of several replicas (GPUs, workers) each share was clipped alone: a looser
    and differently pointed clip than one device's, whenever clipping takes effect. With
    one replica the sum is the gradient itself and nothing changes. The optimizer's
    config is left as it is (a reloaded model is patched again where it is trained)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's
    if not hasattr(inner, "_all_reduce_sum_gradients") or getattr(inner, "_clip_reduced", False):
        return optimizer
    clip, all_reduce = inner._clip_gradients, inner._all_reduce_sum_gradients

    def all_reduce_then_clip(grads_and_vars):
        reduced = list(all_reduce(grads_and_vars))
        clipped = clip([grad for grad, _ in reduced])
        return [(grad, var) for grad, (_, var) in zip(clipped, reduced, strict=True)]

    inner._clip_gradients = lambda grads: grads  # (`apply` calls it before the sum)
    inner._all_reduce_sum_gradients = all_reduce_then_clip
    inner._clip_reduced = True
    return optimizer


def max_over_workers(values, strategy=None):
    """The element-wise maximum of the numbers `values` over every worker (a collective
    all of them must call); `values` unchanged outside a multi-worker cluster."""
    strategy = strategy or tf.distribute.get_strategy()
    if not multi_worker(strategy):
        return list(values)
    gathered = _gather(strategy)(tf.constant([list(values)], tf.float32))
    everyone = strategy.experimental_local_results(gathered)[0]  # (replicas, len(values))
    return tf.reduce_max(everyone, axis=0).numpy().tolist()


@functools.cache
def _gather(strategy):
    """One traced all-gather per strategy (it runs collectives eagerly only with a warning,
    and a function traced anew at each call warns of retracing)."""

    @tf.function(reduce_retracing=True)
    def gather(local):
        # (`tf.identity` places the argument on the replica's device, which the gather needs)
        def replica():
            return tf.distribute.get_replica_context().all_gather(tf.identity(local), 0)

        return strategy.run(replica)

    return gather
