"""The built-in reference: the standard configuration written with Keras layers only.

What a user writes without keras_seq: `keras.layers.Bidirectional` over `LSTM`
encoders, a teacher-forced decoder `LSTM`, `keras.layers.AdditiveAttention`
(Bahdanau scores) between the decoder outputs and the encoder memory, an
attentional hidden layer and the output projection, with padding masked by
`mask_zero` and the loss weighted by sample weights. The benchmarks time it in
the same run as keras_seq's models, so every figure has a ratio against it.
"""

import keras


def reference_model(
    source_vocab_size,
    target_vocab_size,
    embedding_dim,
    units,
    encoder_layers,
    decoder_units,
    attention_units,
    **unused,
):
    """A teacher-forced attention model: `{"source_ids", "target_ids"}` -> logits."""
    source = keras.Input((None,), dtype="int32", name="source_ids")
    target = keras.Input((None,), dtype="int32", name="target_ids")
    memory = keras.layers.Embedding(source_vocab_size, embedding_dim, mask_zero=True)(source)
    for _ in range(encoder_layers):
        memory = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))(memory)
    outputs = keras.layers.Embedding(target_vocab_size, embedding_dim, mask_zero=True)(target)
    outputs = keras.layers.LSTM(decoder_units, return_sequences=True)(outputs)
    query = keras.layers.Dense(attention_units, use_bias=False)(outputs)
    keys = keras.layers.Dense(attention_units, use_bias=False)(memory)
    context = keras.layers.AdditiveAttention()([query, memory, keys])
    hidden = keras.layers.Dense(decoder_units, activation="tanh")(
        keras.layers.Concatenate()([outputs, context])
    )
    logits = keras.layers.Dense(target_vocab_size)(hidden)
    return keras.Model({"source_ids": source, "target_ids": target}, logits, name="reference")


def compile_reference(model, learning_rate=1e-3, jit_compile=False):
    """Adam and a sparse cross-entropy on logits; padding is weighted out by sample weights."""
    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model
