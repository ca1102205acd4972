"""The wall time of the training batches alone."""

import time

import keras


class TrainingTimer(keras.callbacks.Callback):
    """Wall time of the training batches alone: validation and epoch-end work excluded.

    Each epoch is timed from its start to the start of validation (or to its
    end without validation). Read `seconds` (the total) and `epoch_seconds`
    after `fit`; with the pipeline's token count they give a training-step
    throughput that does not depend on the size of the validation set.
    """

    def __init__(self):
        super().__init__()
        self.epoch_seconds = []
        self._started = None

    @property
    def seconds(self):
        return sum(self.epoch_seconds)

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def _stop(self):
        if self._started is not None:
            self.epoch_seconds.append(time.perf_counter() - self._started)
            self._started = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()
