"""The translation task a user holds: presets, text in and out, scores, fit, export."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras_seq as ks
from keras_seq.tasks import (
    NotARunFolder,
    RunFolder,
    Seq2SeqPreprocessor,
    Translator,
    TruncationWarning,
)
from tests.shared import copy_of

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_translator")

SENTENCES = ["in 3 days", "tuesday, may 23, 1978", "thirty four", "march 3, 2025"]


@pytest.fixture(scope="module")
def translator(exported_run, tmp_path_factory):
    """The exported run, moved elsewhere, loaded as a user does."""
    moved = copy_of(exported_run[0], tmp_path_factory.mktemp("moved"))
    return Translator.from_preset(moved)


def test_a_moved_preset_translates_as_its_saved_model(translator, exported_run):
    loaded = tf.saved_model.load(os.path.join(exported_run[0], "saved_model"))
    served = loaded.signatures["serving_default"](text=tf.constant(SENTENCES))
    expected = [text.decode() for text in served["translation"].numpy()]
    assert translator.translate(SENTENCES) == expected  # the preset's beam search
    assert isinstance(translator.strategy, ks.decoding.BeamSearch)
    assert (translator.strategy.beam_size, translator.strategy.length_penalty) == (3, 0.6)
    assert translator.translate(SENTENCES[0]) == expected[0]  # a string gives a string
    assert translator.translate([]) == []
    greedy = loaded.signatures["greedy"](
        source_ids=tf.ragged.constant(
            translator.preprocessor.source_tokenizer.tokenize(SENTENCES).to_list()
        ).to_tensor()
    )
    ids = greedy["ids"][:, 0]
    expected_greedy = translator.preprocessor.target_tokenizer.detokenize(ids).numpy()
    assert translator.translate(SENTENCES, "greedy") == [t.decode() for t in expected_greedy]


def test_translation_and_its_attention_map(translator):
    translations, maps = translator.translate(SENTENCES, "greedy", return_attention=True)
    assert translations == translator.translate(SENTENCES, "greedy")
    for text, (source_pieces, target_pieces, weights) in zip(SENTENCES, maps, strict=True):
        source_ids = translator.preprocessor.source_tokenizer.tokenize([text]).to_list()[0]
        assert len(source_pieces) == len(source_ids)
        assert weights.shape == (len(target_pieces), len(source_pieces))
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    one, (pieces_in, _, _) = translator.translate(SENTENCES[1], return_attention=True)
    assert isinstance(one, str) and pieces_in[0].startswith("▁")


def test_score_is_sacrebleu_of_the_translations(translator, exported_run):
    pairs = exported_run[1][:20]
    scores = translator.score(pairs)
    expected = ks.evaluation.corpus_scores(
        translator.translate([s for s, _ in pairs]), [t for _, t in pairs]
    )
    assert scores == expected
    assert scores["bleu"] > 50  # the fixture's model translates the generated data well
    with pytest.raises(ValueError, match="item 1 is 'oops'"):
        translator.score([pairs[0], "oops"])


def test_bad_text_is_refused_with_what_was_received(translator):
    with pytest.raises(ValueError, match="item 1 is 3"):
        translator.translate(["fine", 3])
    with pytest.raises(ValueError, match="decoding strategy .nucleus."):
        translator.translate("fine", strategy="nucleus")
    with pytest.raises(ValueError, match="a string or a list of strings. Received: 42"):
        translator.translate(42)
    with pytest.raises(ValueError, match=r"decode bytes first.*Received: b'in 3 days'"):
        translator.translate(b"in 3 days")


def test_blank_lines_come_back_blank_not_invented(translator):
    assert translator.translate("") == ""
    lines = ["in 3 days", "", "   ", "thirty four"]
    out = translator.translate(lines)
    assert out[1:3] == ["", ""] and out[0] == translator.translate(lines[0])
    assert out[3] == translator.translate(lines[3])
    translations, maps = translator.translate(["", "in 3 days"], "greedy", return_attention=True)
    assert translations[0] == "" and maps[0][2].shape == (0, 0)
    assert maps[1][2].shape[1] == len(maps[1][0])


def test_text_past_the_length_limit_is_translated_up_to_it_with_a_warning(translator):
    limit = translator.preprocessor.max_source_length
    long_text = " ".join(["thirty four"] * limit)
    with pytest.warns(TruncationWarning, match=f"1 of 2 texts .* limit of {limit} source tokens"):
        out = translator.translate(["in 3 days", long_text], "greedy")
    assert out[0] == translator.translate("in 3 days", "greedy")


def test_a_damaged_preset_names_the_damaged_file(exported_run, tmp_path):
    run = copy_of(exported_run[0], tmp_path, "damaged")
    with open(run / "model.keras", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(NotARunFolder, match=r"model.keras is damaged .*not a .keras \(zip\) file"):
        Translator.from_preset(run)
    (run / "config.json").write_text('{"max_source_length": 24,')
    with pytest.raises(ValueError, match=r"config.json is damaged: it is not valid JSON"):
        Translator.from_preset(run)


def test_tune_decoding_keeps_the_best_beam_on_the_given_pairs(translator, exported_run):
    pairs = exported_run[1][:12]
    seen = []
    before = translator.strategy
    try:
        results = translator.tune_decoding(pairs, (1, 2), (0.0, 1.0), callback=seen.append)
        assert [(r["beam_size"], r["length_penalty"]) for r in results] == [
            (1, 0.0),
            (1, 1.0),
            (2, 0.0),
            (2, 1.0),
        ]
        assert seen == results
        best = max(results, key=lambda r: r["bleu"])
        assert translator.strategy.beam_size == best["beam_size"]
        assert translator.strategy.length_penalty == best["length_penalty"]
        # Single values (the beam traced above: no new tracing).
        assert translator.tune_decoding(pairs, 2, 1.0) == [results[-1]]
    finally:
        translator.strategy = before


def test_save_to_preset_round_trips_and_keeps_other_settings(translator, tmp_path):
    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "config.json").write_text(json.dumps({"dataset": "mine", "beam_size": 8}))
    translator.save_to_preset(preset)
    config = json.loads((preset / "config.json").read_text())
    assert config["dataset"] == "mine" and config["beam_size"] == 3  # kept, and updated
    assert not [name for name in os.listdir(preset) if name.startswith(".")]  # no temporaries
    again = Translator.from_preset(preset, strategy="greedy")
    assert isinstance(again.strategy, ks.decoding.GreedySearch)
    assert again.translate(SENTENCES) == translator.translate(SENTENCES, "greedy")
    assert Translator.from_preset(preset).strategy.get_config() == (
        translator.strategy.get_config()
    )


def test_from_preset_names_what_is_missing(tmp_path):
    with pytest.raises(NotARunFolder, match="is not a folder"):
        Translator.from_preset(tmp_path / "nothing")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(NotARunFolder, match="model.keras, vocab/source.model"):
        Translator.from_preset(tmp_path)


def test_a_tagger_run_is_not_a_translator(tmp_path):
    run = tmp_path / "tag"
    (run / "vocab").mkdir(parents=True)
    for name in ("config.json", "model.keras", "vocab/words.txt", "vocab/tags.txt"):
        (run / name).write_text("")
    with pytest.raises(NotARunFolder, match=r"is a Tagger run .*Tagger.from_preset"):
        Translator.from_preset(run)


def test_export_writes_a_servable_saved_model_and_builtins_only_tflite(translator, tmp_path):
    written = translator.export(tmp_path / "deploy", quantizations=["float32"])
    assert sorted(written["tflite"]) == ["beam.tflite", "greedy.tflite"]
    for path in written["tflite"].values():
        with open(path, "rb") as f:
            assert "WHILE" in ks.export.check_builtins_only(f.read())
    loaded = tf.saved_model.load(written["saved_model"])
    out = loaded.signatures["serving_default"](text=tf.constant(SENTENCES))
    assert [t.decode() for t in out["translation"].numpy()] == translator.translate(SENTENCES)


def test_a_mismatched_preprocessor_is_refused(translator):
    preprocessor = translator.preprocessor
    small = Seq2SeqPreprocessor(preprocessor.source_tokenizer, preprocessor.source_tokenizer, 8, 8)
    backbone = ks.models.build_seq2seq(preprocessor.source_tokenizer.vocab_size, 77, 4, 4)
    with pytest.raises(ValueError, match=r"vocabularies .* must be the same"):
        Translator(backbone, small)
    with pytest.raises(ValueError, match="max_source_length"):
        Seq2SeqPreprocessor(preprocessor.source_tokenizer, preprocessor.target_tokenizer, 0, 8)


@pytest.mark.slow
def test_a_run_folder_trains_resumes_its_vocabularies_and_averages_its_last_epochs(tmp_path):
    corpus = ks.data.load_corpus("generated", num_pairs=1500, seed=3)
    run = tmp_path / "run"
    preprocessor = Seq2SeqPreprocessor.for_run(run, corpus.train, 200, joint=True)
    assert preprocessor.source_tokenizer is preprocessor.target_tokenizer
    tokenizers = (preprocessor.source_tokenizer, preprocessor.target_tokenizer)
    limits = Seq2SeqPreprocessor.length_limits(corpus.train, *tokenizers)
    assert preprocessor.get_config() == limits  # from the data, none given
    for name in ("source.model", "target.model", "shortlist.npz"):
        assert (run / "vocab" / name).is_file(), name
    # A resumed run reloads its vocabularies (not learned again from other pairs); a limit
    # given is kept.
    resumed = Seq2SeqPreprocessor.for_run(run, corpus.train[:50], 999, max_target_length=7)
    assert resumed.source_tokenizer.vocab_size == preprocessor.source_tokenizer.vocab_size
    assert resumed.max_target_length == 7
    assert (
        resumed.max_source_length
        == Seq2SeqPreprocessor.length_limits(corpus.train[:50], *tokenizers)["max_source_length"]
    )

    data = preprocessor.training_data(
        corpus, batch_size=64, seed=1, curriculum_epochs=2, subword_dropout=0.1
    )
    assert [type(c).__name__ for c in data.callbacks] == ["EpochShuffle", "LengthCurriculum"]
    assert 0 < data.train_report.padding_fraction < 1
    translator = Translator.build(preprocessor, "greedy", embedding_dim=16, units=16)
    translator.compile(learning_rate=1e-2)
    callbacks = translator.training_callbacks(
        run, corpus.valid, monitor="val_bleu", val_bleu_pairs=20, keep_epochs=2, time_budget=60
    )
    history = translator.fit(
        data.train, data.valid, epochs=2, callbacks=[*callbacks, *data.callbacks], verbose=0
    )
    losses = history.history["loss"]
    assert losses[1] < losses[0] and len(history.history["val_bleu"]) == 2
    # Both epochs fit in the hour; the minutes used so far are in the history.
    assert 0 < history.history["train_minutes"][0] < history.history["train_minutes"][1] < 60
    assert (run / "checkpoints" / "best.weights.h5").is_file()
    assert any((run / "logs" / "attention").iterdir())
    average = translator.average_epochs(run, corpus.valid[:30])
    assert average["epochs"] == [1, 2] and list(average["tails"]) == [1]  # the one tail: 1-2
    assert average["kept"] == (
        "average" if average["val_bleu_average"] > average["val_bleu_best_epoch"] else "best"
    )
    assert not (run / "checkpoints" / "epochs").exists()  # the space given back
    assert translator.average_epochs(run, corpus.valid[:30]) is None
    # The run folder records the end of training (what a resumed run reuses) and the test
    # evaluation.
    folder = RunFolder(run)
    assert folder.training_summary() is None
    folder.save_training(translator.backbone, {"epochs_run_this_session": 2})
    assert folder.training_summary() == {"epochs_run_this_session": 2}
    metrics, scores = folder.evaluate(translator, data)
    assert metrics["bleu"] == metrics["bleu_greedy"] == scores["greedy"]["bleu"]  # greedy
    assert metrics["test_pairs"] == len(folder.read_translations()[0]) == len(corpus.test)
    assert sorted(os.listdir(run / "attention")) == ["0.png", "1.png", "2.png", "3.png"]
    pairs = corpus.train
    with pytest.raises(ValueError, match="item 0 is 'not a pair'"):
        translator.fit(["not a pair"])
    with pytest.raises(ValueError, match="Received: subword_dropout=0.1 with <"):
        translator.fit(data.train, subword_dropout=0.1)  # already segmented
    history = translator.fit(pairs[:256], subword_dropout=0.1, verbose=0)  # text pairs: yes
    assert np.isfinite(history.history["loss"][0])

    # Averaging with random weights is worse: the current weights stay.
    trained = tmp_path / "trained.weights.h5"
    translator.backbone.save_weights(trained)
    before = [w.copy() for w in translator.backbone.get_weights()]
    noise = tmp_path / "noise.weights.h5"
    translator.backbone.set_weights([np.random.normal(size=w.shape) * 5 for w in before])
    translator.backbone.save_weights(noise)
    translator.backbone.set_weights(before)
    result = translator.average_checkpoints([str(trained), str(noise)], pairs[:30])
    if result["kept"] == "best":
        for now, then in zip(translator.backbone.get_weights(), before, strict=True):
            np.testing.assert_array_equal(now, then)
    assert result["kept"] == (
        "average" if result["val_bleu_average"] > result["val_bleu_best_epoch"] else "best"
    )


@pytest.mark.slow
def test_a_preset_loads_from_any_directory_in_a_fresh_process(exported_run, tmp_path):
    run = copy_of(exported_run[0], tmp_path, "elsewhere")
    code = (
        "import keras_seq as ks\n"
        f"t = ks.Translator.from_preset({str(run)!r})\n"
        "print(repr(t.translate('in 3 days')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    expected = Translator.from_preset(run).translate("in 3 days")
    assert out.stdout.strip().splitlines()[-1] == repr(expected)
    shutil.rmtree(run)


def test_a_multihead_translator_gives_each_heads_map_and_plots_them(translator, tmp_path):
    preprocessor = translator.preprocessor  # its tokenizers and limits; a new backbone
    multihead = Translator.build(
        preprocessor, "greedy", embedding_dim=8, units=8, attention="multihead", num_heads=2
    )
    means = multihead.translate(SENTENCES[:2], return_attention=True)[1]
    translations, maps = multihead.translate(SENTENCES[:2], return_attention="heads")
    assert translations == multihead.translate(SENTENCES[:2])
    for (source_pieces, target_pieces, heads), (_, _, mean) in zip(maps, means, strict=True):
        assert heads.shape == (len(target_pieces), 2, len(source_pieces))
        np.testing.assert_allclose(heads.mean(axis=1), mean, atol=1e-6)
        np.testing.assert_allclose(heads.sum(axis=-1), 1.0, atol=1e-5)
    ks.plots.plot_attention(*maps[0], tmp_path / "heads.png", title=SENTENCES[0])
    assert (tmp_path / "heads.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="attention='luong_general'"):
        translator.translate(SENTENCES[0], return_attention="heads")
    with pytest.raises(ValueError, match="return_attention='head'"):
        multihead.translate(SENTENCES[0], return_attention="head")


def test_four_threads_translating_at_once_get_what_one_thread_gets(translator):
    from concurrent.futures import ThreadPoolExecutor

    batches = [SENTENCES[i:] + SENTENCES[:i] for i in range(4)]
    expected = [translator.translate(batch, "greedy") for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda batch: translator.translate(batch, "greedy"), batches))
    assert got == expected
