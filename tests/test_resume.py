"""A run killed mid-epoch and resumed ends as the uninterrupted run does."""

import functools

import keras
import numpy as np
import pytest

import keras_seq as ks
from keras_seq.callbacks import standard_callbacks
from keras_seq.data import EpochShuffle, SubwordTokenizer, generate_pairs, make_dataset
from keras_seq.training import compile_seq2seq

PAIRS = generate_pairs(240, seed=1)


@pytest.fixture(scope="module")
def tokenizers():
    return tuple(SubwordTokenizer.train([p[i] for p in PAIRS], 120) for i in (0, 1))


class Kill(keras.callbacks.Callback):
    """Stops the process's training in the middle of an epoch, as a kill would."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt("killed")


def fit(run_dir, tokenizers, callbacks, epochs=4, *extra, ema_momentum=0.0):
    """A fresh process's model and data (same seed), trained with `callbacks(model)`."""
    keras.utils.set_random_seed(7)
    shuffle = EpochShuffle(seed=7)
    train, _ = make_dataset(PAIRS[:200], *tokenizers, 16, 24, 24, shuffle=shuffle)
    valid, _ = make_dataset(PAIRS[200:], *tokenizers, 20, 24, 24, shuffle=False)
    model = ks.models.build_seq2seq(
        120, 120, embedding_dim=8, units=8, attention="bahdanau", dropout=0.3
    )
    compile_seq2seq(model, learning_rate=3e-3, ema_momentum=ema_momentum)
    model.fit(
        train,
        validation_data=valid,
        epochs=epochs,
        verbose=0,
        callbacks=[*callbacks(model), shuffle, *extra],
    )
    return model


def assert_same_weights(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("ema_momentum", [0.0, 0.9])
def test_killed_and_resumed_run_ends_with_the_uninterrupted_weights(
    tmp_path, tokenizers, ema_momentum
):
    """Also with a moving average of the weights (`AveragedWeights`): a backup holds the
    average in the model and the raw weights in the optimizer's slots."""

    def callbacks(run):
        def make(model):
            made = standard_callbacks(
                str(tmp_path / run),
                tensorboard=False,
                sampling_schedule=ks.schedules.InverseSigmoid(k=20),
                average_weights=ema_momentum > 0,
            )
            stops[run] = next(c for c in made if isinstance(c, keras.callbacks.EarlyStopping))
            return made

        return make

    stops = {}
    train = functools.partial(fit, tmp_path, tokenizers, ema_momentum=ema_momentum)
    uninterrupted = train(callbacks("straight"))
    with pytest.raises(KeyboardInterrupt):
        train(callbacks("killed"), 4, Kill(epoch=2, batch=3))
    resumed = train(callbacks("killed"))
    assert_same_weights(uninterrupted, resumed)
    straight, killed = stops["straight"], stops["killed"]
    assert (killed.best, killed.best_epoch, killed.wait) == (
        straight.best,
        straight.best_epoch,
        straight.wait,
    )


@pytest.mark.slow
def test_resume_keeps_the_early_stopping_progress(tmp_path, tokenizers):
    """The best epoch came before the kill: the resumed run still restores it."""

    def callbacks(run):
        def make(model):
            # The largest validation loss is the first epoch's: the "best" to keep.
            early = keras.callbacks.EarlyStopping(
                monitor="val_loss", mode="max", patience=10, restore_best_weights=True
            )
            backup = ks.callbacks.BackupAndRestore(str(tmp_path / run), watch=[early])
            return [early, backup]

        return make

    uninterrupted = fit(tmp_path, tokenizers, callbacks("straight"), 3)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, tokenizers, callbacks("killed"), 3, Kill(epoch=1, batch=2))
    assert_same_weights(uninterrupted, fit(tmp_path, tokenizers, callbacks("killed"), 3))


def test_backup_refuses_what_it_cannot_resume_exactly(tmp_path):
    with pytest.raises(ValueError, match="save_freq=5"):
        ks.callbacks.BackupAndRestore(str(tmp_path), save_freq=5)
    with pytest.raises(ValueError, match="TerminateOnNaN"):
        ks.callbacks.BackupAndRestore(str(tmp_path), watch=[keras.callbacks.TerminateOnNaN()])
