"""Child process of the distribution tests: trains a small model under a strategy.

    python distributed_run.py mirrored OUT.json    # 2 logical CPUs vs one device
    python distributed_run.py worker OUT.npz       # one worker of TF_CONFIG's cluster

Kept apart from the test process: logical devices and TF_CONFIG must be set
before TensorFlow starts.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

if sys.argv[1] == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_seq as ks  # noqa: E402
from keras_seq.training import compile_seq2seq, distribution_strategy  # noqa: E402


def data(n=64):
    """Reversal pairs of varied lengths: the replicas' halves hold different token counts."""
    rng = np.random.default_rng(0)
    source = np.zeros((n, 7), "int32")
    target = np.zeros((n, 8), "int32")
    labels = np.zeros((n, 8), "int32")
    for i in range(n):
        length = 1 + (i * 5) % 7
        tokens = rng.integers(4, 12, size=length)
        source[i, :length] = tokens
        target[i, : length + 1] = [1, *tokens[::-1]]
        labels[i, : length + 1] = [*tokens[::-1], 2]
    return {"source_ids": source, "target_ids": target}, labels


def train(strategy, initial_weights=None):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = ks.models.build_seq2seq(12, 12, embedding_dim=8, units=8, attention="bahdanau")
        if initial_weights is not None:
            model.set_weights(initial_weights)
        compile_seq2seq(model, learning_rate=1e-2, clipnorm=1.0)
    dataset = tf.data.Dataset.from_tensor_slices(data()).batch(16)  # global batches
    history = model.fit(dataset, epochs=3, verbose=0)
    return model, history.history["loss"]


if sys.argv[1] == "mirrored":
    mirrored = distribution_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    keras.utils.set_random_seed(0)
    reference = ks.models.build_seq2seq(12, 12, embedding_dim=8, units=8, attention="bahdanau")
    _, replicated_losses = train(mirrored, reference.get_weights())
    _, single_losses = train(tf.distribute.get_strategy(), reference.get_weights())
    with open(sys.argv[2], "w") as f:
        json.dump(
            {
                "replicas": mirrored.num_replicas_in_sync,
                "mirrored": replicated_losses,
                "single": single_losses,
            },
            f,
        )
else:
    strategy = distribution_strategy("auto")
    model, losses = train(strategy)
    np.savez(sys.argv[2], *model.get_weights(), losses=np.array(losses))
