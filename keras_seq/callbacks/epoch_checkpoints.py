"""The weights of the last epochs, kept for checkpoint averaging."""

import os

import keras

from keras_seq import files


class EpochCheckpoints(keras.callbacks.Callback):
    """Keeps the weights of the last `keep` epochs, for checkpoint averaging.

    Writes `directory/epoch-NNN.weights.h5` (NNN counts from 1) at the end of
    each epoch, atomically, and removes older ones; an interrupted run resumed
    with `BackupAndRestore` finds the files of its earlier epochs where it left
    them. `keras_seq.training.average_checkpoints` averages them.

    Args:
        directory: the folder of the files.
        keep: how many epochs to keep (at least 1).
    """

    PATTERN = "epoch-{:03d}.weights.h5"

    def __init__(self, directory, keep):
        super().__init__()
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`keep` must be a positive integer. Received: {keep!r}")
        self.directory = directory
        self.keep = keep

    @classmethod
    def epoch_of(cls, path):
        """The epoch (from 1) whose weights `path` holds."""
        return int(os.path.basename(path).split("-")[1].split(".")[0])

    @classmethod
    def paths(cls, directory):
        """The checkpoint files in `directory`, oldest first."""
        if not os.path.isdir(directory):
            return []
        names = sorted(
            n for n in os.listdir(directory) if n.startswith("epoch-") and ".tmp" not in n
        )
        return [os.path.join(directory, n) for n in names]

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, self.PATTERN.format(epoch + 1))
        with files.replacing(path) as temporary:
            self.model.save_weights(temporary)
        for old in self.paths(self.directory)[: -self.keep]:
            os.remove(old)
