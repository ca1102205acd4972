"""Keras' BackupAndRestore, with what an exact resume also needs."""

import json
import os
import warnings

import keras
import numpy as np

from keras_seq import files

# What each kind of watched callback carries from one epoch to the next.
_PROGRESS = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "best_weights"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, with what an exact resume also needs.

    Keras backs up the weights, the optimizer and the epoch. A resumed run then
    draws other dropout masks (the layers' random-seed states are not in the
    weights file) and forgets how far early stopping and the best checkpoint
    had got: it would stop late and keep a worse "best". This callback also
    backs up, at the end of each epoch, the model's random-seed states and the
    progress of the `watch`ed callbacks (`EarlyStopping`: patience used, best
    value, best epoch and weights; `ModelCheckpoint`: best value), and restores
    them. With an epoch-keyed data order (`keras_seq.data.EpochShuffle`), a run
    killed at any point and resumed ends with the weights of an uninterrupted
    run.

    Put it after the callbacks it watches, so that it saves their state after
    they have seen the epoch.

    Args:
        backup_dir: the folder of the backup (removed when training ends).
        watch: `EarlyStopping` and `ModelCheckpoint` callbacks of the same `fit`.
        save_freq: `"epoch"` only: Keras restarts a resumed epoch from its first
            batch, so a backup taken within an epoch cannot resume exactly.
        **kwargs: Keras' `double_checkpoint` and `delete_checkpoint`.

    Raises:
        ValueError: for another `save_freq` or a callback it cannot watch.
    """

    def __init__(self, backup_dir, watch=(), save_freq="epoch", **kwargs):
        if save_freq != "epoch":
            raise ValueError(
                "keras_seq's `BackupAndRestore` backs up at the end of each epoch only "
                f"(Keras restarts a resumed epoch from its first batch). Received: "
                f"save_freq={save_freq!r}"
            )
        super().__init__(backup_dir, save_freq=save_freq, **kwargs)
        for callback in watch:
            if not isinstance(callback, tuple(_PROGRESS)):
                raise ValueError(
                    "`watch` takes EarlyStopping and ModelCheckpoint callbacks. "
                    f"Received: {callback!r}"
                )
        self.watch = list(watch)
        self._state_path = os.path.join(backup_dir, "progress.npz")
        self._pending = None

    def _random_state(self):
        weights = {id(v) for v in self.model.weights}
        return [v for v in self.model.variables if id(v) not in weights]

    def _save_model(self):
        super()._save_model()
        arrays = {f"random/{i}": v.numpy() for i, v in enumerate(self._random_state())}
        scalars = {}
        for i, callback in enumerate(self.watch):
            for name in _PROGRESS[type(callback)]:
                value = getattr(callback, name, None)
                if name == "best_weights":
                    for j, w in enumerate(value or []):
                        arrays[f"watch/{i}/best_weights/{j}"] = np.asarray(w)
                    scalars[f"{i}/{name}"] = None if value is None else len(value)
                else:
                    scalars[f"{i}/{name}"] = None if value is None else float(value)
        arrays["progress"] = np.array(json.dumps({"epoch": self._current_epoch, **scalars}))
        with files.replacing(self._state_path) as staging:
            np.savez(staging, **arrays)

    def _load_model(self):
        super()._load_model()
        if not os.path.exists(self._state_path):
            return
        with np.load(self._state_path) as state:
            arrays = dict(state)
        progress = json.loads(str(arrays.pop("progress")))
        if progress.pop("epoch") != self.model._initial_epoch:
            warnings.warn(
                f"{self._state_path} is from another epoch than the backed-up weights "
                "(the run stopped while backing up): resuming without the random state "
                "and the early-stopping progress.",
                stacklevel=2,
            )
            return
        for i, variable in enumerate(self._random_state()):
            variable.assign(arrays[f"random/{i}"])
        self._pending = (progress, arrays)

    def on_epoch_begin(self, epoch, logs=None):
        # After every callback's `on_train_begin`, which resets their progress.
        if self._pending is None:
            return
        progress, arrays = self._pending
        self._pending = None
        for i, callback in enumerate(self.watch):
            for name in _PROGRESS[type(callback)]:
                value = progress[f"{i}/{name}"]
                if name == "best_weights" and value is not None:
                    value = [arrays[f"watch/{i}/best_weights/{j}"] for j in range(value)]
                elif name in ("wait", "best_epoch") and value is not None:
                    value = int(value)
                setattr(callback, name, value)
