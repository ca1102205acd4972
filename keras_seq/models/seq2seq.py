"""The functional encoder-decoder training model, its parts, and generation from it."""

import warnings
from typing import NamedTuple

import keras
from keras import ops

from keras_seq import decoding
from keras_seq.layers import AttentionDecoder, Bridge, RNNEncoder
from keras_seq.layers.transformer import TransformerDecoderStack, TransformerEncoderStack
from keras_seq.special_ids import END_ID, PAD_ID, START_ID

PART_TYPES = {"encoder": RNNEncoder, "bridge": Bridge, "decoder": AttentionDecoder}
# A `build_transformer` model: no bridge (its decoder starts from the memory alone).
TRANSFORMER_PART_TYPES = {"encoder": TransformerEncoderStack, "decoder": TransformerDecoderStack}
# Keywords of the `method=` calling convention, kept for one release.
DEPRECATED_KEYWORDS = {
    "beam": ("beam_size", "length_penalty"),
    "sample": ("temperature", "top_k", "seed"),
}


def build_seq2seq(
    source_vocab_size,
    target_vocab_size,
    embedding_dim=256,
    units=256,
    encoder_layers=1,
    decoder_layers=1,
    bidirectional=True,
    cell="lstm",
    attention="bahdanau",
    dropout=0.0,
    decoder_units=None,
    attention_units=None,
    num_heads=4,
    attend_before_cell=None,
    bridge="last",
    input_feeding=False,
    residual=False,
    layer_norm=False,
    sampling="argmax",
    scheduled_sampling="loop",
    seed=None,
    tie_embeddings=False,
    word_dropout=0.0,
    name="seq2seq",
):
    """Builds the attention encoder-decoder as a functional `keras.Model`.

    Inputs: `{"source_ids": int32 (batch, source_length), "target_ids": int32
    (batch, target_length)}` (target ids start with the start id); output: logits
    `(batch, target_length, target_vocab_size)`. The layers are named
    `"encoder"` (`RNNEncoder`), `"bridge"` (`Bridge`) and `"decoder"`
    (`AttentionDecoder`); `seq2seq_parts(model)` returns them.

    Args:
        source_vocab_size, target_vocab_size: positive ints.
        embedding_dim: positive int, both embeddings.
        units: units of each encoder direction.
        encoder_layers, decoder_layers: positive ints.
        bidirectional: bool, bidirectional encoder.
        cell: `"lstm"`, `"gru"` or `"rnn"`, encoder and decoder.
        attention: see `AttentionDecoder`.
        dropout: float in [0, 1).
        decoder_units: defaults to the encoder output width (`2 * units` if
            bidirectional), so the `"last"` bridge can copy the states.
        attention_units: additive attention width (default `decoder_units`), or
            the key size of each head of `"multihead"` attention.
        num_heads: heads of `"multihead"` attention.
        attend_before_cell: the decoder's attention style (see `AttentionDecoder`).
        bridge: `"zero"`, `"last"`, `"mean"` or `"dense"` (see `Bridge`).
        input_feeding: bool, Luong-style input feeding.
        residual, layer_norm: encoder options (see `RNNEncoder`).
        sampling: scheduled sampling choice, `"argmax"` or `"sample"`.
        scheduled_sampling: `"loop"` or `"parallel"` (see `AttentionDecoder`).
        seed: optional int seed of scheduled sampling.
        tie_embeddings: bool, the decoder's output projection shares its target
            embedding matrix (see `AttentionDecoder`).
        word_dropout: float in [0, 1), the probability of dropping a whole source
            or previous-target token's embedding in training (`WordDropout`).
        name: model name.

    Returns:
        An uncompiled functional `keras.Model`.
    """
    encoder = RNNEncoder(
        source_vocab_size,
        embedding_dim,
        units,
        num_layers=encoder_layers,
        cell=cell,
        bidirectional=bidirectional,
        dropout=dropout,
        residual=residual,
        layer_norm=layer_norm,
        word_dropout=word_dropout,
        name="encoder",
    )
    decoder_units = decoder_units or encoder.output_dim
    decoder = AttentionDecoder(
        target_vocab_size,
        embedding_dim,
        decoder_units,
        attention=attention,
        cell=cell,
        num_layers=decoder_layers,
        dropout=dropout,
        attention_units=attention_units,
        num_heads=num_heads,
        attend_before_cell=attend_before_cell,
        input_feeding=input_feeding,
        sampling=sampling,
        scheduled_sampling=scheduled_sampling,
        seed=seed,
        tie_embeddings=tie_embeddings,
        word_dropout=word_dropout,
        name="decoder",
    )
    bridge_layer = Bridge(
        bridge, units=decoder_units, num_layers=decoder_layers, cell=cell, name="bridge"
    )
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    target_ids = keras.Input((None,), dtype="int32", name="target_ids")
    memory, memory_mask, encoder_states = encoder(source_ids)
    decoder_state = bridge_layer(encoder_states, memory, memory_mask)
    logits = decoder(target_ids, memory, memory_mask=memory_mask, encoder_state=decoder_state)
    return keras.Model({"source_ids": source_ids, "target_ids": target_ids}, logits, name=name)


def build_transformer(
    source_vocab_size,
    target_vocab_size,
    hidden_dim=256,
    num_layers=3,
    num_heads=4,
    intermediate_dim=None,
    dropout=0.1,
    max_length=256,
    normalize_first=False,
    name="transformer",
):
    """A Transformer encoder-decoder with `build_seq2seq`'s training contract.

    Inputs `{"source_ids", "target_ids"}` (int32, right-padded; target ids start
    with the start id), output logits `(batch, target_length,
    target_vocab_size)`; layers `"encoder"` (`TransformerEncoderStack`) and
    `"decoder"` (`TransformerDecoderStack`), built from keras-hub's
    `TokenAndPositionEmbedding`, `TransformerEncoder` and `TransformerDecoder`.
    `generate`, the decoding strategies, `ks.Translator` and the export
    path take it as they take a recurrent model; it records no attention map.

    Args:
        source_vocab_size, target_vocab_size: positive ints.
        hidden_dim: model width, a multiple of `num_heads`.
        num_layers: encoder layers and decoder layers (each).
        num_heads: attention heads.
        intermediate_dim: feed-forward width; defaults to `4 * hidden_dim`.
        dropout: float in [0, 1).
        max_length: the most source and the most target positions.
        normalize_first: pre-layer normalisation (True) or post (False, the
            original and keras-hub's default; train it with a warmup).
        name: model name.

    Returns:
        An uncompiled functional `keras.Model`.

    Reference:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
    """
    sizes = {
        "hidden_dim": hidden_dim,
        "num_layers": num_layers,
        "num_heads": num_heads,
        "intermediate_dim": intermediate_dim or 4 * hidden_dim,
        "dropout": dropout,
        "max_length": max_length,
        "normalize_first": normalize_first,
    }
    encoder = TransformerEncoderStack(source_vocab_size, name="encoder", **sizes)
    decoder = TransformerDecoderStack(target_vocab_size, name="decoder", **sizes)
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    target_ids = keras.Input((None,), dtype="int32", name="target_ids")
    memory, memory_mask, _ = encoder(source_ids)
    logits = decoder(target_ids, memory, memory_mask=memory_mask)
    return keras.Model({"source_ids": source_ids, "target_ids": target_ids}, logits, name=name)


class Seq2SeqParts(NamedTuple):
    """The parts of a `build_seq2seq` (or `build_transformer`) model that decoding
    and export use; `bridge` is None for a Transformer."""

    encoder: RNNEncoder
    bridge: Bridge
    decoder: AttentionDecoder


def seq2seq_parts(model):
    """The `(encoder, bridge, decoder)` layers of a `build_seq2seq` model.

    Args:
        model: a model from `build_seq2seq` or `build_transformer` (or loaded from
            its `.keras` file).

    Returns:
        A `Seq2SeqParts` named tuple (`bridge` None for a Transformer).

    Raises:
        ValueError: if `model` lacks one of the layers `"encoder"` (`RNNEncoder`),
            `"bridge"` (`Bridge`), `"decoder"` (`AttentionDecoder`), naming what it has.
    """
    layers = {layer.name: layer for layer in getattr(model, "layers", [])}
    if isinstance(layers.get("encoder"), TransformerEncoderStack):
        part_types = TRANSFORMER_PART_TYPES
    else:
        part_types = PART_TYPES
    wrong = [
        f"{name!r} ({cls.__name__})"
        for name, cls in part_types.items()
        if not isinstance(layers.get(name), cls)
    ]
    if wrong:
        found = {name: type(layer).__name__ for name, layer in layers.items()}
        raise ValueError(
            f"Expected a model from ks.models.build_seq2seq, with the layers {', '.join(wrong)}. "
            f"Received a model whose layers are {found}."
        )
    return Seq2SeqParts(layers["encoder"], layers.get("bridge"), layers["decoder"])


def records_attention(model):
    """Whether `model`'s decoder records attention maps (a Transformer's does not)."""
    return getattr(seq2seq_parts(model).decoder, "records_attention", True)


def as_float32(model):
    """`model` computing in float32, for inference and export.

    A model trained under `mixed_bfloat16` or `mixed_float16` keeps float32
    weights but computes in half precision, and builtins-only TFLite cannot
    convert its half-precision RNN loops. This returns the model itself when
    every layer already computes in float32; otherwise a copy rebuilt from its
    config with every dtype policy float32, holding the same weights.
    """
    if all(layer.compute_dtype == "float32" for layer in model._flatten_layers()):
        return model

    def float32_policies(config):
        if isinstance(config, dict):
            if config.get("class_name") == "DTypePolicy":
                return {**config, "config": {**config["config"], "name": "float32"}}
            return {key: float32_policies(value) for key, value in config.items()}
        if isinstance(config, list):
            return [float32_policies(value) for value in config]
        return config

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # for layers built inside others
    try:
        copy = model.__class__.from_config(float32_policies(model.get_config()))
    finally:
        keras.mixed_precision.set_global_policy(policy)
    copy.set_weights(model.get_weights())
    return copy


def encode(model, source_ids, training=False):
    """Runs the encoder and bridge of a `build_seq2seq` model once.

    Returns:
        The decoder's initial state nest (see `AttentionDecoder.initial_state`).
    """
    encoder, bridge, decoder = seq2seq_parts(model)
    source_ids = ops.cast(source_ids, "int32")
    memory, memory_mask, encoder_states = encoder(source_ids, training=training)
    decoder_state = None if bridge is None else bridge(encoder_states, memory, memory_mask)
    return decoder.initial_state(memory, memory_mask, decoder_state)


def generate(
    model,
    source_ids,
    max_length,
    strategy="greedy",
    return_attention=False,
    *,
    shortlist=None,
    start_id=START_ID,
    end_id=END_ID,
    pad_id=PAD_ID,
    **deprecated,
):
    """Translates `source_ids` with a `build_seq2seq` model, inside the graph.

    The encoder runs once; then the decoding strategy drives `decoder.step`.

    Args:
        model: a model from `build_seq2seq` (or loaded from its `.keras` file).
        source_ids: int `(batch_size, source_length)`, right-padded with `pad_id`.
        max_length: int, the most target tokens (end id included).
        strategy: a decoding strategy object (`ks.decoding.GreedySearch()`,
            `BeamSearch(beam_size, length_penalty)`, `Sampling(temperature, top_k,
            seed)`), a name (`"greedy"`, `"beam"`, `"sample"`) or a config dict,
            resolved by `ks.decoding.get`.
        return_attention: also fill `DecodeResult.attention` with the weights each
            emitted token was produced with, float32 `(batch_size, K, max_length,
            source_length)`, 0 past a hypothesis' length; `"heads"` (multi-head
            attention only): each head's, `(batch_size, K, max_length, num_heads,
            source_length)`.
        shortlist: optional `ks.decoding.LexicalShortlist` (keyword-only): the
            decoder may emit only the candidates of the batch's source ids, and
            each step projects onto those columns only (faster, approximate).
        start_id, end_id, pad_id: special ids (keyword-only).
        **deprecated: `method=` and its keywords (`beam_size`, `length_penalty`,
            `temperature`, `top_k`, `seed`), the calling convention of 0.1; they
            still work for this release with a `DeprecationWarning`.

    Returns:
        A `DecodeResult`, `attention` None unless `return_attention`.

    Raises:
        ValueError: for a strategy `ks.decoding.get` cannot resolve, or a model
            that is not from `build_seq2seq`.

    Example:
    >>> result = generate(model, source_ids, 40, strategy=ks.decoding.BeamSearch(5, 0.6))
    >>> result.ids.shape  # (batch_size, 5, 40), best hypothesis first
    """
    if deprecated:
        strategy = _strategy_from_deprecated(strategy, deprecated)
    strategy = decoding.get(strategy)
    decoder = seq2seq_parts(model).decoder
    if return_attention not in (False, True, "heads"):
        raise ValueError(
            "`return_attention` must be False, True or 'heads'. "
            f"Received: return_attention={return_attention!r}"
        )
    if return_attention and not getattr(decoder, "records_attention", True):
        raise ValueError(
            f"A {type(decoder).__name__} records no attention map; call generate with "
            "return_attention=False."
        )
    if max_length > getattr(decoder, "max_length", max_length):
        raise ValueError(
            f"max_length={max_length} is more than the {decoder.max_length} target positions "
            "this Transformer was built with (build_transformer(max_length=...))."
        )
    state = encode(model, source_ids)
    start_ids = ops.full((ops.shape(state["memory"])[0],), start_id, dtype="int32")
    # With a shortlist the search runs over its candidates' columns only.
    step, vocabulary = (
        (decoder.step, None) if shortlist is None else shortlist.candidate_step(decoder, source_ids)
    )
    result = strategy(step, start_ids, state, max_length, end_id, pad_id, vocabulary=vocabulary)
    if return_attention:
        heads = return_attention == "heads"
        attention = attention_of(decoder, state, result, start_id, head_weights=heads)
        result = result._replace(attention=attention)
    return result


def _strategy_from_deprecated(strategy, keywords):
    """The strategy that `generate(method=..., beam_size=..., ...)` of 0.1 asked for."""
    known = {"method"}.union(*DEPRECATED_KEYWORDS.values())
    unknown = sorted(set(keywords) - known)
    if unknown:
        raise TypeError(f"generate() got unexpected keyword arguments {unknown}")
    received = ", ".join(f"{k}={v!r}" for k, v in keywords.items())
    warnings.warn(
        f"generate(..., {received}): `method=` and its keywords are deprecated and will be "
        "removed in the next release; pass strategy= instead, a name or an object such as "
        "strategy=ks.decoding.BeamSearch(beam_size=5, length_penalty=0.6).",
        DeprecationWarning,
        stacklevel=3,
    )
    if "method" in keywords and strategy != "greedy":
        raise ValueError(
            "Pass either strategy= or the deprecated method=, not both. "
            f"Received: strategy={strategy!r}, method={keywords['method']!r}"
        )
    method = keywords.get("method", strategy)
    if method not in decoding.STRATEGIES:
        raise ValueError(
            f"`method` must be one of {tuple(decoding.STRATEGIES)}. Received: method={method!r}"
        )
    settings = {k: v for k, v in keywords.items() if k in DEPRECATED_KEYWORDS.get(method, ())}
    return decoding.STRATEGIES[method](**settings)


def attention_of(decoder, state, result, start_id=START_ID, head_weights=False):
    """Attention weights of decoded hypotheses, recomputed by teacher forcing them.

    Stepping is deterministic, so feeding `[start_id, ids[:-1]]` reproduces the
    weights each token was emitted with.

    Args:
        head_weights: `attention="multihead"` only: each head's weights
            instead of their mean.

    Returns:
        float32 `(batch_size, K, max_length, source_length)` (with
        `head_weights`, `(batch_size, K, max_length, num_heads, source_length)`),
        0 past each length.
    """
    ids = result.ids
    batch_size, k, length = ops.shape(ids)[0], ops.shape(ids)[1], ops.shape(ids)[2]
    flat_ids = ops.reshape(ids, (batch_size * k, length))
    inputs = ops.concatenate(
        [ops.full((batch_size * k, 1), start_id, dtype="int32"), flat_ids[:, :-1]], axis=1
    )
    _, weights = decoder.decode_sequence(
        inputs, decoding.tile_state(state, k), head_weights=head_weights
    )
    valid = ops.arange(length)[None, :] < ops.reshape(result.lengths, (-1, 1))
    if head_weights:
        valid = valid[:, :, None]
    weights = ops.where(valid[:, :, None], weights, 0.0)
    trailing = (decoder.num_attention_heads, -1) if head_weights else (-1,)
    return ops.reshape(weights, (batch_size, k, length) + trailing)
