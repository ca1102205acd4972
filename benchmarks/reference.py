"""The built-in reference: the standard configuration written with Keras layers only.

What a user writes without keras_seq: `keras.layers.Bidirectional` over `LSTM`
encoders, a teacher-forced decoder `LSTM`, `keras.layers.AdditiveAttention`
(Bahdanau scores) between the decoder outputs and the encoder memory, an
attentional hidden layer and the output projection, with padding masked by
`mask_zero` and the loss weighted by sample weights. The benchmarks time it in
the same run as keras_seq's models, so every figure has a ratio against it.
`reference_greedy` is its greedy loop as a user writes it: the encoder once, then
a `tf.function` unrolling the decoder's cell, attention and projection step by step.
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
    memory = keras.layers.Embedding(
        source_vocab_size, embedding_dim, mask_zero=True, name="source_embedding"
    )(source)
    for i in range(encoder_layers):
        memory = keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=True), name=f"encoder_{i}"
        )(memory)
    outputs = keras.layers.Embedding(
        target_vocab_size, embedding_dim, mask_zero=True, name="target_embedding"
    )(target)
    outputs = keras.layers.LSTM(decoder_units, return_sequences=True, name="decoder")(outputs)
    query = keras.layers.Dense(attention_units, use_bias=False, name="query")(outputs)
    keys = keras.layers.Dense(attention_units, use_bias=False, name="keys")(memory)
    context = keras.layers.AdditiveAttention(name="attention")([query, memory, keys])
    hidden = keras.layers.Dense(decoder_units, activation="tanh", name="attentional")(
        keras.layers.Concatenate()([outputs, context])
    )
    logits = keras.layers.Dense(target_vocab_size, name="logits")(hidden)
    return keras.Model({"source_ids": source, "target_ids": target}, logits, name="reference")


def reference_greedy(model, max_length, start_id=1):
    """A `tf.function`: source ids `(batch, length)` -> greedy ids `(batch, max_length)`."""
    import tensorflow as tf

    layer = model.get_layer

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def greedy(source_ids):
        mask = source_ids != 0
        memory = layer("source_embedding")(source_ids)
        for i in range(sum(1 for x in model.layers if x.name.startswith("encoder_"))):
            memory = layer(f"encoder_{i}")(memory, mask=mask)
        keys = layer("keys")(memory)
        decoder = layer("decoder").cell
        batch = tf.shape(source_ids)[0]
        state = [tf.zeros([batch, decoder.units])] * 2
        token = tf.fill([batch], start_id)
        tokens = []
        for _ in range(max_length):
            output, state = decoder(layer("target_embedding")(token), state)
            query = layer("query")(output)[:, None]
            context = layer("attention")([query, memory, keys], mask=[None, mask])[:, 0]
            hidden = layer("attentional")(tf.concat([output, context], -1))
            token = tf.argmax(layer("logits")(hidden), -1, output_type=tf.int32)
            tokens.append(token)
        return tf.stack(tokens, 1)

    return greedy


def compile_reference(model, learning_rate=1e-3, jit_compile=False):
    """Adam and a sparse cross-entropy on logits; padding is weighted out by sample weights."""
    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    model.optimizer.build(model.trainable_variables)  # before the first trace: traced once
    return model
