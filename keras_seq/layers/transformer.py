"""A Transformer encoder and decoder from keras-hub layers, with keras_seq's decoder contract.

`TransformerEncoderStack` returns what `RNNEncoder` returns and
`TransformerDecoderStack` has `AttentionDecoder`'s `initial_state` / `step` /
`step_feature` / `output_dense`, with the self-attention keys and values of the
tokens decoded so far carried in the state (a cache per layer, batch-major): the
same strategy objects decode it, beam search tiles and reorders the cache like
any other state, and the same export path converts it.
"""

import keras
from keras import ops

from keras_seq._optional import optional_import
from keras_seq.checks import check_positive_int, check_rate
from keras_seq.special_ids import PAD_ID


def _keras_hub():
    return optional_import("keras_hub", "keras-hub", "The Transformer baseline")


def _check_sizes(hidden_dim, num_layers, num_heads, intermediate_dim, dropout, max_length):
    for name, value in (
        ("hidden_dim", hidden_dim),
        ("num_layers", num_layers),
        ("num_heads", num_heads),
        ("intermediate_dim", intermediate_dim),
        ("max_length", max_length),
    ):
        check_positive_int(name, value)
    check_rate("dropout", dropout)
    if hidden_dim % num_heads:
        raise ValueError(
            f"`hidden_dim` must be a multiple of `num_heads`. Received: hidden_dim={hidden_dim}, "
            f"num_heads={num_heads}"
        )


class _TransformerStack(keras.layers.Layer):
    """Token and position embeddings and the sizes both stacks share."""

    def __init__(
        self,
        vocab_size,
        hidden_dim=256,
        num_layers=3,
        num_heads=4,
        intermediate_dim=1024,
        dropout=0.1,
        max_length=256,
        normalize_first=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("vocab_size", vocab_size)
        _check_sizes(hidden_dim, num_layers, num_heads, intermediate_dim, dropout, max_length)
        self.vocab_size = vocab_size
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.max_length = max_length
        self.normalize_first = normalize_first
        self.embedding = _keras_hub().layers.TokenAndPositionEmbedding(
            vocab_size, max_length, hidden_dim, dtype=self.dtype_policy, name="embedding"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        # Pre-layer normalisation leaves the stack's output unnormalised: one more norm.
        self.final_norm = None
        if normalize_first:
            self.final_norm = keras.layers.LayerNormalization(
                epsilon=1e-5, dtype=self.dtype_policy, name="final_norm"
            )

    def _blocks(self, kind):
        """`num_layers` keras-hub `TransformerEncoder`s or `TransformerDecoder`s (`kind`)."""
        block = getattr(_keras_hub().layers, f"Transformer{kind.capitalize()}")
        return [
            block(
                self.intermediate_dim,
                self.num_heads,
                dropout=self.dropout,
                normalize_first=self.normalize_first,
                dtype=self.dtype_policy,
                name=f"transformer_{kind}_{i}",
            )
            for i in range(self.num_layers)
        ]

    def _normalized(self, x):
        return x if self.final_norm is None else self.final_norm(x)

    def _build_norm(self):
        if self.final_norm is not None:
            self.final_norm.build((None, None, self.hidden_dim))

    def _check_length(self, ids, what):
        length = ids.shape[1]
        if length is not None and length > self.max_length:
            raise ValueError(
                f"{what} of {length} tokens are longer than this Transformer's max_length="
                f"{self.max_length} positions. Cut them, or build it with a larger max_length."
            )

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "max_length": self.max_length,
            "normalize_first": self.normalize_first,
        }


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerEncoderStack(_TransformerStack):
    """Token and position embeddings and `num_layers` keras-hub `TransformerEncoder`s.

    Returns what `RNNEncoder` returns, so decoders and decoding use either:
    `(memory (batch_size, source_length, hidden_dim), mask (batch_size,
    source_length), [])` (no recurrent states). Positions equal to the padding
    id are masked.

    Args:
        vocab_size: positive int, source vocabulary size.
        hidden_dim: positive int, model width (a multiple of `num_heads`).
        num_layers, num_heads, intermediate_dim: positive ints.
        dropout: float in [0, 1).
        max_length: positive int, the most source positions.
        normalize_first: layer normalisation before each block (pre-LN; a final
            norm follows the stack) or after it (post-LN, the default, as in
            Vaswani et al. and keras-hub; it wants a learning-rate warmup).
        **kwargs: base layer keyword arguments.

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
    """

    def __init__(self, vocab_size, **kwargs):
        super().__init__(vocab_size, **kwargs)
        self.output_dim = self.hidden_dim
        self.encoder_layers = self._blocks("encoder")

    def build(self, source_ids_shape):
        self.embedding.build(source_ids_shape)
        for layer in self.encoder_layers:
            layer.build((None, None, self.hidden_dim))
        self._build_norm()
        self.built = True

    def call(self, source_ids, training=False):
        self._check_length(source_ids, "Sources")
        mask = ops.not_equal(source_ids, PAD_ID)
        x = self.dropout_layer(self.embedding(source_ids), training=training)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=mask, training=training)
        return self._normalized(x), mask, []

    def compute_output_spec(self, source_ids, training=False):
        shape = tuple(source_ids.shape)
        return (
            keras.KerasTensor(shape + (self.hidden_dim,), dtype=self.compute_dtype),
            keras.KerasTensor(shape, dtype="bool"),
            [],
        )


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerDecoderStack(_TransformerStack):
    """Token and position embeddings, `num_layers` keras-hub `TransformerDecoder`s, logits.

    The decoder contract of `AttentionDecoder`: `call` (teacher forcing, causal),
    `initial_state`, `step`, `step_feature` and `output_dense`. The state holds,
    per layer, the self-attention keys and values of the positions decoded so far
    (`(batch_size, 2, max_length, num_heads, head_dim)`, filled in place) and the
    cross-attention keys and values of the memory (computed once), plus the
    position of the next step (`(batch_size,)`, equal in every row). keras-hub's
    decoder layer does not return its attention scores, so this decoder records
    no attention map (`records_attention` is False).

    Args: those of `TransformerEncoderStack`, with the target `vocab_size` and
        `max_length` the most target positions.

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
    """

    records_attention = False
    num_attention_heads = 0

    def __init__(self, vocab_size, **kwargs):
        super().__init__(vocab_size, **kwargs)
        self.feature_dim = self.hidden_dim
        self.decoder_layers = self._blocks("decoder")
        self.output_dense = keras.layers.Dense(
            vocab_size, dtype=self.dtype_policy, name="output_dense"
        )

    def build(self, target_ids_shape, memory_shape, encoder_state_shape=None):
        self.embedding.build(target_ids_shape)
        for layer in self.decoder_layers:
            layer.build((None, None, self.hidden_dim), memory_shape)
        self._build_norm()
        self.output_dense.build((None, self.hidden_dim))
        self.built = True

    # ------------------------------------------------------------- teacher forcing
    def call(self, target_ids, memory, memory_mask=None, encoder_state=None, training=False):
        self._check_length(target_ids, "Targets")
        x = self.dropout_layer(self.embedding(target_ids), training=training)
        for layer in self.decoder_layers:
            x = layer(x, memory, encoder_padding_mask=memory_mask, training=training)
        return self.output_dense(self._normalized(x))

    def compute_output_spec(
        self, target_ids, memory, memory_mask=None, encoder_state=None, training=False
    ):
        return keras.KerasTensor(
            tuple(target_ids.shape) + (self.vocab_size,), dtype=self.compute_dtype
        )

    # ------------------------------------------------------------------ stepping
    def _cache(self, batch_size, length):
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, 2, length, self.num_heads, head_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)

    def initial_state(self, memory, memory_mask=None, encoder_state=None):
        """The state before the first step: empty self-attention caches, the
        memory's cross-attention keys and values, position 0.

        `encoder_state` is accepted for the common contract and ignored.
        """
        memory = ops.cast(memory, self.compute_dtype)
        batch_size, source_length = ops.shape(memory)[0], ops.shape(memory)[1]
        if memory_mask is None:
            memory_mask = ops.ones((batch_size, source_length), dtype="bool")
        memory_mask = ops.cast(memory_mask, "bool")
        probe = ops.zeros((batch_size, 1, self.hidden_dim), dtype=self.compute_dtype)
        cross = []
        for layer in self.decoder_layers:
            # Index 0 of an empty cross cache: the layer projects the whole memory once.
            _, _, cross_cache = layer(
                probe,
                memory,
                encoder_padding_mask=memory_mask,
                self_attention_cache=self._cache(batch_size, 2),  # 1: Keras warns of its softmax
                self_attention_cache_update_index=0,
                cross_attention_cache=self._cache(batch_size, source_length),
                cross_attention_cache_update_index=0,
            )
            cross.append(cross_cache)
        return {
            "memory": memory,
            "memory_mask": memory_mask,
            "self_cache": [self._cache(batch_size, self.max_length)] * self.num_layers,
            "cross_cache": cross,
            "position": ops.zeros((batch_size,), dtype="int32"),
        }

    def step_feature(self, token_ids, state, training=False):
        """One step up to the output projection: `(feature (batch_size, hidden_dim), state)`."""
        position = state["position"][0]
        x = self.embedding(ops.expand_dims(token_ids, 1), start_index=position)
        x = self.dropout_layer(x, training=training)
        caches = []
        for layer, self_cache, cross_cache in zip(
            self.decoder_layers, state["self_cache"], state["cross_cache"], strict=True
        ):
            x, self_cache, _ = layer(
                x,
                state["memory"],
                encoder_padding_mask=state["memory_mask"],
                self_attention_cache=self_cache,
                self_attention_cache_update_index=position,
                cross_attention_cache=cross_cache,
                cross_attention_cache_update_index=None,
                training=training,
            )
            caches.append(self_cache)
        new_state = dict(state, self_cache=caches, position=state["position"] + 1)
        return self._normalized(x[:, 0]), new_state

    def step(self, token_ids, state, training=False):
        """One decoding step: `(logits (batch_size, vocab_size), new state)`."""
        feature, state = self.step_feature(token_ids, state, training)
        return self.output_dense(feature), state
