"""recipes/translate.py end to end, as a user runs it."""

import csv
import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

import keras_seq  # noqa: F401  (registers the layers for load_model)
from keras_seq.presets import LONG_RUN_DROPOUT, NARROW, PRESETS
from tests.integration import recipe_runner
from tests.integration.conftest import QUICK_RUN as SMALL
from tests.shared import copy_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What a run folder holds after its evaluation; removing them makes a copy of a finished
# run one that stopped right after training.
EVALUATED = ("metrics.json", "translations.tsv", "attention", "saved_model", "tflite", "report")


def run_recipe(args, cwd, timeout):
    """Runs recipes/translate.py as a user would, in a child process."""
    return recipe_runner.run_recipe("translate", args, cwd, timeout)


def load_recipe():
    return recipe_runner.load_recipe("translate")


def stopped_after_training(quick_run, tmp_path):
    """A copy of the quick run as it was when its training had just finished."""
    run = copy_of(quick_run[0], tmp_path)
    for name in EVALUATED:
        path = run / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return run


@pytest.mark.slow
def test_quick_run_writes_every_file_of_the_run_folder(quick_run):
    run, output = quick_run
    completed = subprocess.CompletedProcess([], 0, output["stdout"], output["stderr"])
    assert "BLEU" in completed.stdout and str(run) in completed.stdout
    for name in ("config.json", "metrics.json", "history.csv", "model.keras", "translations.tsv"):
        assert (run / name).is_file(), name
    for name in ("source.model", "source.vocab", "target.model", "target.vocab"):
        assert (run / "vocab" / name).is_file(), name
    shortlist = keras_seq.decoding.LexicalShortlist.load(run / "vocab" / "shortlist.npz")
    assert (shortlist.table >= 0).any() and len(shortlist.frequent_ids) > 0
    assert (run / "checkpoints" / "best.weights.h5").is_file()
    assert (run / "report" / "index.html").is_file()  # the attention gallery
    assert any((run / "logs" / "attention").iterdir())  # heat maps for TensorBoard
    assert (run / "saved_model" / "saved_model.pb").is_file()
    assert (run / "saved_model" / "assets" / "target.model").is_file()
    assert sorted(os.listdir(run / "tflite")) == [  # the --quantizations asked for
        f"{method}{suffix}.tflite" for method in ("beam", "greedy") for suffix in ("", "_int8")
    ]
    assert len(list((run / "attention").glob("*.png"))) == 4
    assert "retracing" not in completed.stdout + completed.stderr

    metrics = json.loads((run / "metrics.json").read_text())
    for key in (
        "bleu",
        "chrf",
        "test_loss",
        "perplexity",
        "exact_match",
        "train_seconds",
        "train_step_seconds",
        "target_tokens_per_second",
        "bleu_greedy",
        "padding_fraction",
    ):
        assert isinstance(metrics[key], float), key
    assert 0 <= metrics["bleu"] <= 100 and metrics["perplexity"] >= 1
    assert 0 < metrics["train_step_seconds"] < metrics["train_seconds"]
    config = json.loads((run / "config.json").read_text())
    assert config["quick"] is True and config["num_pairs"] == 1500

    with open(run / "translations.tsv", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert rows[0] == ["source", "reference", "hypothesis"]
    assert len(rows) - 1 == metrics["test_pairs"]
    with open(run / "history.csv") as f:
        history = list(csv.DictReader(f))
    assert len(history) == 2 and "sampling_probability" in history[0]
    assert "val_loss" in history[0]

    model = keras.models.load_model(run / "model.keras")
    assert {"encoder", "decoder"} <= {layer.name for layer in model.layers}

    assert "preset tiny (the built-in data's)" in completed.stdout
    assert (run / "curves.png").is_file()
    assert "val_bleu" in history[0]

    # The run folder is the translator's preset.
    translator = keras_seq.Translator.from_preset(run)
    assert translator.strategy.get_config() == {"beam_size": 5, "length_penalty": 0.6}
    assert translator.translate(rows[1][0]) == rows[1][2]  # translations.tsv is beam search


@pytest.mark.slow
def test_evaluate_scores_the_model_and_every_export_and_a_finished_run_stays(
    quick_run, tmp_path, capsys
):
    recipe = load_recipe()
    run = copy_of(quick_run[0], tmp_path)
    with open(run / "translations.tsv", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    test_file = tmp_path / "mine.tsv"
    test_file.write_text("".join(f"{r[0]}\t{r[1]}\n" for r in rows[1:21]), encoding="utf-8")
    assert recipe.main(["--evaluate", str(run), "--test-data", str(test_file)]) == 0
    results = json.loads((run / "evaluations" / "mine.tsv.json").read_text())["results"]
    assert sorted(results) == sorted(
        [f"keras {m}" for m in ("greedy", "beam")]
        + [f"saved_model {m}" for m in ("greedy", "beam")]
        + [f"tflite {m}" for m in ("greedy", "beam", "greedy_int8", "beam_int8")]
    )
    for method in ("greedy", "beam"):  # float32 exports translate as the model does
        assert results[f"tflite {method}"]["bleu"] == results[f"saved_model {method}"]["bleu"]
        assert results[f"saved_model {method}"]["bleu"] == results[f"keras {method}"]["bleu"]
    assert results["tflite beam_int8"]["bytes"] < results["tflite beam"]["bytes"]

    config_text = (run / "config.json").read_text()
    capsys.readouterr()
    assert recipe.main([*SMALL, "--beam-size", "2", "--output-dir", str(run)]) == 0
    assert "finished already" in capsys.readouterr().out
    assert (run / "config.json").read_text() == config_text  # still describes the run


class Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            raise KeyboardInterrupt("simulated interruption")


@pytest.mark.slow
def test_interrupted_run_resumes_from_its_last_epoch(tmp_path, monkeypatch):
    recipe = load_recipe()
    from keras_seq.tasks import translator as task_module

    original = task_module.standard_callbacks
    run = str(tmp_path / "run")
    # The quick run's settings on fewer pairs, a third epoch, its epochs averaged.
    args = [*SMALL, "--num-pairs", "600", "--epochs", "3", "--average-checkpoints", "3"]
    args += ["--output-dir", run, "--patience", "10", "--no-export", "--no-report"]
    monkeypatch.setattr(
        task_module,
        "standard_callbacks",
        lambda *a, **k: [*original(*a, **k), Interrupt(after_epoch=1)],
    )
    with pytest.raises(KeyboardInterrupt):
        recipe.main(args)
    assert not os.path.exists(os.path.join(run, "metrics.json"))
    monkeypatch.setattr(task_module, "standard_callbacks", original)
    assert recipe.main(args) == 0
    with open(os.path.join(run, "history.csv")) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1, 2]  # two epochs before the interruption, one after
    metrics = json.loads(open(os.path.join(run, "metrics.json")).read())
    assert metrics["epochs_run_this_session"] == 1
    average = metrics["checkpoint_average"]
    assert sorted(average["tails"]) == ["1", "2"]  # epochs 1-3 and 2-3 (JSON keys)
    assert average["val_bleu_average"] == max(average["tails"].values())
    assert average["epochs"][-1] == 3
    better = average["val_bleu_average"] > average["val_bleu_best_epoch"]
    assert average["kept"] == ("average" if better else "best")
    assert not os.path.exists(os.path.join(run, "checkpoints", "epochs"))  # space given back


@pytest.mark.slow
def test_a_failed_export_keeps_the_metrics_and_the_same_command_finishes_it(
    quick_run, tmp_path, monkeypatch, capsys
):
    recipe = load_recipe()
    from keras_seq.export import tflite

    convert = tflite.convert

    def failing(translator, strategy, quantization="float32"):
        if quantization == "int8":
            raise RuntimeError("simulated converter crash")
        return convert(translator, strategy, quantization)

    run = stopped_after_training(quick_run, tmp_path)
    args = [*SMALL, "--output-dir", str(run)]
    monkeypatch.setattr(tflite, "convert", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        recipe.main(args)
    assert (run / "metrics.json").is_file()  # written when evaluation ended
    assert not (run / "tflite").exists()  # and no half-written export
    assert not [name for name in os.listdir(run) if name.startswith((".tflite-", "."))]
    assert not (run / "report").exists()  # written after the export
    monkeypatch.setattr(tflite, "convert", convert)
    assert recipe.main(args) == 0
    out = capsys.readouterr().out
    assert "exporting it" in out
    assert (run / "report" / "index.html").is_file() and "monotonic" in out
    assert sorted(os.listdir(run / "tflite")) == sorted(
        f"{method}{suffix}.tflite" for method in ("greedy", "beam") for suffix in ("", "_int8")
    )


def test_resuming_with_other_model_settings_is_refused(tmp_path):
    recipe = load_recipe()
    run = tmp_path / "run"
    run.mkdir()
    config, _ = recipe.parse_args(["--quick"])
    (run / "config.json").write_text(json.dumps({**config, "units": 999}))
    with pytest.raises(keras_seq.cli.SettingsChanged, match="units"):
        recipe.prepare(config, str(run))


@pytest.mark.slow
def test_stop_after_training_does_not_train_again(quick_run, tmp_path, capsys):
    recipe = load_recipe()
    run = stopped_after_training(quick_run, tmp_path)
    assert recipe.main([*SMALL, "--output-dir", str(run), "--no-export", "--no-report"]) == 0
    assert "Training had finished" in capsys.readouterr().out
    with open(run / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 2  # the two epochs, not retrained
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run_this_session"] == 2 and metrics["train_seconds"] > 0
    assert (
        metrics["bleu"] == json.loads((quick_run[0] / "metrics.json").read_text())["bleu"]
    )  # the same model, evaluated again


BAD_FLAGS = [
    (["--epochs", "0"], "argument --epochs: must be an integer >= 1, got 0"),
    (["--strategy", "mirror"], "argument --strategy: invalid choice: 'mirror'"),
    (["--beam-size", "0"], "argument --beam-size: must be an integer >= 1, got 0"),
    (["--units", "-3"], "argument --units: must be an integer >= 1, got -3"),
    (["--batch-size", "many"], "argument --batch-size: expected an integer, got 'many'"),
    (["--dropout", "1.5"], "argument --dropout: must be a number in [0, 1), got 1.5"),
    (["--learning-rate", "0"], "argument --learning-rate: must be a number in (0, inf)"),
    (["--attention", "luong"], "argument --attention: invalid choice: 'luong'"),
    (["--dataset", "csv:x"], "argument --dataset: Unknown dataset spec"),
    (["--dataset", "tsv:/no/such/file.tsv"], "No such data file: '/no/such/file.tsv'"),
    (["--dataset", "tfds:does_not_exist"], "no dataset named 'does_not_exist'"),
    (["--valid-data", "valid.tsv"], "go with a 'tsv:PATH' dataset"),
    (["--architecture", "transformer", "--sampling-schedule", "linear"], "not the transformer's"),
    (["--architecture", "transformer", "--tie-embeddings"], "tie-embeddings: the recurrent"),
    (["--architecture", "transformer", "--word-dropout", "0.1"], "word-dropout: the recurrent"),
    (["--word-dropout", "1"], "argument --word-dropout: must be a number in [0, 1), got 1"),
    (["--subword-dropout", "1"], "argument --subword-dropout: must be a number in [0, 1), got 1"),
    (["--num-heads", "0"], "argument --num-heads: must be an integer >= 1, got 0"),
    (["--clipnorm", "2", "--clipvalue", "1"], "--clipvalue: clip one way only (not with --clip"),
    (["--clipvalue", "1", "--global-clipnorm", "5"], "--global-clipnorm: clip one way only"),
]


def test_a_transformer_run_builds_keras_hubs_layers_from_the_run_settings():
    recipe = load_recipe()
    config, _ = recipe.parse_args(["--quick", "--architecture", "transformer", "--num-heads", "2"])
    assert config["report"] is False  # the report page is about attention maps
    config.update(encoder_layers=2, decoder_layers=1, dropout=0.1)
    assert recipe.backbone_options(config) == {
        "hidden_dim": 32, "num_heads": 2, "num_layers": 2, "dropout": 0.1
    }  # fmt: skip
    config, _ = recipe.parse_args(["--quick", "--attention", "multihead", "--attend-before-cell"])
    options = recipe.backbone_options(config)
    assert options["attention"] == "multihead" and options["attend_before_cell"] is True


@pytest.mark.parametrize(
    "args,message", BAD_FLAGS, ids=lambda x: " ".join(x) if isinstance(x, list) else ""
)
def test_bad_flags_fail_before_any_work(tmp_path, capsys, args, message):
    recipe = load_recipe()
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        recipe.main([*args, "--output-dir", str(run)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: " in err and message in err, err
    assert not run.exists()


@pytest.mark.slow
def test_bad_flag_from_the_shell_is_one_line_without_traceback(tmp_path):
    completed = run_recipe(["--quick", "--beam-size", "0"], tmp_path, timeout=120)
    assert completed.returncode == 2
    assert "error: argument --beam-size" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "runs").exists()


def test_a_data_problem_found_later_is_one_line_and_loses_nothing(tmp_path, capsys):
    recipe = load_recipe()
    data = tmp_path / "tiny.tsv"
    data.write_text("one\teins\ntwo\tzwei\n")  # too few pairs to split
    run = tmp_path / "run"
    args = ["--quick", "--dataset", f"tsv:{data}", "--output-dir", str(run)]
    assert recipe.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "too few" in err and err.count("\n") == 1
    assert not run.exists()  # nothing was started, so nothing is half-written
    # A run folder that exists keeps what it holds.
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    assert recipe.main(args) == 2
    assert [p.name for p in run.iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_export_command_line_refuses_a_folder_that_is_not_a_run(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "export", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert completed.returncode == 2
    assert "error: " in completed.stderr and "config.json, model.keras" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_beam_settings_left_to_the_data_are_chosen_on_validation_pairs(tmp_path, capsys):
    recipe = load_recipe()
    config, _ = recipe.parse_args(["--quick", "--num-pairs", "400", "--val-bleu-pairs", "20"])
    config.update(beam_size=None, length_penalty=3.0 / 4)  # the beam size is left to the data
    corpus, run, _ = recipe.prepare(config, str(tmp_path / "run"))
    preprocessor = recipe.preprocessor_of(config, corpus, run)
    translator = keras_seq.Translator.build(preprocessor, embedding_dim=8, units=8)
    grid = recipe.choose_beam(config, run, translator, corpus)
    assert [(r["beam_size"], r["length_penalty"]) for r in grid] == [
        (3, 0.75),
        (5, 0.75),
        (8, 0.75),
    ]
    best = max(grid, key=lambda r: r["bleu"])
    assert config["beam_size"] == best["beam_size"]
    assert run.read_config()["beam_size"] == best["beam_size"]  # the export will use it
    assert "validation BLEU" in capsys.readouterr().out


def test_evaluate_needs_a_test_file_and_a_finished_run(tmp_path):
    recipe = load_recipe()
    with pytest.raises(SystemExit):
        recipe.parse_args(["--evaluate", str(tmp_path)])
    test_file = tmp_path / "t.tsv"
    test_file.write_text("a\tb\n")
    assert (
        recipe.main(["--evaluate", str(tmp_path / "nothing"), "--test-data", str(test_file)]) == 2
    )


def test_joint_vocab_is_one_subword_model_for_both_languages(tmp_path):
    recipe = load_recipe()
    config, _ = recipe.parse_args(["--quick", "--num-pairs", "400", "--joint-vocab"])
    corpus, run, _ = recipe.prepare(config, str(tmp_path / "run"))
    target = recipe.preprocessor_of(config, corpus, run).target_tokenizer
    files = [open(run.vocab_prefix(side) + ".model", "rb").read() for side in ("source", "target")]
    assert files[0] == files[1]
    # It knows German as well as a vocabulary learned from German alone does, and better
    # than one learned from English.
    german = [t for _, t in corpus.train]
    english_only = keras_seq.data.SubwordTokenizer.train([s for s, _ in corpus.train], 300)
    german_only = keras_seq.data.SubwordTokenizer.train(german, 300)

    def pieces(tokenizer):
        return sum(len(row) for row in tokenizer.tokenize(german).to_list())

    assert pieces(target) < pieces(english_only)
    assert pieces(target) < 1.5 * pieces(german_only)
    reloaded = recipe.preprocessor_of(config, corpus, run).target_tokenizer
    assert reloaded.model_proto == target.model_proto


def small_corpus(tmp_path):
    """A TSV file of 3,000 distinct words a side: the rule's `small` preset."""
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"w{i} x{i // 7}\tv{i} y{i % 11}\n" for i in range(3000)))
    return pairs


def test_vocabulary_sharing_tying_and_precision_follow_the_preset_unless_a_flag_says(tmp_path):
    recipe = load_recipe()
    pairs = small_corpus(tmp_path)
    for flags, joint, tied, precision in (
        ([], True, True, "auto"),
        (["--no-joint-vocab", "--no-tie-embeddings", "--precision", "float32"], False, False,
         "float32"),
    ):  # fmt: skip
        config, _ = recipe.parse_args(["--dataset", f"tsv:{pairs}", *flags])
        recipe.prepare(config, str(tmp_path / f"run{len(flags)}"))
        assert (config["preset"], config["joint_vocab"]) == ("small", joint)
        assert (config["tie_embeddings"], config["precision"]) == (tied, precision)
        assert recipe.backbone_options(config)["tie_embeddings"] is tied
    config, _ = recipe.parse_args(["--quick"])  # the built-in data: tiny, one per language
    recipe.prepare(config, str(tmp_path / "quick"))
    assert (config["joint_vocab"], config["tie_embeddings"], config["precision"]) == (
        False,
        False,
        "float32",
    )


def test_a_run_without_a_time_budget_trains_its_planned_epochs_with_more_dropout(tmp_path):
    recipe = load_recipe()
    pairs = small_corpus(tmp_path)
    for flags, dropout in (
        (["--time-budget", "0"], LONG_RUN_DROPOUT["small"]),  # all 20 epochs
        (["--time-budget", "0", "--epochs", "8"], PRESETS["small"]["dropout"]),
        (["--time-budget", "0", "--dropout", "0.1"], 0.1),  # a flag wins
    ):
        config, _ = recipe.parse_args(["--dataset", f"tsv:{pairs}", *flags])
        _, run, _ = recipe.prepare(config, str(tmp_path / "_".join(flags)))
        assert config["dropout"] == dropout
        assert keras_seq.files.read_json(run[run.CONFIG])["dropout"] == dropout


def test_a_resumed_run_keeps_what_the_data_chose_for_it_when_it_started(tmp_path):
    recipe = load_recipe()
    run = tmp_path / "run"
    run.mkdir()
    config, output_dir = recipe.parse_args(["--quick", "--output-dir", str(run)])
    started = dict(config)
    recipe.prepare(started, str(tmp_path / "today"))
    # Chosen by an older rule: other vocabulary settings and precision than today's tiny.
    earlier = {**started, "joint_vocab": True, "precision": "mixed_bfloat16"}
    (run / "config.json").write_text(json.dumps(earlier))
    recipe.prepare(config, output_dir)  # no SettingsChanged
    assert (config["joint_vocab"], config["precision"]) == (True, "mixed_bfloat16")
    config, output_dir = recipe.parse_args(
        ["--quick", "--no-joint-vocab", "--output-dir", str(run)]
    )
    with pytest.raises(keras_seq.cli.SettingsChanged, match="joint_vocab"):
        recipe.prepare(config, output_dir)  # a flag still wins, and is refused


def test_a_run_folder_from_before_a_setting_existed_resumes_with_its_value_then(tmp_path):
    recipe = load_recipe()
    run = tmp_path / "run"
    run.mkdir()
    args = ["--dataset", f"tsv:{small_corpus(tmp_path)}", "--output-dir", str(run)]
    config, output_dir = recipe.parse_args(args)
    today = dict(config)
    recipe.prepare(today, str(tmp_path / "today"))
    assert today["joint_vocab"] and today["tie_embeddings"] == PRESETS["small"]["tie_embeddings"]
    assert today["ema_momentum"] == PRESETS["small"]["ema_momentum"] > 0
    older = {k: v for k, v in today.items() if k not in recipe.LEGACY}
    (run / "config.json").write_text(json.dumps(older))
    recipe.prepare(config, output_dir)  # no SettingsChanged
    assert {k: config[k] for k in recipe.LEGACY} == {
        "joint_vocab": False, "tie_embeddings": False, "word_dropout": 0.0, "subword_dropout": 0.0,
        "ema_momentum": 0.0,
    }  # fmt: skip


@pytest.mark.slow
def test_a_time_budget_too_short_for_the_rules_model_gets_the_narrow_one(tmp_path, capsys):
    recipe = load_recipe()
    pairs = small_corpus(tmp_path)
    rules = {k: PRESETS["small"][k] for k in NARROW}
    small = PRESETS["small"]["dropout"]
    for flags, size, dropout in (
        (["--time-budget", "0.01"], NARROW, small),  # a second or less: no epoch of 256 units
        (["--time-budget", "0.01", "--units", "256"], rules, small),  # set by a flag: not timed
        (["--time-budget", "1000"], rules, LONG_RUN_DROPOUT["small"]),  # all 20 fit
    ):
        argv = ["--dataset", f"tsv:{pairs}", "--precision", "float32", *flags]
        output_dir = str(tmp_path / "_".join(flags))
        recipe.prepare(recipe.parse_args(argv)[0], output_dir)  # a run stopped before its probe
        config, _ = recipe.parse_args(argv)
        corpus, run, by_rule = recipe.prepare(config, output_dir)  # resumed: probes again
        preprocessor = recipe.preprocessor_of(config, corpus, run)
        data = preprocessor.training_data(corpus, 64)
        recipe.fit_size_to_budget(config, run, preprocessor, data, by_rule)
        assert {k: config[k] for k in NARROW} == size and config["dropout"] == dropout
        saved = keras_seq.files.read_json(run[run.CONFIG])
        assert {k: saved[k] for k in NARROW} == size  # what a resumed run keeps
        assert saved["dropout"] == dropout
    out = capsys.readouterr().out
    assert "timed: an epoch of 256 units' training steps takes about" in out
    assert out.count("the narrow model instead, embedding_dim 128, units 128, cell gru") == 1
