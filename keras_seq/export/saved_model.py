"""SavedModel export for TF Serving: text in, text out, plus signatures on ids."""

import json
import os

import tensorflow as tf

from keras_seq import decoding, files
from keras_seq.export._noise import known_noise_dropped
from keras_seq.export.inference import TranslatorModule, result_outputs

STRATEGIES_ASSET = "decoding.json"


def export_saved_model(translator, path, with_attention=False):
    """Writes a self-contained SavedModel of `translator` to `path`.

    Signatures:
    - `serving_default`: `text` string `(None,)` -> `translation` string `(None,)`,
      `score` float32 `(None,)`, `truncated` bool `(None,)`, decoded by the
      translator's strategy.
    - one ids signature per entry of `translator.ids_strategies()` (`greedy`, and
      the translator's strategy under its name, e.g. `beam`): `source_ids` int32
      `(None, None)` (right-padded) -> `ids` int32 `(None, K, max_target_length)`,
      `lengths` int32 `(None, K)`, `scores` float32 `(None, K)`, and with
      `with_attention`, `attention` float32 `(None, K, max_target_length, None)`.

    `assets/decoding.json` records each signature's strategy (`ks.decoding.serialize`
    configs; `ks.decoding.get` reads them back). The tokenizers' models are
    constants of the graph, and their files are also packaged in `assets/`
    (`source.model`, `source.vocab`, `target.model`, `target.vocab`), so the folder
    works wherever it is moved. Only stock TensorFlow and tensorflow-text ops are
    used (no `py_function`). The folder is written beside `path` and renamed into
    place, so a failed export leaves any earlier export as it was.

    Args:
        translator: a `TranslatorModule` with both tokenizers.
        path: output folder (replaced if it exists).
        with_attention: add attention weights to the ids signatures.

    Returns:
        `path`.
    """
    if not isinstance(translator, TranslatorModule) or translator.target_tokenizer is None:
        raise ValueError(
            "`translator` must be a TranslatorModule with source and target tokenizers "
            f"(ks.Translator.module()). Received: {translator!r}"
        )
    text_spec = tf.TensorSpec([None], tf.string, name="text")
    ids_spec = tf.TensorSpec([None, None], tf.int32, name="source_ids")
    signatures = {"serving_default": tf.function(translator.translate, input_signature=[text_spec])}
    strategies = {"serving_default": translator.strategy}
    for name, strategy in translator.ids_strategies().items():
        signatures[name] = tf.function(
            lambda source_ids, strategy=strategy: result_outputs(
                translator.decode_ids(source_ids, strategy, return_attention=with_attention)
            ),
            input_signature=[ids_spec],
        )
        strategies[name] = strategy

    def write_assets(assets_dir):
        files = []
        for name, tokenizer in (
            ("source", translator.source_tokenizer),
            ("target", translator.target_tokenizer),
        ):
            tokenizer.save(os.path.join(assets_dir, name))
            files += [os.path.join(assets_dir, f"{name}.{ext}") for ext in ("model", "vocab")]
        with open(os.path.join(assets_dir, STRATEGIES_ASSET), "w") as f:
            json.dump({k: decoding.serialize(v) for k, v in strategies.items()}, f, indent=2)
        return [*files, os.path.join(assets_dir, STRATEGIES_ASSET)]

    return save_atomically(translator, path, signatures, write_assets)


def save_atomically(module, path, signatures, write_assets):
    """`tf.saved_model.save(module, path, signatures)` with assets, replacing `path` at once.

    `write_assets(assets_dir)` writes the asset files and returns their paths; they
    are packaged in the SavedModel's `assets/`. The folder is written beside `path`
    and renamed into place, so a failed export leaves any earlier export as it was.
    """
    with files.replacing(path, folder=True) as staging:
        assets_dir = os.path.join(staging, "assets")
        os.makedirs(assets_dir)
        module.assets = [tf.saved_model.Asset(a) for a in write_assets(assets_dir)]
        with known_noise_dropped():
            tf.saved_model.save(module, staging, signatures=signatures)
    return os.fspath(path)


def saved_model_strategies(path):
    """`{signature name: strategy}` recorded in an exported SavedModel's assets."""
    with open(os.path.join(path, "assets", STRATEGIES_ASSET)) as f:
        return {name: decoding.get(config) for name, config in json.load(f).items()}
