"""Token-level metrics over real (non-pad) target tokens."""

import keras
from keras import ops

from keras_seq.losses import real_token_weights, token_log_probs
from keras_seq.utils import best_token


class _MaskedMean(keras.metrics.Metric):
    """A running mean of a per-token value over real target tokens."""

    def __init__(self, pad_id=0, name=None, dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.pad_id = pad_id
        self.total = self.add_variable((), initializer="zeros", dtype="float32", name="total")
        self.count = self.add_variable((), initializer="zeros", dtype="float32", name="count")

    def token_values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        weights = real_token_weights(y_true, self.pad_id, sample_weight)
        values = self.token_values(ops.cast(y_true, "int32"), y_pred)
        self.total.assign_add(ops.sum(values * weights))
        self.count.assign_add(ops.sum(weights))

    def mean(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


@keras.saving.register_keras_serializable(package="keras_seq")
class MaskedAccuracy(_MaskedMean):
    """Fraction of real target tokens whose highest logit is the label."""

    def __init__(self, pad_id=0, name="token_accuracy", dtype="float32"):
        super().__init__(pad_id=pad_id, name=name, dtype=dtype)

    def token_values(self, y_true, y_pred):
        return ops.cast(ops.equal(best_token(y_pred), y_true), "float32")

    def result(self):
        return self.mean()


@keras.saving.register_keras_serializable(package="keras_seq")
class Perplexity(_MaskedMean):
    """Teacher-forced perplexity: `exp` of the mean token cross-entropy over real tokens."""

    def __init__(self, pad_id=0, from_logits=True, name="perplexity", dtype="float32"):
        super().__init__(pad_id=pad_id, name=name, dtype=dtype)
        self.from_logits = from_logits

    def token_values(self, y_true, y_pred):
        log_probs = token_log_probs(y_pred, self.from_logits)
        return -ops.squeeze(ops.take_along_axis(log_probs, y_true[..., None], axis=-1), -1)

    def result(self):
        return ops.exp(self.mean())

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}
