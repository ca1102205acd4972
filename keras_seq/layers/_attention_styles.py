"""How an `AttentionDecoder` step uses its attention, for each attention style (private).

- Bahdanau style (`attend_before_cell`): the previous top hidden state queries
  the memory; the context goes into the cell with the embedding, and the
  output feature is `[h_t; context_t]`.
- Luong style (`attend_after_cell`): the new top hidden state `h_t` queries the
  memory and `a_t = tanh(W [context_t; h_t])` is the output feature; with input
  feeding, `a_{t-1}` goes into the cell with the embedding.
- `attend_after_fused_rnn`: Luong style without input feeding over a whole
  teacher-forced sequence, the RNN run once in its fused kernel.

Each function takes the decoder (whose sublayers hold the weights) and returns
features before the output projection. What a step records of its attention
(`attention_weights`, and with a multi-head attention each head's
`head_weights`) goes into the decoder state.
"""

from keras import ops

from keras_seq.layers._common import embed


def _run_cells(decoder, x, cell_states, training):
    """One step of the stacked cells: `(top output, new per-layer states)`."""
    new_states = []
    for i, rnn in enumerate(decoder.rnn_layers):
        x, layer_state = rnn.cell(x, list(cell_states[i]), training=training)
        new_states.append(list(layer_state))
        if i < decoder.num_layers - 1:
            x = decoder.dropout_layer(x, training=training)
    return x, new_states


def _attend(decoder, query, state):
    """`(context, record)`: `record` maps `attention_weights` (and `head_weights`) to weights."""
    layer = decoder.attention_layer
    if not decoder.uses_attention:  # a forecaster without attention: a zero context
        leading, memory = tuple(ops.shape(query)[:-1]), state["memory"]
        context = ops.zeros((*leading, ops.shape(memory)[-1]), memory.dtype)
        return context, {"attention_weights": ops.zeros((*leading, ops.shape(memory)[1]))}
    if decoder.num_attention_heads:
        context, heads = layer.attend_heads(query, state["keys"], state["memory_mask"])
        return context, {"attention_weights": ops.mean(heads, axis=-2), "head_weights": heads}
    context, weights = layer.attend(query, state["keys"], state["memory"], state["memory_mask"])
    return context, {"attention_weights": weights}


def attend_before_cell(decoder, embedded, state, training):
    """Bahdanau-style step: `(feature, new_state)`."""
    context, record = _attend(decoder, state["cell"][-1][0], state)
    output, cell_states = _run_cells(
        decoder, ops.concatenate([embedded, context], axis=-1), state["cell"], training
    )
    feature = ops.concatenate([output, context], axis=-1)
    return feature, dict(state, cell=cell_states, **record)


def attend_after_cell(decoder, embedded, state, training):
    """Luong-style step (with or without input feeding): `(feature, new_state)`."""
    x = embedded
    if decoder.input_feeding:
        x = ops.concatenate([x, state["attentional"]], axis=-1)
    output, cell_states = _run_cells(decoder, x, state["cell"], training)
    context, record = _attend(decoder, output, state)
    feature = decoder.attentional_dense(ops.concatenate([context, output], axis=-1))
    new_state = dict(state, cell=cell_states, **record)
    if decoder.input_feeding:
        new_state["attentional"] = feature
    return feature, new_state


def attend_after_fused_rnn(decoder, target_ids, state, training):
    """Luong style over a whole sequence: `(features (B, T, F), record)`.

    `record` maps `attention_weights` to `(B, T, S)` (and `head_weights` to
    `(B, T, H, S)`).
    """
    x = embed(decoder, target_ids, training)
    for i, rnn in enumerate(decoder.rnn_layers):
        x, *_ = rnn(x, initial_state=list(state["cell"][i]), training=training)
        if i < decoder.num_layers - 1:
            x = decoder.dropout_layer(x, training=training)
    context, record = _attend(decoder, x, state)
    return decoder.attentional_dense(ops.concatenate([context, x], axis=-1)), record
