"""Teacher forcing with scheduled sampling for an `AttentionDecoder` (private).

Two ways to feed the model its own predictions in training, with probability
`sampling_probability` per target position after the first (per-token Bernoulli
mixing, Bengio et al., 2015), the own token chosen by argmax or drawn from the
predicted distribution:

- `loop_sequence` (`scheduled_sampling="loop"`): a `while_loop` over `step`; the
  token at position `t` may be the prediction the loop made at `t - 1`.
- `parallel_sequence` (`scheduled_sampling="parallel"`, Duckworth et al., 2019):
  pass one decodes the gold sequence teacher-forced, without gradient; its
  predictions, shifted right by one, replace gold tokens per position; pass two
  trains on the mix. Both passes are plain teacher forcing, so the fused RNN
  kernel stays usable for Luong-style decoders.

Randomness is stateless, keyed by a per-batch `seed` (drawn once, outside any
loop, from the decoder's seed generator) and the position: the loops compile
under XLA and never touch a variable.
"""

import tensorflow as tf
from keras import ops

from keras_seq.utils import best_token, draw_token, write_row

SAMPLINGS = ("argmax", "sample")
SCHEDULED_SAMPLINGS = ("loop", "parallel")


def _position_seed(seed, t, stream):
    """The stateless seed of position `t` in one of two streams (0: mixing, 1: drawing)."""
    return seed + ops.cast(ops.stack([0, 2 * t + stream]), seed.dtype)


def own_tokens(logits, sampling, seed):
    """The model's own tokens (one rank less than `logits`): argmax or drawn."""
    return best_token(logits) if sampling == "argmax" else draw_token(logits, seed)


def mix_mask(shape, probability, seed, first_position):
    """bool mask of the positions that take the model's own token (never `first_position`)."""
    draw = tf.random.stateless_uniform(shape, seed)
    return ops.logical_and(draw < probability, ops.logical_not(first_position))


def loop_sequence(decoder, target_ids, state, training, seed=None, record="attention_weights"):
    """Runs `decoder`'s step over `target_ids (B, T)`; with a `seed`, mixes its own tokens in.

    Returns:
        `(logits (B, T, V), weights)`: float32 weights `(B, T, ...)`, each step's
        `state[record]` (`attention_weights (B, S)` or `head_weights (B, H, S)`).
    """
    batch_size, target_length = ops.shape(target_ids)[0], ops.shape(target_ids)[1]
    features = ops.zeros((batch_size, target_length, decoder.feature_dim), decoder.compute_dtype)
    recorded_shape = tuple(ops.shape(state[record])[1:])
    all_weights = ops.zeros((batch_size, target_length) + recorded_shape, "float32")
    mixing = seed is not None
    probability = ops.convert_to_tensor(decoder.sampling_probability)  # read once, outside

    def body(t, previous, features, all_weights, state):
        token = ops.take(target_ids, t, axis=1)
        if mixing:
            own = mix_mask((batch_size,), probability, _position_seed(seed, t, 0), t == 0)
            token = ops.where(own, previous, token)
        feature, state = decoder.step_feature(token, state, training)
        if mixing:
            previous = own_tokens(
                decoder.output_dense(feature), decoder.sampling, _position_seed(seed, t, 1)
            )
        features = write_row(features, feature, t)
        all_weights = write_row(all_weights, state[record], t)
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


def parallel_inputs(target_ids, logits, probability, sampling, seed):
    """Pass two's inputs: gold ids with each position after the first, with
    `probability`, replaced by pass one's prediction from the position before.
    """
    predicted = ops.stop_gradient(own_tokens(logits, sampling, _position_seed(seed, 0, 1)))
    shifted = ops.concatenate([target_ids[:, :1], predicted[:, :-1]], axis=1)
    first = ops.arange(ops.shape(target_ids)[1])[None, :] == 0
    own = mix_mask(ops.shape(target_ids), probability, _position_seed(seed, 0, 0), first)
    return ops.where(own, shifted, target_ids)


def parallel_sequence(decoder, target_ids, state, training, seed):
    """Two-pass parallel scheduled sampling; returns pass two's `(logits, weights)`."""
    first_logits, _ = decoder._teacher_forced(target_ids, state, training)
    mixed = parallel_inputs(
        target_ids, first_logits, decoder.sampling_probability, decoder.sampling, seed
    )
    return decoder._teacher_forced(mixed, state, training)
