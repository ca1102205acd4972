"""Export of sequence taggers: a text-in SavedModel for TF Serving and builtins-only TFLite."""

import os

import tensorflow as tf

from keras_seq.export.saved_model import save_atomically
from keras_seq.export.tflite import (
    QUANTIZATIONS,
    convert_concrete,
    frozen_function,
    write_atomically,
)
from keras_seq.models.seq2seq import as_float32
from keras_seq.models.tagger import DEFAULT_MAX_WORDS, TaggingModel
from keras_seq.special_ids import PAD_ID, UNK_ID


def _table(keys):
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.range(len(keys), dtype=tf.int64)),
        default_value=UNK_ID,
    )


class TaggerModule(tf.Module):
    """A trained tagging model with its vocabularies, as one exportable TensorFlow module.

    Text is split on whitespace, and words and characters are looked up as
    `TagVocabularies.encode` does (digits mapped to 0 when the vocabularies say so,
    then the word as written, then lower-cased, else `UNK_ID`), with stock
    TensorFlow ops only. The model runs in float32 (`ks.models.as_float32`), whatever
    precision it was trained in.

    Args:
        model: a `ks.models.build_tagger` model.
        vocabularies: its `TagVocabularies`.
        max_words: the words per sentence of the TFLite model's fixed input shape.
    """

    def __init__(self, model, vocabularies, max_words=DEFAULT_MAX_WORDS):
        super().__init__()
        if not isinstance(model, TaggingModel):
            raise ValueError(f"Expected a ks.models.build_tagger model. Received: {model!r}")
        self.model = as_float32(model)
        self.vocabularies = vocabularies
        self.max_words = max_words
        self.max_chars = vocabularies.max_chars
        self.uses_chars = "chars" in self.model.input
        self.word_table = _table(vocabularies.words)
        self.char_table = _table(vocabularies.chars)
        self.tag_names = tf.constant(vocabularies.output_tags)

    def encode(self, words):
        """Word ids `(B, T)` and char ids `(B, T, max_chars)` of a ragged `(B, None)` of words.

        `T` is at least 1, so that a batch of empty sentences still gives the model one
        (padding) position: the RNNs cannot run over zero steps.
        """
        batch_size = tf.shape(words.row_lengths())[0]
        width = tf.maximum(tf.cast(words.bounding_shape()[1], tf.int32), 1)
        normal = words
        if self.vocabularies.normalize_digits:
            normal = tf.strings.regex_replace(normal, "[0-9]", "0")
        lowered = tf.strings.lower(normal, encoding="utf-8")
        if self.vocabularies.lowercase:
            normal = lowered
        lookup = self.word_table.lookup
        ids = tf.ragged.map_flat_values(lookup, normal)
        ids = tf.ragged.map_flat_values(
            lambda ids, lowered: tf.where(tf.equal(ids, UNK_ID), lookup(lowered), ids), ids, lowered
        )
        word_ids = ids.to_tensor(default_value=PAD_ID, shape=tf.stack([batch_size, width]))
        chars = tf.strings.unicode_split(words, "UTF-8")[:, :, : self.max_chars]
        char_ids = tf.ragged.map_flat_values(self.char_table.lookup, chars).to_tensor(
            default_value=PAD_ID, shape=tf.stack([batch_size, width, self.max_chars])
        )
        return tf.cast(word_ids, tf.int32), tf.cast(char_ids, tf.int32)

    def tag_ids(self, word_ids, char_ids):
        """`{"tags", "scores"}`: tag ids `(B, T)` and their probabilities, of right-padded ids."""
        inputs = {"words": word_ids, "chars": char_ids} if self.uses_chars else {"words": word_ids}
        tags, scores = self.model.tag_scores(inputs)
        return {"tags": tags, "scores": scores}

    def ids_function(self, batch_size=None, max_words=None):
        """`(function, input_signature)` from ids to `tag_ids`' outputs (`chars` only if used)."""
        specs = [tf.TensorSpec([batch_size, max_words], tf.int32, name="words")]
        if not self.uses_chars:
            return (lambda words: self.tag_ids(words, None)), specs
        specs.append(tf.TensorSpec([batch_size, max_words, self.max_chars], tf.int32, name="chars"))
        return self.tag_ids, specs

    def tag(self, text):
        """`text` string `(B,)` -> `words`, `tags` (strings, `""` past `lengths`), `scores`,
        `lengths`."""
        words = tf.strings.split(text)
        word_ids, char_ids = self.encode(words)
        result = self.tag_ids(word_ids, char_ids)
        lengths = tf.cast(words.row_lengths(), tf.int32)
        real = tf.sequence_mask(lengths, tf.shape(word_ids)[1])
        return {
            "words": words.to_tensor(default_value="", shape=tf.shape(word_ids)),
            "tags": tf.where(real, tf.gather(self.tag_names, result["tags"]), ""),
            "scores": result["scores"],
            "lengths": lengths,
        }


def export_tagger_saved_model(module, path):
    """Writes `module` (a `TaggerModule`) as a self-contained SavedModel at `path`.

    Signatures:
    - `serving_default`: `text` string `(None,)` (whitespace-tokenised sentences) ->
      `words` and `tags` string `(None, T)` (`""` past each sentence), `scores`
      float32 `(None, T)` (each tag's probability), `lengths` int32 `(None,)`.
    - `tag_ids`: `words` int32 `(None, None)` and, for a model with character
      features, `chars` int32 `(None, None, max_chars)`: right-padded ids ->
      `tags` int32, `scores` float32.

    The vocabularies are constants of the graph and also packaged in `assets/`
    (`words.txt`, `chars.txt`, `tags.txt`, `settings.txt`). Replaces `path` at once.
    """
    signatures = {
        "serving_default": tf.function(
            module.tag, input_signature=[tf.TensorSpec([None], tf.string, name="text")]
        ),
        "tag_ids": tf.function(*module.ids_function()),
    }

    def write_assets(assets_dir):
        module.vocabularies.save(assets_dir)
        return [
            os.path.join(assets_dir, f"{n}.txt") for n in ("words", "chars", "tags", "settings")
        ]

    return save_atomically(module, path, signatures, write_assets)


def convert_tagger(module, quantization="float32"):
    """The tagger as a builtins-only TFLite flatbuffer with a fixed input shape.

    Inputs: `words` int32 `(1, max_words)` and, for a model with character
    features, `chars` int32 `(1, max_words, max_chars)`, right-padded with 0 (ids as
    `TagVocabularies.encode` gives them).
    Outputs: `tags` int32 and `scores` float32, `(1, max_words)`. Longer sentences
    are tagged in windows of `max_words` words by the client.
    """
    function, specs = module.ids_function(batch_size=1, max_words=module.max_words)
    return convert_concrete(frozen_function(function, specs), quantization)


def export_tagger_tflite(module, directory, quantizations=QUANTIZATIONS):
    """Writes `tagger.tflite` and its `_float16` / `_int8` variants; returns `{name: path}`."""
    written = {}
    for quantization in quantizations:
        name = "tagger.tflite" if quantization == "float32" else f"tagger_{quantization}.tflite"
        content = convert_tagger(module, quantization)
        written[name] = write_atomically(os.path.join(directory, name), content)
    return written
