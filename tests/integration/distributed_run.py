"""Child process of the distribution tests: trains a small model under a strategy.

    python distributed_run.py mirrored OUT.json    # 2 logical CPUs vs one device
    python distributed_run.py keras_fit OUT.npz    # Keras' fit on one worker of TF_CONFIG's
    python distributed_run.py tasks OUT.npz BACKUP_DIR  # Translator.fit (resumed from
        # BACKUP_DIR; KILL=worker-1 ends that worker in the second epoch), then Tagger.fit
        # and a forecaster's ks.training.fit, on a worker of TF_CONFIG's cluster or on its own

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
from keras_seq.cluster import is_chief, worker_name  # noqa: E402
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


def train(strategy, initial_weights=None, ema_momentum=0.0):
    """`(model, losses)`; with `ema_momentum`, the moving average of the weights is
    validated each epoch and kept at the end (`ks.callbacks.AveragedWeights`), and
    `losses` are the validation losses."""
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = ks.models.build_seq2seq(12, 12, embedding_dim=8, units=8, attention="bahdanau")
        if initial_weights is not None:
            model.set_weights(initial_weights)
        # A norm every step's gradient exceeds: clipping takes effect at each update, and
        # must clip the replicas' sum, as one device clips the whole batch's gradient.
        compile_seq2seq(model, learning_rate=1e-2, clipnorm=0.05, ema_momentum=ema_momentum)
    dataset = tf.data.Dataset.from_tensor_slices(data()).batch(16)  # global batches
    if not ema_momentum:
        return model, model.fit(dataset, epochs=3, verbose=0).history["loss"]
    history = model.fit(
        dataset, epochs=3, verbose=0, validation_data=dataset,
        callbacks=[ks.callbacks.AveragedWeights()],
    )  # fmt: skip
    return model, history.history["val_loss"]


class Kill(keras.callbacks.Callback):
    """Ends this process in the second epoch, as a killed worker ends, where the
    environment's KILL names this worker (`ks.cluster.worker_name`)."""

    def __init__(self, strategy):
        super().__init__()
        self.doomed = os.environ.get("KILL") == worker_name(strategy)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.doomed and (self.epoch, batch) == (1, 2):
            os._exit(3)


def translator(strategy, backup_dir):
    """A small translator trained with `Translator.fit` under `strategy`, as the recipes
    train: 3 epochs in an epoch-keyed order, validated, with a backup in `backup_dir`
    (resumed from it if there is one). Its weights and history."""
    pairs = ks.data.generate_pairs(96, seed=0)
    preprocessor = ks.tasks.Seq2SeqPreprocessor.from_pairs(pairs, vocab_size=200)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        task = ks.Translator.build(preprocessor, embedding_dim=8, units=8, dropout=0.0)
        task.compile(learning_rate=1e-2)
    shuffle = ks.data.EpochShuffle(seed=0)
    data, _ = preprocessor.make_dataset(pairs, 16, shuffle=shuffle)
    backup = ks.callbacks.BackupAndRestore(backup_dir)
    history = task.fit(
        data, validation_data=pairs[:32], epochs=3, verbose=0,
        callbacks=[shuffle, backup, Kill(strategy)],
    )  # fmt: skip
    return task.backbone.get_weights(), history.history


def tagger(strategy):
    """A small CRF tagger, trained with `Tagger.fit` under `strategy`."""
    rng = np.random.default_rng(0)
    sentences = []
    for _ in range(64):  # words a..i; a run of words after e is an entity
        ids = rng.integers(1, 10, rng.integers(2, 9))
        tags = ["O" if k <= 5 else "B-N" for k in ids]
        tags = ["I-N" if t != "O" and i and ids[i - 1] > 5 else t for i, t in enumerate(tags)]
        sentences.append(([chr(ord("a") + k - 1) for k in ids], tags))
    vocabularies = ks.data.TagVocabularies.build(sentences)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = ks.models.build_tagger(
            len(vocabularies.words), len(vocabularies.tags), embedding_dim=8, units=8, dropout=0.0,
            tags=vocabularies.tags, constraints="iob2",
        )  # fmt: skip
        model.compile(optimizer=keras.optimizers.Adam(0.05))
    data = ks.data.make_tagging_dataset(sentences, vocabularies, 16, with_chars=False)
    history = ks.Tagger(model, vocabularies).fit(data, validation_data=data, epochs=2, verbose=0)
    return model.get_weights(), history.history


def forecaster(strategy):
    """A small forecaster, trained with `ks.training.fit` on arrays under `strategy` as
    recipes/forecast.py trains it (Keras shuffles the windows every epoch)."""
    t = np.arange(160, dtype="float32")
    values = np.sin(t / 3) + 0.02 * t
    inputs, targets = ks.data.make_windows(values, np.zeros((160, 0)), range(12, 156), 12, 4)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = ks.models.build_forecaster(12, 4, embedding_dim=8, units=8, seed=0)
        model.compile(keras.optimizers.Adam(1e-2), ks.losses.QuantileLoss((0.1, 0.5, 0.9)))
        ks.training.build_optimizer(model)
    history = ks.training.fit(
        model, inputs, targets, batch_size=16, epochs=2, verbose=0,
        validation_data=(inputs, targets),
    )  # fmt: skip
    return model.get_weights(), history.history


if sys.argv[1] == "mirrored":
    mirrored = distribution_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
    keras.utils.set_random_seed(0)
    reference = ks.models.build_seq2seq(12, 12, embedding_dim=8, units=8, attention="bahdanau")
    _, replicated_losses = train(mirrored, reference.get_weights())
    _, single_losses = train(tf.distribute.get_strategy(), reference.get_weights())
    # The same with the moving average of the weights (Polyak averaging), as the
    # translator's `small` preset and the tagger train on real data.
    averaged = {}
    for name, strategy in (("mirrored", mirrored), ("single", tf.distribute.get_strategy())):
        model, losses = train(strategy, reference.get_weights(), ema_momentum=0.9)
        raw = model.optimizer._model_variables_moving_average  # swapped: the raw weights
        averaged[name] = {
            "val_losses": losses,
            "weights": [w.tolist() for w in model.get_weights()],
            "moved_from_raw": max(
                float(np.abs(a - b).max())
                for a, b in zip(model.trainable_variables, raw, strict=True)
            ),
        }
    with open(sys.argv[2], "w") as f:
        json.dump(
            {
                "replicas": mirrored.num_replicas_in_sync,
                "mirrored": replicated_losses,
                "single": single_losses,
                "averaged": averaged,
            },
            f,
        )
elif sys.argv[1] == "keras_fit":  # Keras' own fit, on each worker of TF_CONFIG's cluster
    model, losses = train(distribution_strategy("auto"))
    np.savez(sys.argv[2], *model.get_weights(), losses=np.array(losses))
else:  # tasks OUT.npz BACKUP_DIR: on each worker of TF_CONFIG's cluster, or on its own
    strategy = distribution_strategy("auto")
    trained = {
        "translator": translator(strategy, sys.argv[3]),
        "tagger": tagger(strategy),
        "forecaster": forecaster(strategy),
    }
    arrays = {f"{name}/{i}": w for name, (ws, _) in trained.items() for i, w in enumerate(ws)}
    histories = {name: history for name, (_, history) in trained.items()}
    np.savez(sys.argv[2], **arrays, histories=json.dumps(histories), chief=is_chief(strategy))
