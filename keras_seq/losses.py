"""Sequence losses that count real target tokens only."""

import keras
from keras import ops

from keras_seq.layers.forecast_decoder import check_quantiles


def token_log_probs(logits_or_probs, from_logits=True):
    """float32 log-probabilities over the last axis."""
    values = ops.cast(logits_or_probs, "float32")
    if from_logits:
        return ops.log_softmax(values, axis=-1)
    return ops.log(ops.clip(values, 1e-7, 1.0))


def smoothed_crossentropy(labels, logits, label_smoothing):
    """Per-token cross-entropy against `(1 - e) * one_hot(labels) + e / vocab_size`.

    The same value as mixing the log-softmax's label term with its mean, with the
    gradient written out: `softmax - smoothed_target`, from the exponentials the
    forward pass keeps. Autodiff through the composed form keeps the float32
    `(..., vocab_size)` log-softmax and spends several more passes over it in the
    backward pass; on the `small` translator's logits (64 x 20 x 10,000) this takes
    about half the time.

    Args:
        labels: int `(...)`.
        logits: float32 `(..., vocab_size)`.
        label_smoothing: float in [0, 1).

    Returns:
        float32 `(...)`.
    """
    vocab_size = ops.shape(logits)[-1]
    smoothing = float(label_smoothing)

    @ops.custom_gradient
    def crossentropy(values):
        top = ops.stop_gradient(ops.max(values, axis=-1, keepdims=True))
        exps = ops.exp(values - top)
        total = ops.sum(exps, axis=-1, keepdims=True)
        label_values = ops.take_along_axis(values, labels[..., None], axis=-1)
        target = (1.0 - smoothing) * label_values + smoothing * ops.mean(
            values, axis=-1, keepdims=True
        )
        loss = ops.squeeze(top + ops.log(total) - target, -1)

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            upstream = upstream[..., None]
            one_hot = ops.one_hot(labels, vocab_size, dtype=values.dtype)
            scale = upstream / total
            return exps * scale - upstream * (
                (1.0 - smoothing) * one_hot + smoothing / ops.cast(vocab_size, values.dtype)
            )

        return loss, grad

    return crossentropy(logits)


def real_token_weights(labels, pad_id, sample_weight=None):
    """float32 `(batch_size, length)`: 1 on real labels, 0 on padding, times `sample_weight`."""
    weights = ops.cast(ops.not_equal(labels, pad_id), "float32")
    if sample_weight is not None:
        sample_weight = ops.cast(sample_weight, "float32")
        while len(sample_weight.shape) < len(weights.shape):
            sample_weight = ops.expand_dims(sample_weight, -1)
        weights = weights * sample_weight
    return weights


def _replica_context():
    """The `tf.distribute` replica context of a replicated step, else None."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def global_count(count):
    """`count` (e.g. a replica's real tokens) summed over the replicas of a replicated
    step: a mean over the global batch divides each replica's sum by it, and the
    replicas' gradients, summed, are then the one-device gradient. As it is outside one.
    """
    replicas = _replica_context()
    return count if replicas is None else replicas.all_reduce("SUM", count)


def replica_share(loss):
    """A loss every replica adds whole (a weight penalty), divided among the replicas of a
    replicated step so that their summed gradients count it once. As it is outside one."""
    replicas = _replica_context()
    return loss if replicas is None else loss / replicas.num_replicas_in_sync


@keras.saving.register_keras_serializable(package="keras_seq")
class SequenceCrossentropy(keras.losses.Loss):
    """Token cross-entropy averaged over the real (non-pad) target tokens.

    Adding padding to a batch does not change the value: padded positions get
    weight 0 and the sum is divided by the number of real tokens (times any
    `sample_weight`), not by `batch_size * length`. Under a `tf.distribute`
    strategy the count is that of the global batch, so replicas that see more
    or fewer tokens train exactly as one device would. Computed in float32 under
    any dtype policy.

    Args:
        pad_id: int, the label id that marks padding. Defaults to 0.
        label_smoothing: float in [0, 1): mixes the one-hot target with a uniform
            distribution over the vocabulary.
        from_logits: bool, whether `y_pred` holds logits (default) or
            probabilities.
        name: loss name.

    Call arguments:
        y_true: int labels `(batch_size, length)`.
        y_pred: `(batch_size, length, vocab_size)`.
        sample_weight: optional `(batch_size,)` or `(batch_size, length)`.

    Returns:
        A float32 scalar.
    """

    def __init__(
        self,
        pad_id=0,
        label_smoothing=0.0,
        from_logits=True,
        name="sequence_crossentropy",
        reduction="mean_with_sample_weight",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype or "float32")
        if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing < 1:
            raise ValueError(
                "`label_smoothing` must be in [0, 1). "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        self.pad_id = pad_id
        self.label_smoothing = label_smoothing
        self.from_logits = from_logits

    def __call__(self, y_true, y_pred, sample_weight=None):
        weights = real_token_weights(y_true, self.pad_id, sample_weight)
        replicas = _replica_context()
        if replicas is None or self.reduction != "mean_with_sample_weight":
            return super().__call__(y_true, y_pred, sample_weight=weights)
        # Under tf.distribute each replica sees part of the global batch, with its own
        # count of real tokens, and the replicas' gradients are summed. Its sum over the
        # global batch's count gives exactly the one-device mean over all real tokens
        # (Keras' own reduction divides by the replica count instead, which equals it
        # only when every replica holds as many tokens).
        total = ops.sum(self.call(y_true, y_pred) * weights)
        return total / ops.maximum(global_count(ops.sum(weights)), 1e-9)

    def call(self, y_true, y_pred):
        labels = ops.cast(y_true, "int32")
        if self.from_logits and not self.label_smoothing:
            # The fused softmax cross-entropy: no float32 (batch, length, vocab) log-softmax
            # kept for the backward pass, whose gradient is softmax - one_hot in one op
            # (half the time of the composed form on the standard configuration's logits).
            return ops.sparse_categorical_crossentropy(
                labels, ops.cast(y_pred, "float32"), from_logits=True
            )
        if self.from_logits:
            return smoothed_crossentropy(labels, ops.cast(y_pred, "float32"), self.label_smoothing)
        log_probs = token_log_probs(y_pred, self.from_logits)
        nll = -ops.squeeze(ops.take_along_axis(log_probs, labels[..., None], axis=-1), -1)
        if not self.label_smoothing:
            return nll
        uniform = -ops.mean(log_probs, axis=-1)
        return (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform

    def get_config(self):
        return {
            **super().get_config(),  # name, reduction
            "dtype": self.dtype,
            "pad_id": self.pad_id,
            "label_smoothing": self.label_smoothing,
            "from_logits": self.from_logits,
        }


@keras.saving.register_keras_serializable(package="keras_seq")
class QuantileLoss(keras.losses.Loss):
    """Pinball (quantile) loss of forecasts, averaged over steps and quantiles.

    For quantile `q` and error `e = y - f`: `max(q * e, (q - 1) * e)`; at 0.5 it
    is half the absolute error, so a one-quantile `(0.5,)` loss trains for MAE.
    Steps whose truth is NaN (beyond a series' end) count for nothing.

    Args:
        quantiles: increasing numbers in (0, 1), the forecast's last axis.

    Call arguments:
        y_true: float `(batch_size, horizon)`.
        y_pred: float `(batch_size, horizon, len(quantiles))`.
    """

    def __init__(self, quantiles=(0.1, 0.5, 0.9), name="quantile_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = check_quantiles(quantiles)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        if y_pred.shape[-1] is not None and y_pred.shape[-1] != len(self.quantiles):
            raise ValueError(
                f"`y_pred` must end with one value per quantile ({len(self.quantiles)}). "
                f"Received shape {tuple(y_pred.shape)}."
            )
        y_true = ops.cast(y_true, "float32")[..., None]
        real = ops.logical_not(ops.isnan(y_true))
        error = ops.where(real, y_true, 0.0) - y_pred
        q = ops.convert_to_tensor(self.quantiles, "float32")
        loss = ops.where(real, ops.maximum(q * error, (q - 1.0) * error), 0.0)
        count = ops.maximum(ops.sum(ops.cast(real, "float32"), axis=(1, 2)), 1.0)
        return ops.sum(loss, axis=(1, 2)) / (count * len(self.quantiles))

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles)}
