"""Scheduled sampling in `fit`: the callback that drives every decoder's probability."""

import keras

from keras_seq import schedules
from keras_seq.layers import AttentionDecoder


def attention_decoders(model):
    """Every `AttentionDecoder` inside `model` (nested models and layers included)."""
    return [layer for layer in model._flatten_layers() if isinstance(layer, AttentionDecoder)]


class ScheduledSampling(keras.callbacks.Callback):
    """Drives every decoder's `sampling_probability` by a schedule during `fit`.

    Before each training batch (`per="step"`, counted by the optimizer's
    `iterations`) or each epoch (`per="epoch"`), every `AttentionDecoder` of the
    model gets `schedule(i)`. The probability is a variable, so the train step
    is traced once whatever its value. The value in force is added to each
    epoch's logs as `sampling_probability` (so `CSVLogger` and `TensorBoard`
    record it: put this callback before them). A run resumed by
    `BackupAndRestore` continues at the right value: the optimizer's step count
    and the epoch are restored with it.

    Args:
        schedule: a `keras_seq.schedules` object, its config, or a number
            (a constant probability).

    Raises:
        ValueError: at the start of training, if the model has no `AttentionDecoder`.

    Example:
    >>> model.fit(data, epochs=10, callbacks=[
    ...     ks.callbacks.ScheduledSampling(ks.schedules.InverseSigmoid(k=500))])
    """

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedules.get(schedule)
        self.decoders = []
        self.value = None

    def on_train_begin(self, logs=None):
        self.decoders = attention_decoders(self.model)
        self.value = None  # a new fit (or model): assign whatever the value
        if not self.decoders:
            raise ValueError(
                "ScheduledSampling needs a model with an AttentionDecoder layer. "
                f"Received a model whose layers are {[layer.name for layer in self.model.layers]}."
            )
        if self.schedule.per == "step":
            self._apply(int(self.model.optimizer.iterations.numpy()))

    def on_epoch_begin(self, epoch, logs=None):
        if self.schedule.per == "epoch":
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.schedule.per == "step":
            self._apply(int(self.model.optimizer.iterations.numpy()))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.value is not None:
            logs["sampling_probability"] = self.value

    def _apply(self, i):
        value = float(self.schedule(i))
        if value != self.value:
            for decoder in self.decoders:
                decoder.sampling_probability.assign(value)
            self.value = value


class SamplingProbabilityLogger(keras.callbacks.Callback):
    """Adds the first decoder's `sampling_probability` to each epoch's logs.

    For runs without a schedule (the probability as set by hand); put it before
    `CSVLogger` and `TensorBoard`.
    """

    def on_epoch_end(self, epoch, logs=None):
        decoders = attention_decoders(self.model)
        if logs is not None and decoders:
            logs["sampling_probability"] = float(decoders[0].sampling_probability.numpy())
