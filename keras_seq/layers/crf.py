"""A linear-chain conditional random field over per-token tag scores."""

import keras
from keras import ops

from keras_seq.checks import check_choice, check_positive_int

CONSTRAINTS = (None, "iob2", "iobes")
# Added to a forbidden transition's score. Finite, so that a forbidden gold path gives a
# large but finite loss (never inf - inf = NaN) and gradients stay finite.
FORBIDDEN = -1e4
# The prefixes each tag scheme has, besides "O".
_PREFIXES = {"iob2": ("B", "I"), "iobes": ("B", "I", "E", "S")}


def allowed_transitions(tags, scheme="iob2"):
    """Which tags a tag scheme lets a sentence start with, follow each other and end with.

    In IOB2 an entity starts with `B-X` and continues with `I-X`: `I-X` may follow
    only `B-X` or `I-X`, so it can neither start a sentence nor follow `O`, `B-Y`
    or `I-Y`; every other transition is allowed. IOBES also marks an entity's last
    word (`E-X`) and a one-word entity (`S-X`): after `B-X` or `I-X` only `I-X` or
    `E-X` may come, `I-X` and `E-X` only after them, and a sentence cannot end
    inside an entity.

    Args:
        tags: list of tag strings (`"O"`, `"B-PER"`, `"I-PER"`, ...).
        scheme: `"iob2"` or `"iobes"`.

    Returns:
        `(start, transitions, end)`: a list of `len(tags)` bools (may a sentence start
        with this tag), a `len(tags) x len(tags)` list of lists (may tag `j` follow
        tag `i`) and a list of `len(tags)` bools (may a sentence end with this tag).

    Raises:
        ValueError: for an unknown scheme, or a tag that is neither `"O"` nor one of
            the scheme's prefixes and `-` followed by a type.
    """
    check_choice("scheme", scheme, tuple(_PREFIXES))
    prefixes = _PREFIXES[scheme]
    kinds = []
    for tag in tags:
        if tag == "O":
            kinds.append(("O", None))
        elif isinstance(tag, str) and tag[:1] in prefixes and tag[1:2] == "-" and len(tag) > 2:
            kinds.append((tag[0], tag[2:]))
        else:
            names = " or ".join(f"'{p}-<type>'" for p in prefixes)
            raise ValueError(
                f"{scheme.upper()} tags are 'O', {names}. Received: tag={tag!r} in "
                f"tags={list(tags)!r}"
            )

    def may_follow(previous, current):
        inside = previous is not None and previous[0] in "BI"
        if current[0] in "IE":  # continues the previous tag's entity
            return inside and previous[1] == current[1]
        return scheme == "iob2" or not inside  # IOBES: an entity ends with E- first

    start = [may_follow(None, kind) for kind in kinds]
    transitions = [[may_follow(a, b) for b in kinds] for a in kinds]
    end = [scheme == "iob2" or kind[0] in "OES" for kind in kinds]
    return start, transitions, end


@keras.saving.register_keras_serializable(package="keras_seq")
class CRF(keras.layers.Layer):
    """Linear-chain CRF: Viterbi decoding in `call`, likelihood for training.

    The score of a tag path `y` for tag scores (potentials) `x` is
    `start[y_0] + sum_t x[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_last]`,
    over the real (unmasked) positions. `call` returns the best path (Viterbi);
    `negative_log_likelihood` is the training loss and `marginals` the probability of
    each tag at each position (forward-backward). All of it runs in float32 under
    any dtype policy, and with exportable ops only (`while_loop` over preallocated
    buffers, `top_k` for argmax): no TensorArray, no custom ops, so the decoder
    converts to builtins-only TFLite.

    Masks must be right-padded (real tokens first), as the rest of keras_seq emits
    them: a padded row gives exactly what the unpadded row gives. A row with no real
    token decodes to all zeros and has loss 0.

    Args:
        num_tags: positive int, the number of tags.
        tags: optional list of `num_tags` tag names, needed by `constraints`.
        constraints: `None`, `"iob2"` or `"iobes"`: the starts, transitions and ends
            that the tag scheme forbids (see `allowed_transitions`) get a fixed score
            of -10,000, in training and in decoding, so that no decoded path contains
            them.
        **kwargs: base layer keyword arguments.

    Call arguments:
        potentials: float tensor `(batch_size, length, num_tags)`, the tag scores.
        mask: optional bool tensor `(batch_size, length)`.

    Returns:
        int32 tensor `(batch_size, length)`: the highest-scoring tag path, 0 at
        masked positions.

    Raises:
        ValueError: for a bad `num_tags`, an unknown `constraints`, or `tags` that
            are missing or not `num_tags` tags of the scheme `constraints` names.

    Example:
        >>> crf = CRF(num_tags=3)
        >>> tags = crf(keras.random.normal((2, 5, 3)))          # (2, 5) int32
        >>> loss = crf.negative_log_likelihood(
        ...     keras.random.normal((2, 5, 3)), ops.zeros((2, 5), "int32"))  # (2,)

    Reference:
        - [Lafferty et al., 2001](https://repository.upenn.edu/cis_papers/159/)
        - [Lample et al., 2016](https://arxiv.org/abs/1603.01360)
    """

    def __init__(self, num_tags, tags=None, constraints=None, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("num_tags", num_tags)
        check_choice("constraints", constraints, CONSTRAINTS)
        if tags is not None:
            tags = list(tags)
            if len(tags) != num_tags:
                raise ValueError(
                    f"`tags` must name each of the {num_tags} tags. Received {len(tags)} "
                    f"tags: {tags!r}"
                )
        if constraints is not None:
            if tags is None:
                raise ValueError(f"CRF(constraints={constraints!r}) needs `tags`, the tag names.")
            start, transitions, end = allowed_transitions(tags, constraints)
        else:
            start = end = [True] * num_tags
            transitions = [[True] * num_tags for _ in range(num_tags)]
        self.num_tags = num_tags
        self.tags = tags
        self.constraints = constraints
        self._start_penalty = [0.0 if ok else FORBIDDEN for ok in start]
        self._transition_penalty = [[0.0 if ok else FORBIDDEN for ok in row] for row in transitions]
        self._end_penalty = [0.0 if ok else FORBIDDEN for ok in end]
        self.supports_masking = True

    def build(self, potentials_shape, mask_shape=None):
        if potentials_shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF(num_tags={self.num_tags}) needs potentials whose last axis is "
                f"{self.num_tags}. Received shape {tuple(potentials_shape)}"
            )
        n = self.num_tags
        # Float32 under any policy (never autocast): the likelihood's sums need it.
        self.transitions = self.add_weight(
            shape=(n, n),
            initializer="glorot_uniform",
            name="transitions",
            dtype="float32",
            autocast=False,
        )
        self.start_transitions = self.add_weight(
            shape=(n,),
            initializer="zeros",
            name="start_transitions",
            dtype="float32",
            autocast=False,
        )
        self.end_transitions = self.add_weight(
            shape=(n,),
            initializer="zeros",
            name="end_transitions",
            dtype="float32",
            autocast=False,
        )
        self.built = True

    # Scores with the constraints applied.

    def _scores(self):
        start = self.start_transitions + ops.convert_to_tensor(self._start_penalty, "float32")
        transitions = self.transitions + ops.convert_to_tensor(self._transition_penalty, "float32")
        end = self.end_transitions + ops.convert_to_tensor(self._end_penalty, "float32")
        return start, transitions, end

    def _inputs(self, potentials, mask):
        if not self.built:
            self.build(tuple(potentials.shape))
        potentials = ops.cast(potentials, "float32")
        if mask is None:
            mask = ops.ones(ops.shape(potentials)[:2], dtype="bool")
        return potentials, ops.cast(mask, "bool")

    # Training.

    def path_score(self, potentials, tags, mask=None):
        """Score of the tag path `tags (batch_size, length)`: float32 `(batch_size,)`."""
        potentials, mask = self._inputs(potentials, mask)
        start, transitions, end = self._scores()
        tags = ops.cast(tags, "int32")
        weights = ops.cast(mask, "float32")
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        emitted = ops.take_along_axis(potentials, tags[..., None], axis=-1)[..., 0]
        score = ops.sum(emitted * weights, axis=1)
        pair_ids = tags[:, :-1] * self.num_tags + tags[:, 1:]
        pair_scores = ops.take(ops.reshape(transitions, (-1,)), pair_ids)
        score += ops.sum(pair_scores * weights[:, 1:], axis=1)
        last = ops.take_along_axis(tags, ops.maximum(lengths - 1, 0)[:, None], axis=1)[:, 0]
        score += ops.take(start, tags[:, 0]) + ops.take(end, last)
        return ops.where(lengths > 0, score, 0.0)

    def _forward(self, potentials, mask, keep_all=False):
        """Log forward scores: the last `alpha (B, N)`, or with `keep_all` every position's
        `(B, T, N)` (emission at t included). Only the first is differentiable (the buffer
        update has no gradient), which is all training needs."""
        start, transitions, _ = self._scores()
        length = ops.shape(potentials)[1]
        alpha = start[None] + potentials[:, 0]

        def step(t, alpha):
            scores = alpha[:, :, None] + transitions[None]
            new = ops.logsumexp(scores, axis=1) + ops.take(potentials, t, axis=1)
            return ops.where(ops.take(mask, t, axis=1)[:, None], new, alpha)

        if not keep_all:
            return ops.fori_loop(1, length, step, alpha)

        def body(t, carry):
            alpha, alphas = carry
            alpha = step(t, alpha)
            return alpha, ops.slice_update(alphas, (0, t, 0), alpha[:, None])

        alphas = ops.slice_update(ops.zeros_like(potentials), (0, 0, 0), alpha[:, None])
        return ops.fori_loop(1, length, body, (alpha, alphas))[1]

    def log_partition(self, potentials, mask=None):
        """Log of the sum of `exp(score)` over every tag path: float32 `(batch_size,)`."""
        potentials, mask = self._inputs(potentials, mask)
        _, _, end = self._scores()
        alpha = self._forward(potentials, mask)
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        return ops.where(lengths > 0, ops.logsumexp(alpha + end[None], axis=1), 0.0)

    def negative_log_likelihood(self, potentials, tags, mask=None):
        """`-log p(tags | potentials)` per sentence: float32 `(batch_size,)`."""
        return self.log_partition(potentials, mask) - self.path_score(potentials, tags, mask)

    # Inference.

    def marginals(self, potentials, mask=None):
        """`p(y_t = k | potentials)` by forward-backward: float32 `(B, T, N)`, 0 where masked."""
        potentials, mask = self._inputs(potentials, mask)
        _, transitions, end = self._scores()
        alphas = self._forward(potentials, mask, keep_all=True)
        length = ops.shape(potentials)[1]
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        # beta[t, k]: log-sum of the scores of the paths' continuations after position t.
        beta = ops.broadcast_to(end[None], ops.shape(potentials[:, 0]))
        betas = ops.slice_update(ops.zeros_like(potentials), (0, length - 1, 0), beta[:, None])

        def body(i, carry):
            beta, betas = carry
            t = length - 2 - i
            following = ops.take(potentials, t + 1, axis=1) + beta
            step = ops.logsumexp(transitions[None] + following[:, None, :], axis=2)
            # Positions at or after the last real token start from the end scores.
            beta = ops.where(
                (t + 1 < lengths)[:, None], step, ops.broadcast_to(end[None], ops.shape(step))
            )
            return beta, ops.slice_update(betas, (0, t, 0), beta[:, None])

        _, betas = ops.fori_loop(0, length - 1, body, (beta, betas))
        log_marginals = alphas + betas
        log_marginals -= ops.logsumexp(log_marginals, axis=-1, keepdims=True)
        return ops.where(mask[..., None], ops.exp(log_marginals), 0.0)

    def call(self, potentials, mask=None):
        potentials, mask = self._inputs(potentials, mask)
        start, transitions, end = self._scores()
        batch_size, length = ops.shape(potentials)[0], ops.shape(potentials)[1]
        identity = ops.broadcast_to(
            ops.arange(self.num_tags, dtype="int32")[None], (batch_size, self.num_tags)
        )
        score = start[None] + potentials[:, 0]
        backpointers = ops.zeros((batch_size, length, self.num_tags), dtype="int32")

        def forward(t, carry):
            score, backpointers = carry
            # (B, next, previous): top_k, not argmax, which TFLite builtins cannot take.
            candidates = ops.transpose(score[:, :, None] + transitions[None], (0, 2, 1))
            best, previous = ops.top_k(candidates, k=1)
            real = ops.take(mask, t, axis=1)[:, None]
            score = ops.where(real, best[..., 0] + ops.take(potentials, t, axis=1), score)
            pointer = ops.where(real, ops.cast(previous[..., 0], "int32"), identity)
            return score, ops.slice_update(backpointers, (0, t, 0), pointer[:, None])

        score, backpointers = ops.fori_loop(1, length, forward, (score, backpointers))
        _, last = ops.top_k(score + end[None], k=1)
        last = ops.cast(last[:, 0], "int32")
        path = ops.zeros((batch_size, length), dtype="int32")
        path = ops.slice_update(path, (0, length - 1), last[:, None])

        def backward(i, carry):
            tag, path = carry
            t = length - 1 - i
            pointers = ops.take(backpointers, t, axis=1)
            tag = ops.take_along_axis(pointers, tag[:, None], axis=1)[:, 0]
            return tag, ops.slice_update(path, (0, t - 1), tag[:, None])

        _, path = ops.fori_loop(0, length - 1, backward, (last, path))
        return ops.where(mask, path, 0)

    def compute_output_shape(self, potentials_shape, mask_shape=None):
        return tuple(potentials_shape[:-1])

    def compute_output_spec(self, potentials, mask=None):
        return keras.KerasTensor(tuple(potentials.shape[:-1]), dtype="int32")

    def compute_mask(self, potentials, mask=None):
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "num_tags": self.num_tags,
            "tags": self.tags,
            "constraints": self.constraints,
        }
