import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)
from ai_edge_litert.interpreter import Interpreter

from keras_seq.data import SubwordTokenizer
from keras_seq.decoding import BeamSearch, GreedySearch
from keras_seq.evaluation import corpus_scores
from keras_seq.export import check_builtins_only, op_names, tflite_strategy
from keras_seq.export.tflite import convert
from tests.export.conftest import MAX_SOURCE, padded_ids

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_tflite")

VARIANTS = [
    f"{method}{suffix}.tflite"
    for method in ("greedy", "beam")
    for suffix in ("", "_float16", "_int8")
]


def runner_of(path):
    interpreter = Interpreter(model_path=path)
    return interpreter, interpreter.get_signature_runner()


@pytest.mark.parametrize("name", VARIANTS)
def test_builtin_ops_only_and_it_invokes(exported_run, name):
    run, _ = exported_run
    path = os.path.join(run, "tflite", name)
    with open(path, "rb") as f:
        content = f.read()
    names = check_builtins_only(content)
    assert "WHILE" in names and "TOPK_V2" in names
    expected = GreedySearch() if name.startswith("greedy") else BeamSearch(3, length_penalty=0.6)
    assert tflite_strategy(content) == expected  # the run's config, recorded in the file
    assert not any(
        n.startswith(("Flex", "CUSTOM")) or n in ("VAR_HANDLE", "READ_VARIABLE")
        for n in op_names(content)
    )
    interpreter, runner = runner_of(path)
    signature = interpreter.get_signature_list()["serving_default"]
    assert signature["inputs"] == ["source_ids"]
    assert sorted(signature["outputs"]) == ["ids", "lengths", "scores"]
    (input_name,) = runner.get_input_details()
    shape = runner.get_input_details()[input_name]["shape"]
    assert shape.tolist() == [1, MAX_SOURCE]
    ids = np.zeros(shape, np.int32)
    ids[0, :3] = [10, 11, 12]
    out = runner(**{input_name: ids})
    assert out["ids"].shape[-1] == 24 and np.all(np.isfinite(out["scores"]))


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_float32_tokens_equal_the_saved_model(exported_run, method):
    run, pairs = exported_run
    loaded = tf.saved_model.load(os.path.join(run, "saved_model"))
    source = SubwordTokenizer.load(os.path.join(run, "vocab", "source"))
    ids = padded_ids(source, [s for s, _ in pairs], MAX_SOURCE)
    expected = loaded.signatures[method](source_ids=tf.constant(ids))
    _, runner = runner_of(os.path.join(run, "tflite", f"{method}.tflite"))
    for row in range(len(ids)):
        out = runner(source_ids=ids[row : row + 1])
        np.testing.assert_array_equal(out["ids"], expected["ids"][row : row + 1])
        np.testing.assert_array_equal(out["lengths"], expected["lengths"][row : row + 1])
        np.testing.assert_allclose(
            out["scores"], expected["scores"][row : row + 1], rtol=1e-4, atol=1e-4
        )


@pytest.mark.parametrize("name", ["greedy.tflite", "beam.tflite", "beam_int8.tflite"])
def test_fuzzed_ids_never_crash_the_interpreter(exported_run, name):
    run, _ = exported_run
    _, runner = runner_of(os.path.join(run, "tflite", name))
    rng = np.random.default_rng(0)
    cases = [
        np.zeros((1, MAX_SOURCE), np.int32),  # all padding
        np.full((1, MAX_SOURCE), 2**31 - 1, np.int32),
        np.full((1, MAX_SOURCE), -7, np.int32),
    ]
    cases += [rng.integers(-1000, 100_000, size=(1, MAX_SOURCE), dtype=np.int32) for _ in range(10)]
    target_vocab = SubwordTokenizer.load(os.path.join(run, "vocab", "target")).vocab_size
    for ids in cases:
        out = runner(source_ids=ids)
        assert np.all((out["ids"] >= 0) & (out["ids"] < target_vocab))
        assert np.all(np.isfinite(out["scores"]))
        assert np.all((out["lengths"] >= 1) & (out["lengths"] <= out["ids"].shape[-1]))


def tflite_tokens(path, ids):
    """Token lists of the best hypothesis of each row of `ids`, one invoke per row."""
    _, runner = runner_of(path)
    tokens = []
    for row in range(len(ids)):
        out = runner(source_ids=ids[row : row + 1])
        tokens.append(out["ids"][0, 0, : out["lengths"][0, 0]].tolist())
    return tokens


# Stated margins of the weight-quantized variants against float32 on the generated test
# split: the share of sentences with exactly the float32 tokens, and the most BLEU lost.
QUANTIZED_MARGINS = {"float16": (0.95, 1.0), "int8": (0.85, 3.0)}


@pytest.mark.parametrize("quantization", sorted(QUANTIZED_MARGINS))
@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_quantized_variants_translate_like_float32(exported_run, method, quantization):
    run, pairs = exported_run
    source = SubwordTokenizer.load(os.path.join(run, "vocab", "source"))
    target = SubwordTokenizer.load(os.path.join(run, "vocab", "target"))
    ids = padded_ids(source, [s for s, _ in pairs], MAX_SOURCE)
    references = [t for _, t in pairs]
    reference_tokens = tflite_tokens(os.path.join(run, "tflite", f"{method}.tflite"), ids)
    tokens = tflite_tokens(os.path.join(run, "tflite", f"{method}_{quantization}.tflite"), ids)
    agreement = np.mean([a == b for a, b in zip(tokens, reference_tokens, strict=True)])

    def bleu(token_lists):
        texts = [
            target.detokenize(tf.ragged.constant([t], tf.int32)).numpy()[0] for t in token_lists
        ]
        return corpus_scores([t.decode() for t in texts], references)["bleu"]

    float_bleu, quantized_bleu = bleu(reference_tokens), bleu(tokens)
    min_agreement, max_drop = QUANTIZED_MARGINS[quantization]
    print(
        f"{method} {quantization}: agreement {agreement:.3f}, BLEU {quantized_bleu:.2f} "
        f"vs float32 {float_bleu:.2f}"
    )
    assert float_bleu > 20  # a model that translates, so that the comparison means something
    assert agreement >= min_agreement
    assert quantized_bleu >= float_bleu - max_drop


def test_quantized_variants_are_smaller(exported_run):
    run, _ = exported_run
    size = {name: os.path.getsize(os.path.join(run, "tflite", name)) for name in VARIANTS}
    for method in ("greedy", "beam"):
        assert size[f"{method}_float16.tflite"] < size[f"{method}.tflite"]
        assert size[f"{method}_int8.tflite"] < size[f"{method}.tflite"]


def test_a_failed_write_leaves_the_previous_file_and_no_partial_one(tmp_path):
    from keras_seq.export.tflite import write_atomically

    path = tmp_path / "beam.tflite"
    write_atomically(str(path), b"first")
    with pytest.raises(TypeError):
        write_atomically(str(path), object())  # fails while writing
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["beam.tflite"]
    assert oct(path.stat().st_mode & 0o077) == oct(0o644 & 0o077 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture(scope="module")
def translator(exported_run):
    from keras_seq.tasks import Translator

    return Translator.from_preset(exported_run[0]).module()


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_attention_output_equals_the_saved_model(exported_run, translator, method):
    run, pairs = exported_run
    content = convert(translator, translator.ids_strategies()[method], with_attention=True)
    assert "WHILE" in check_builtins_only(content)
    runner = Interpreter(model_content=content).get_signature_runner()
    loaded = tf.saved_model.load(os.path.join(run, "saved_model"))  # exported with attention
    source = SubwordTokenizer.load(os.path.join(run, "vocab", "source"))
    ids = padded_ids(source, [s for s, _ in pairs[:12]], MAX_SOURCE)
    expected = loaded.signatures[method](source_ids=tf.constant(ids))
    for row in range(len(ids)):
        out = runner(source_ids=ids[row : row + 1])
        np.testing.assert_array_equal(out["ids"], expected["ids"][row : row + 1])
        attention = out["attention"]
        assert attention.shape == (1, out["ids"].shape[1], 24, MAX_SOURCE)
        np.testing.assert_allclose(attention, expected["attention"][row : row + 1], atol=1e-5)
        # Each step's weights are a distribution over the sentence's own tokens.
        length, tokens = out["lengths"][0, 0], np.count_nonzero(ids[row])
        np.testing.assert_allclose(attention[0, 0, :length].sum(-1), 1.0, rtol=1e-5)
        assert np.all(attention[0, 0, :length, tokens:] == 0)
