"""Keras' optimizers with a bias-corrected moving average of the weights.

Keras' `use_ema` starts the average from the first step's weights and then decays
them by `ema_momentum` a step: after `t` steps they still make `ema_momentum ** t`
of it (at 0.999, 64 % after 452 steps, a CoNLL-2003 epoch), so a run's first
epochs validate, and would keep, mostly its initial weights. These subclasses
average as if from zero and divide by the weight collected (`1 - m ** (t + 1)`),
as Adam corrects its moments: the average is the trajectory's own from the first
step, and the same as Keras' once `m ** t` is negligible. Without `use_ema` they
are Keras' optimizers. `build_optimizer` creates a compiled model's optimizer state
before `fit` traces its step.
"""

import keras
from keras import ops

from keras_seq.cluster import clip_after_all_reduce

__all__ = ["Adam", "Nadam", "build_optimizer", "moving_average"]


def moving_average(ema_momentum):
    """An optimizer's `use_ema` and `ema_momentum` arguments for a moving average of the
    weights with momentum `ema_momentum` in [0, 1) (0: none)."""
    if not isinstance(ema_momentum, (int, float)) or not 0 <= ema_momentum < 1:
        raise ValueError(
            f"`ema_momentum` must be in [0, 1) (0: no moving average). "
            f"Received: ema_momentum={ema_momentum!r}"
        )
    return {"use_ema": ema_momentum > 0, "ema_momentum": ema_momentum or 0.99}


class _BiasCorrectedAverage:
    """Overrides `BaseOptimizer._update_model_variables_moving_average` (Keras 3.15)."""

    def _update_model_variables_moving_average(self, trainable_variables):
        if not self.use_ema:
            return
        # The corrected average c_t = a_t / (1 - m^(t+1)) of a_t = m a_(t-1) + (1 - m) w_t
        # (a_(-1) = 0) is itself a moving average, with the momentum below: 0 at the
        # first step (c_0 = w_0), about t / (t + 1) early on, `ema_momentum` in the end.
        m = self.ema_momentum
        collected = ops.power(
            ops.convert_to_tensor(m, "float32"), ops.cast(self.iterations, "float32")
        )
        momentum = m * (1.0 - collected) / (1.0 - m * collected)
        for variable, average in zip(
            trainable_variables, self._model_variables_moving_average, strict=True
        ):
            if average is not None:
                rate = ops.cast(momentum, variable.dtype)
                average.assign(rate * average + (1.0 - rate) * variable)


@keras.saving.register_keras_serializable(package="keras_seq")
class Adam(_BiasCorrectedAverage, keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose moving average of the weights (`use_ema`) is
    bias-corrected (see the module)."""


@keras.saving.register_keras_serializable(package="keras_seq")
class Nadam(_BiasCorrectedAverage, keras.optimizers.Nadam):
    """`keras.optimizers.Nadam` whose moving average of the weights (`use_ema`) is
    bias-corrected (see the module)."""


def build_optimizer(model):
    """Creates the compiled `model`'s optimizer state (Adam's moments) now, not in `fit`.

    Keras builds the optimizer inside the first trace of the train step when no
    strategy scope is set; a `tf.function` that creates variables is traced twice,
    so every `fit` paid for two traces of the step (a third of a small model's `fit`).
    The optimizer clips the gradient summed over the replicas (`clip_after_all_reduce`).
    """
    if model.optimizer is not None:
        clip_after_all_reduce(model.optimizer)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
