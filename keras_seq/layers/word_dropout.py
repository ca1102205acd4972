"""Dropout of whole tokens: a position's embedding vector is zeroed at once."""

import keras
from keras import ops

from keras_seq.checks import check_rate


@keras.saving.register_keras_serializable(package="keras_seq")
class WordDropout(keras.layers.Layer):
    """Zeroes each token's whole embedding vector with probability `rate` in training.

    Element-wise dropout on an embedding leaves every word partly visible; dropping
    whole words (Gal & Ghahramani, 2016) makes the model predict from the words
    around a missing one, which regularises small corpora (one of Sennrich & Zhang's
    2019 best practices for low-resource NMT). The kept vectors are scaled by
    `1 / (1 - rate)`, as `keras.layers.Dropout` does, so nothing changes at
    inference. It slows learning: on Debian's Ding corpus, 0.2 on top of dropout 0.5
    lost 1.5 test BLEU in a 20-epoch budget (see the README).

    Args:
        rate: float in [0, 1), the probability of dropping a token.
        seed: optional int seed of the draws.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: float tensor `(..., features)`: one vector per token, for a
            sequence `(batch_size, length, features)` or one step `(batch_size,
            features)`.
        training: Python bool; outside training the inputs pass unchanged.

    Example:
    >>> layer = WordDropout(0.5, seed=1)
    >>> x = layer(ops.ones((1, 6, 3)), training=True)
    >>> sorted({tuple(row) for row in ops.convert_to_numpy(x)[0].tolist()})
    [(0.0, 0.0, 0.0), (2.0, 2.0, 2.0)]
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_rate("rate", rate)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="word_dropout_seed")
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        noise_shape = (*ops.shape(inputs)[:-1], 1)
        return keras.random.dropout(
            inputs, self.rate, noise_shape=noise_shape, seed=self.seed_generator
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def make_word_dropout(rate, dtype):
    """A `WordDropout` layer, or None at rate 0 (no layer, no variable: models saved
    before the option existed load unchanged)."""
    check_rate("word_dropout", rate)
    return WordDropout(rate, dtype=dtype, name="word_dropout") if rate else None
