"""Sequence taggers: word (and character) features, a BiRNN, a softmax or CRF head."""

import keras
import numpy as np
from keras import ops

from keras_seq.checks import check_choice, check_positive_int, check_rate
from keras_seq.layers import CRF, Bidirectional, CasingFeatures, CharacterEncoder
from keras_seq.layers._common import RNN_LAYERS, check_cell
from keras_seq.losses import global_count, replica_share
from keras_seq.optimizers import build_optimizer
from keras_seq.special_ids import PAD_ID

HEADS = ("crf", "softmax")
# Words per sentence of an exported TFLite tagger, unless the preset says otherwise.
DEFAULT_MAX_WORDS = 128


# Registered under its earlier name: the model.keras of a tagging run trained before the
# tasks layer was split off loads as it is (a user's training is never lost to a rename).
@keras.saving.register_keras_serializable(package="keras_seq", name="Tagger")
class TaggingModel(keras.Model):
    """A functional tagging model whose loss is its head's: CRF likelihood or softmax.

    Built by `build_tagger`. Inputs are a dict: `"words"`, int `(batch_size, words)`
    with 0 as padding, and, for a model with character features, `"chars"`, int
    `(batch_size, words, chars)`. Outputs are a dict: `"potentials"`, float32
    `(batch_size, words, num_tags)` (the tag scores before the head) and `"tags"`,
    int32 `(batch_size, words)` (Viterbi for a CRF head, argmax for softmax; 0 where
    padded).

    Compile it without a loss: `fit` trains it on `(inputs, tags)` with the head's own
    loss averaged over real words — the CRF negative log-likelihood of each sentence
    (summed over the batch, divided by its words) or the softmax cross-entropy.

    It is the backbone of the tagging task a user holds, `ks.Tagger`, which adds the
    vocabularies (text in, entities out), export and presets.
    """

    def make_train_function(self, force=False):
        build_optimizer(self)  # before `fit` traces the step, not in the trace
        return super().make_train_function(force)

    @property
    def crf(self):
        """The CRF head, or None for a softmax head."""
        return next((layer for layer in self.layers if isinstance(layer, CRF)), None)

    def _word_mask(self, inputs):
        return ops.not_equal(inputs["words"], PAD_ID)

    def head_loss(self, inputs, tags, potentials):
        """Mean loss per real word (of the global batch, in a replicated step), float32."""
        mask = self._word_mask(inputs)
        words = ops.maximum(global_count(ops.sum(ops.cast(mask, "float32"))), 1.0)
        if self.crf is not None:
            return ops.sum(self.crf.negative_log_likelihood(potentials, tags, mask)) / words
        token_loss = keras.losses.sparse_categorical_crossentropy(
            tags, ops.cast(potentials, "float32"), from_logits=True
        )
        return ops.sum(ops.where(mask, token_loss, 0.0)) / words

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.head_loss(x, y, y_pred["potentials"])
        if self.losses:
            loss += replica_share(ops.sum([ops.cast(extra, "float32") for extra in self.losses]))
        return loss

    def tag_scores(self, inputs, outputs=None):
        """`(tags, scores)`: the tags and each tag's probability, float32 `(B, words)`.

        A CRF head's probability is the tag's marginal (forward-backward) given the
        sentence; a softmax head's is its softmax. 0 where padded.
        """
        outputs = self(inputs, training=False) if outputs is None else outputs
        mask = self._word_mask(inputs)
        if self.crf is not None:
            probabilities = self.crf.marginals(outputs["potentials"], mask)
        else:
            probabilities = ops.softmax(ops.cast(outputs["potentials"], "float32"))
        tags = outputs["tags"]
        scores = ops.take_along_axis(probabilities, tags[..., None], axis=-1)[..., 0]
        return tags, ops.where(mask, scores, 0.0)


@keras.saving.register_keras_serializable(package="keras_seq")
class PaddingMask(keras.layers.Layer):
    """True where the word id is not `PAD_ID`."""

    def call(self, ids):
        return ops.not_equal(ids, PAD_ID)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(tuple(ids.shape), dtype="bool")


@keras.saving.register_keras_serializable(package="keras_seq")
class SoftmaxTags(keras.layers.Layer):
    """The highest-scoring tag at each position (`top_k`, which TFLite builtins take)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, potentials, mask=None):
        _, best = ops.top_k(ops.cast(potentials, "float32"), k=1)
        best = ops.cast(best[..., 0], "int32")
        return best if mask is None else ops.where(mask, best, 0)

    def compute_output_spec(self, potentials, mask=None):
        return keras.KerasTensor(tuple(potentials.shape[:-1]), dtype="int32")


def read_vectors(path, words=None, lowercase_lookup=True):
    """Word vectors of a GloVe-format text file (`word v1 v2 ...` per line).

    Args:
        path: the text file.
        words: keep the vectors of these words only (and, with `lowercase_lookup`,
            of their lower-cased forms); None keeps every vector.
        lowercase_lookup: also keep the lower-cased form of each of `words`.

    Returns:
        `{word: float32 vector}`.

    Raises:
        ValueError: naming the file and line for a row whose width differs from the
            first row's, or naming the file when it holds no vector of `words`.
    """
    wanted = None
    if words is not None:
        wanted = set(words)
        if lowercase_lookup:
            wanted |= {word.lower() for word in wanted}
    vectors, dim = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_number, line in enumerate(f, 1):
            word, *values = line.rstrip().split(" ")
            if not values:
                continue
            dim = dim or len(values)
            if len(values) != dim:
                raise ValueError(
                    f"{path}:{line_number}: a vector of {len(values)} values; expected {dim} "
                    "(GloVe format: a word then its values, separated by spaces)."
                )
            if (wanted is None or word in wanted) and word not in vectors:
                vectors[word] = np.asarray(values, dtype="float32")
    if not vectors:
        raise ValueError(
            f"{path} holds no vector of the words asked for (GloVe format: a word then its "
            "values, separated by spaces)."
        )
    return vectors


def embedding_matrix(vectors, vocabulary, lowercase_lookup=True, seed=0):
    """Initial word vectors for a vocabulary, from `read_vectors`' `{word: vector}`.

    Unknown-word policy: a vocabulary word with a vector (as written, else
    lower-cased when `lowercase_lookup`) gets it; any other word, and the
    unknown-word id, gets a random normal vector scaled to the vectors' standard
    deviation; padding (id 0) gets zeros.

    Args:
        vectors: `{word: vector}`, at least one, all of one width.
        vocabulary: list of words by id (id 0 padding).
        lowercase_lookup: also look a word up lower-cased.
        seed: for the random vectors.

    Returns:
        `(matrix, found)`: float32 `(len(vocabulary), dim)` and the number of
        vocabulary words that have a vector.
    """
    if not vectors:
        raise ValueError("`vectors` is empty: there is no vector to start from.")
    dim = len(next(iter(vectors.values())))
    scale = float(np.std(list(vectors.values())))
    matrix = np.random.default_rng(seed).normal(0, scale, (len(vocabulary), dim)).astype("float32")
    matrix[PAD_ID] = 0.0
    hits = 0
    for i, word in enumerate(vocabulary):
        keys = (word, word.lower()) if lowercase_lookup else (word,)
        vector = next((vectors[key] for key in keys if key in vectors), None)
        if i != PAD_ID and vector is not None:
            matrix[i] = vector
            hits += 1
    return matrix, hits


def build_tagger(
    vocab_size,
    num_tags,
    embedding_dim=100,
    units=200,
    num_layers=1,
    cell="lstm",
    dropout=0.5,
    recurrent_dropout=0.0,
    char_vocab_size=None,
    char_encoder="cnn",
    char_embedding_dim=30,
    char_units=50,
    char_classes=None,
    head="crf",
    tags=None,
    constraints=None,
    embeddings=None,
    name="tagger",
):
    """A BiRNN sequence tagger (Lample et al. 2016; Ma and Hovy 2016) as a `TaggingModel`.

    Word embeddings (optionally initialised from `embeddings`), optionally
    concatenated with character features (`CharacterEncoder`), dropout, `num_layers`
    stacked `Bidirectional` LSTM/GRU layers with dropout after each, a dense layer to
    `num_tags` scores, and a CRF or softmax head.

    Args:
        vocab_size: positive int, word ids (0 is padding).
        num_tags: positive int.
        embedding_dim: word embedding width (the width of `embeddings` if given).
        units: RNN units per direction.
        num_layers: stacked bidirectional layers.
        cell: `"lstm"`, `"gru"` or `"rnn"`.
        dropout: rate in [0, 1) on the word features and after each RNN layer.
        recurrent_dropout: rate in [0, 1) on each RNN's recurrent state, one mask per
            sequence (variational dropout, Gal and Ghahramani 2016).
        char_vocab_size: character ids (0 is padding), or None for no character
            features (then the model has no `"chars"` input).
        char_encoder, char_embedding_dim, char_units: of the `CharacterEncoder`.
        char_classes: the class of each character id (`ks.layers.character_classes`
            of the character vocabulary) to add each word's casing to its features
            (`CasingFeatures`), or None for none. Needs `char_vocab_size`.
        head: `"crf"` or `"softmax"`.
        tags: the tag names, passed to the CRF.
        constraints: the CRF's transition constraints (`None` or `"iob2"`).
        embeddings: optional float array `(vocab_size, embedding_dim)` of initial word
            vectors (see `read_vectors`, `embedding_matrix`); they keep training.
        name: the model's name.

    Returns:
        A `TaggingModel` (a functional `keras.Model`).

    Raises:
        ValueError: naming any bad argument.
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("num_tags", num_tags)
    check_positive_int("units", units)
    check_positive_int("num_layers", num_layers)
    check_cell(cell)
    check_rate("dropout", dropout)
    check_rate("recurrent_dropout", recurrent_dropout)
    check_choice("head", head, HEADS)
    if head == "softmax" and constraints is not None:
        raise ValueError(
            f"`constraints` apply to a CRF head. Received: constraints={constraints!r} "
            "with head='softmax'"
        )
    initializer = "uniform"
    if embeddings is not None:
        embeddings = np.asarray(embeddings, dtype="float32")
        if embeddings.ndim != 2 or embeddings.shape[0] != vocab_size:
            raise ValueError(
                f"`embeddings` must have shape (vocab_size={vocab_size}, dim). "
                f"Received shape {embeddings.shape}"
            )
        embedding_dim = int(embeddings.shape[1])
        initializer = keras.initializers.Constant(embeddings)
    check_positive_int("embedding_dim", embedding_dim)
    if char_classes is not None and len(char_classes) != char_vocab_size:
        raise ValueError(
            "`char_classes` needs one class per character id: "
            f"char_vocab_size={char_vocab_size!r}. Received: {len(char_classes)} classes"
        )

    words = keras.Input((None,), dtype="int32", name="words")
    inputs = {"words": words}
    # The padding mask (word id 0), handed explicitly to the RNNs and the head.
    mask = PaddingMask(name="padding_mask")(words)
    features = keras.layers.Embedding(
        vocab_size, embedding_dim, embeddings_initializer=initializer, name="word_embedding"
    )(words)
    if char_vocab_size is not None:
        chars = keras.Input((None, None), dtype="int32", name="chars")
        inputs["chars"] = chars
        encoder = CharacterEncoder(
            char_vocab_size,
            kind=char_encoder,
            embedding_dim=char_embedding_dim,
            units=char_units,
            name="char_encoder",
        )
        parts = [features, encoder(chars)]
        if char_classes is not None:
            parts.append(CasingFeatures(char_classes, name="casing")(chars))
        features = keras.layers.Concatenate(name="word_features")(parts)
    hidden = keras.layers.Dropout(dropout, name="word_dropout")(features)
    for i in range(num_layers):
        rnn = getattr(keras.layers, RNN_LAYERS[cell])(
            units, return_sequences=True, recurrent_dropout=recurrent_dropout, name=f"{cell}_{i}"
        )
        hidden = Bidirectional(rnn, name=f"bidirectional_{i}")(hidden, mask=mask)
        hidden = keras.layers.Dropout(dropout, name=f"dropout_{i}")(hidden)
    potentials = keras.layers.Dense(num_tags, dtype="float32", name="potentials")(hidden)
    if head == "crf":
        decoded = CRF(num_tags, tags=tags, constraints=constraints, name="crf")(
            potentials, mask=mask
        )
    else:
        decoded = SoftmaxTags(name="softmax_tags")(potentials, mask=mask)
    return TaggingModel(
        inputs=inputs, outputs={"potentials": potentials, "tags": decoded}, name=name
    )
