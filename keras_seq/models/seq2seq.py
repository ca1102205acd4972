"""The functional encoder-decoder training model, and generation from it."""

import keras
from keras import ops

from keras_seq import decoding
from keras_seq.layers import AttentionDecoder, Bridge, RNNEncoder

METHODS = ("greedy", "beam", "sample")


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
    bridge="last",
    input_feeding=False,
    residual=False,
    layer_norm=False,
    sampling="argmax",
    seed=None,
    name="seq2seq",
):
    """Builds the attention encoder-decoder as a functional `keras.Model`.

    Inputs: `{"source_ids": int32 (batch, source_length), "target_ids": int32
    (batch, target_length)}` (target ids start with the start id); output: logits
    `(batch, target_length, target_vocab_size)`. The layers are named
    `"encoder"` (`RNNEncoder`), `"bridge"` (`Bridge`) and `"decoder"`
    (`AttentionDecoder`); `generate` relies on these names.

    Args:
        source_vocab_size, target_vocab_size: positive ints.
        embedding_dim: positive int, both embeddings.
        units: units of each encoder direction.
        encoder_layers, decoder_layers: positive ints.
        bidirectional: bool, bidirectional encoder.
        cell: `"lstm"` or `"gru"`, encoder and decoder.
        attention: see `AttentionDecoder`.
        dropout: float in [0, 1).
        decoder_units: defaults to the encoder output width (`2 * units` if
            bidirectional), so the `"last"` bridge can copy the states.
        attention_units: additive attention width; defaults to `decoder_units`.
        bridge: `"zero"`, `"last"`, `"mean"` or `"dense"` (see `Bridge`).
        input_feeding: bool, Luong-style input feeding.
        residual, layer_norm: encoder options (see `RNNEncoder`).
        sampling: scheduled sampling choice, `"argmax"` or `"sample"`.
        seed: optional int seed of scheduled sampling.
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
        input_feeding=input_feeding,
        sampling=sampling,
        seed=seed,
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


def encode(model, source_ids, training=False):
    """Runs the encoder and bridge of a `build_seq2seq` model once.

    Returns:
        The decoder's initial state nest (see `AttentionDecoder.initial_state`).
    """
    source_ids = ops.cast(source_ids, "int32")
    memory, memory_mask, encoder_states = model.get_layer("encoder")(source_ids, training=training)
    decoder_state = model.get_layer("bridge")(encoder_states, memory, memory_mask)
    return model.get_layer("decoder").initial_state(memory, memory_mask, decoder_state)


def generate(
    model,
    source_ids,
    max_length,
    method="greedy",
    beam_size=4,
    length_penalty=0.0,
    start_id=1,
    end_id=2,
    pad_id=0,
    temperature=1.0,
    top_k=0,
    seed=None,
    return_attention=False,
):
    """Translates `source_ids` with a `build_seq2seq` model, inside the graph.

    The encoder runs once; then the chosen strategy drives `decoder.step`.

    Args:
        model: a model from `build_seq2seq` (or loaded from its `.keras` file).
        source_ids: int `(batch_size, source_length)`, right-padded with `pad_id`.
        max_length: int, the most target tokens (end id included).
        method: `"greedy"`, `"beam"` or `"sample"`.
        beam_size, length_penalty: beam search settings.
        start_id, end_id, pad_id: special ids.
        temperature, top_k, seed: sampling settings.
        return_attention: also return the attention weights of each hypothesis.

    Returns:
        A `DecodeResult`; with `return_attention`, `(result, attention)` where
        attention is float32 `(batch_size, K, max_length, source_length)`, the
        weights each emitted token was produced with (0 past the length).

    Raises:
        ValueError: for an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}. Received: method={method!r}")
    decoder = model.get_layer("decoder")
    state = encode(model, source_ids)
    batch_size = ops.shape(state["memory"])[0]
    start_ids = ops.full((batch_size,), start_id, dtype="int32")
    args = dict(max_length=max_length, end_id=end_id, pad_id=pad_id)
    if method == "greedy":
        result = decoding.greedy_search(decoder.step, start_ids, state, **args)
    elif method == "beam":
        result = decoding.beam_search(
            decoder.step,
            start_ids,
            state,
            beam_size=beam_size,
            length_penalty=length_penalty,
            **args,
        )
    else:
        result = decoding.sample(
            decoder.step, start_ids, state, temperature=temperature, top_k=top_k, seed=seed, **args
        )
    if not return_attention:
        return result
    return result, attention_of(decoder, state, result, start_id)


def attention_of(decoder, state, result, start_id=1):
    """Attention weights of decoded hypotheses, recomputed by teacher forcing them.

    Stepping is deterministic, so feeding `[start_id, ids[:-1]]` reproduces the
    weights each token was emitted with.
    """
    ids = result.ids
    batch_size, k, length = ops.shape(ids)[0], ops.shape(ids)[1], ops.shape(ids)[2]
    flat_ids = ops.reshape(ids, (batch_size * k, length))
    inputs = ops.concatenate(
        [ops.full((batch_size * k, 1), start_id, dtype="int32"), flat_ids[:, :-1]], axis=1
    )
    tiled = keras.tree.map_structure(lambda x: ops.repeat(x, k, axis=0), state)
    _, weights = decoder.decode_sequence(inputs, tiled)
    valid = ops.arange(length)[None, :] < ops.reshape(result.lengths, (-1, 1))
    weights = ops.where(valid[:, :, None], weights, 0.0)
    return ops.reshape(weights, (batch_size, k, length, -1))
