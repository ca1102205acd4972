"""SavedModel export for TF Serving: text in, text out, plus signatures on ids."""

import os
import shutil
import tempfile

import tensorflow as tf

from keras_seq.export.inference import Translator


def export_saved_model(translator, path, with_attention=False):
    """Writes a self-contained SavedModel of `translator` to `path`.

    Signatures:
    - `serving_default`: `text` string `(None,)` -> `translation` string `(None,)`,
      `score` float32 `(None,)`, `truncated` bool `(None,)` (beam search).
    - `greedy` and `beam`: `source_ids` int32 `(None, None)` (right-padded) ->
      `ids` int32 `(None, K, max_target_length)`, `lengths` int32 `(None, K)`,
      `scores` float32 `(None, K)`, and with `with_attention`, `attention` float32
      `(None, K, max_target_length, None)`.

    The tokenizers' models are constants of the graph, and their files are also
    packaged in `assets/` (`source.model`, `source.vocab`, `target.model`,
    `target.vocab`), so the folder works wherever it is moved. Only stock
    TensorFlow and tensorflow-text ops are used (no `py_function`).

    Args:
        translator: a `Translator` with both tokenizers.
        path: output folder (replaced if it exists).
        with_attention: add attention weights to the ids signatures.

    Returns:
        `path`.
    """
    if not isinstance(translator, Translator) or translator.target_tokenizer is None:
        raise ValueError("`translator` must be a Translator with source and target tokenizers.")
    text_spec = tf.TensorSpec([None], tf.string, name="text")
    ids_spec = tf.TensorSpec([None, None], tf.int32, name="source_ids")
    serving = tf.function(translator.translate, input_signature=[text_spec])
    greedy = tf.function(
        lambda source_ids: translator.decode_ids(source_ids, "greedy", with_attention),
        input_signature=[ids_spec],
    )
    beam = tf.function(
        lambda source_ids: translator.decode_ids(source_ids, "beam", with_attention),
        input_signature=[ids_spec],
    )
    with tempfile.TemporaryDirectory() as staging:
        assets = []
        for name, tokenizer in (
            ("source", translator.source_tokenizer),
            ("target", translator.target_tokenizer),
        ):
            tokenizer.save(os.path.join(staging, name))
            assets += [
                tf.saved_model.Asset(os.path.join(staging, f"{name}.{ext}"))
                for ext in ("model", "vocab")
            ]
        translator.assets = assets
        if os.path.exists(path):
            shutil.rmtree(path)
        tf.saved_model.save(
            translator,
            path,
            signatures={"serving_default": serving, "greedy": greedy, "beam": beam},
        )
    return path
