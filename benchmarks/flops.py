"""Model FLOPs of the benchmarked models, computed analytically from their shapes.

Counted: the multiply-adds of every matrix product (2 FLOPs each), over real
tokens only (padding is not useful work), in the forward pass; a training step
is 3x the forward pass (the backward pass takes a product for the inputs'
gradient and one for the weights'). Left out: elementwise work (gates,
activations, softmax, the loss), embedding lookups and per-sentence terms (the
bridge). With E the embedding width, U the encoder units per direction, M = 2U
the memory width, D the decoder units, A the attention units and V the target
vocabulary, per source token each encoder layer costs 2 directions x 2 * 4U *
(input + U), and the attention keys 2 * M * A (Luong general: 2 * M * D); per
target token, with S source tokens in its sentence (for an LSTM; a GRU has 3
gates' products where the LSTM has 4, a simple RNN 1):

- Luong general, fused (`luong`): LSTM 2 * 4D * (E + D); scores 2 * S * D;
  context 2 * S * M; attentional layer 2 * (M + D) * D; output 2 * D * V.
- The same with the output tied to the target embedding (`luong_tied`): output
  2 * D * E (the projection to the embedding width) + 2 * E * V.
- Bahdanau loop (`bahdanau`): LSTM 2 * 4D * (E + M + D); query 2 * D * A;
  scores 2 * S * A; context 2 * S * M; output 2 * (D + M) * V.
- The built-in reference (`reference`): LSTM 2 * 4D * (E + D); query 2 * D * A;
  scores 2 * S * A; context 2 * S * M; attentional layer 2 * (D + M) * D;
  output 2 * D * V.
"""

import numpy as np

STYLES = ("luong", "luong_tied", "bahdanau", "reference")
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # input-and-state products per step, each U wide


def encoder_flops_per_token(config):
    e, u, g = config["embedding_dim"], config["units"], GATES[config.get("cell", "lstm")]
    total, width = 0, e
    for _ in range(config["encoder_layers"]):
        total += 2 * 2 * g * u * (width + u)
        width = 2 * u
    return total


def forward_flops(style, config, source_lengths, target_lengths):
    """Forward-pass matmul FLOPs of a batch of sentences with these real lengths."""
    if style not in STYLES:
        raise ValueError(f"`style` must be one of {STYLES}. Received: style={style!r}")
    e, d, a = config["embedding_dim"], config["decoder_units"], config["attention_units"]
    m, v = 2 * config["units"], config["target_vocab_size"]
    g = GATES[config.get("cell", "lstm")]
    s = np.asarray(source_lengths, dtype=np.float64)
    t = np.asarray(target_lengths, dtype=np.float64)
    keys_width = a if style in ("bahdanau", "reference") else d
    per_source = encoder_flops_per_token(config) + 2 * m * keys_width
    if style == "bahdanau":
        per_target = 2 * g * d * (e + m + d) + 2 * d * a + 2 * (d + m) * v
    else:
        output = 2 * d * e + 2 * e * v if style == "luong_tied" else 2 * d * v
        per_target = 2 * g * d * (e + d) + 2 * (m + d) * d + output
        per_target += 2 * d * a if style == "reference" else 0
    per_target_and_source = 2 * keys_width + 2 * m  # scores and context, per source token
    return float(
        s.sum() * per_source + t.sum() * per_target + (s * t).sum() * per_target_and_source
    )


def training_flops(style, config, source_lengths, target_lengths):
    """FLOPs of one training step: 3x the forward pass."""
    return 3 * forward_flops(style, config, source_lengths, target_lengths)
