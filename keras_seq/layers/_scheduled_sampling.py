"""The teacher-forcing loop of an `AttentionDecoder`, with scheduled sampling (private).

The loop runs `step` over the target positions. In training, each position
after the first independently takes the model's own previous prediction instead
of the gold token with probability `sampling_probability` (Bengio et al., 2015):
per-token Bernoulli mixing, the own token chosen by argmax or drawn from the
predicted distribution.
"""

import keras
from keras import ops

from keras_seq.utils import best_token, write_row

SAMPLINGS = ("argmax", "sample")


def own_tokens(logits, sampling, seed_generator):
    """The model's own next tokens `(batch_size,)`: argmax, or drawn from `logits`."""
    if sampling == "argmax":
        return best_token(logits)
    drawn = keras.random.categorical(
        ops.cast(logits, "float32"), 1, seed=seed_generator, dtype="int32"
    )
    return drawn[:, 0]


def mix_tokens(gold, own, probability, t, seed_generator):
    """`gold (B,)` with each row replaced by `own` with `probability`, never at `t == 0`."""
    draw = keras.random.uniform(ops.shape(gold), seed=seed_generator)
    return ops.where(ops.logical_and(draw < probability, t > 0), own, gold)


def loop_sequence(decoder, target_ids, state, training):
    """Runs `decoder`'s step over `target_ids (B, T)`; mixes its own tokens in training.

    Returns:
        `(logits (B, T, V), attention_weights float32 (B, T, S))`.
    """
    batch_size, target_length = ops.shape(target_ids)[0], ops.shape(target_ids)[1]
    source_length = ops.shape(state["memory"])[1]
    features = ops.zeros((batch_size, target_length, decoder.feature_dim), decoder.compute_dtype)
    all_weights = ops.zeros((batch_size, target_length, source_length), "float32")
    mixing = bool(training)
    probability = decoder.sampling_probability
    seed_generator = decoder.seed_generator

    def body(t, previous, features, all_weights, state):
        token = ops.take(target_ids, t, axis=1)
        if mixing:
            token = mix_tokens(token, previous, probability, t, seed_generator)
        feature, state = decoder._step_feature(token, state, training)
        if mixing:
            previous = ops.cond(
                probability > 0,
                lambda: own_tokens(decoder.output_dense(feature), decoder.sampling, seed_generator),
                lambda: previous,
            )
        features = write_row(features, feature, t)
        all_weights = write_row(all_weights, state["attention_weights"], t)
        return t + 1, previous, features, all_weights, state

    _, _, features, all_weights, _ = ops.while_loop(
        lambda t, *_: t < target_length,
        body,
        (
            ops.convert_to_tensor(0, "int32"),
            ops.zeros((batch_size,), "int32"),
            features,
            all_weights,
            state,
        ),
        maximum_iterations=target_length,  # a known trip count lets XLA differentiate it
    )
    return decoder.output_dense(features), all_weights
