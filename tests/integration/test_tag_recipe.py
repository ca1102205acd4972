"""recipes/tag.py end to end, as a user runs it."""

import csv
import json
import os

import keras
import pytest
import tensorflow as tf

from tests.integration.recipe_runner import load_recipe


def read_predictions(path):
    sentences, current = [], []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            current.append(line.split())
        else:
            sentences.append(current)
            current = []
    return sentences


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated interruption")


@pytest.mark.slow
def test_a_quick_run_interrupted_resumes_learns_and_writes_every_file(
    tmp_path, monkeypatch, capsys
):
    # One run (a minute of training) for both: interrupted after its second epoch, then
    # resumed by the same command, it must end as a run folder with every file.
    recipe = load_recipe("tag")
    from keras_seq import callbacks

    original = callbacks.standard_callbacks
    run = tmp_path / "run"
    args = ["--quick", "--tag-scheme", "iobes", "--epochs", "3", "--patience", "10"]
    args += ["--optimizer", "nadam", "--ema-momentum", "0.9", "--quantizations", "int8"]
    args += ["--output-dir", str(run)]
    monkeypatch.setattr(
        callbacks, "standard_callbacks", lambda *a, **k: [*original(*a, **k), Interrupt()]
    )
    with pytest.raises(KeyboardInterrupt):
        recipe.main(args)
    assert not (run / "metrics.json").exists()
    monkeypatch.setattr(callbacks, "standard_callbacks", original)
    capsys.readouterr()
    assert recipe.main(args) == 0
    out = capsys.readouterr().out
    assert "Test entity F1" in out and str(run) in out
    for name in ("config.json", "metrics.json", "history.csv", "model.keras", "confusion.png"):
        assert (run / name).is_file(), name
    for name in ("words.txt", "chars.txt", "tags.txt", "settings.txt"):
        assert (run / "vocab" / name).is_file(), name
    assert sorted(os.listdir(run / "tflite")) == ["tagger_int8.tflite"]  # --quantizations

    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]  # two before, one after
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run_this_session"] == 1  # the third epoch, after the interruption
    assert metrics["f1"] > 30, metrics  # a minute of training already finds most entities
    assert set(metrics["per_type"]) == {"PER", "ORG", "LOC", "MISC"}
    # The last epochs' average was scored on validation, the better weights kept, the
    # epochs' files (which survived the interruption) removed.
    average = metrics["checkpoint_average"]
    assert sorted(average["tails"]) == ["1", "2"]  # epochs 1-3 and 2-3 (JSON keys)
    assert average["val_f1_average"] == max(average["tails"].values())
    best = max(average["tails"].values())
    first = max(int(epoch) for epoch, f1 in average["tails"].items() if f1 == best)
    assert average["epochs"] == list(range(first, 4))  # the best tail, the shorter on a tie
    better = average["val_f1_average"] > average["val_f1_best_epoch"]
    assert average["kept"] == ("average" if better else "best")
    assert not (run / "checkpoints" / "epochs").exists()
    # The cosine decay went on from where the interruption left it, down to its floor.
    optimizer = keras.models.load_model(run / "model.keras").optimizer
    assert isinstance(optimizer, keras.optimizers.Nadam)
    assert optimizer.use_ema and optimizer.ema_momentum == 0.9  # kept across the resume
    assert float(optimizer.learning_rate) == pytest.approx(0.05 * 1e-2)  # QUICK's peak: 1e-2

    # predictions.conll: word, gold, predicted per line (conlleval's input), one block each.
    predictions = read_predictions(run / "predictions.conll")
    assert len(predictions) == metrics["test_sentences"]
    assert all(len(columns) == 3 for sentence in predictions for columns in sentence)
    # The model learnt IOBES tags; what it returns is IOB2.
    assert "scheme=iobes" in (run / "vocab" / "settings.txt").read_text()
    learnt = (run / "vocab" / "tags.txt").read_text().split()
    assert {"S-PER", "E-PER"} <= set(learnt)
    assert {c[2][:2] for s in predictions for c in s} == {"O", "B-", "I-"}

    # The SavedModel tags raw text as the run's predictions say.
    served = tf.saved_model.load(str(run / "saved_model")).signatures["serving_default"]
    texts = [" ".join(columns[0] for columns in sentence) for sentence in predictions[:20]]
    out = served(text=tf.constant(texts))
    for row, sentence in enumerate(predictions[:20]):
        tags = [t.decode() for t in out["tags"][row, : len(sentence)].numpy()]
        assert tags == [columns[2] for columns in sentence]

    # Run again once finished: the saved model is evaluated again, not trained again.
    assert recipe.main([*args, "--no-export"]) == 0
    assert "Training had finished" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_text())["f1"] == metrics["f1"]
    assert recipe.main([*args, "--units", "64"]) == 2


def write_conll(path, sentences):
    """A 4-column CoNLL-2003 file (word, POS, chunk, tag) of `(words, tags)` sentences."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for words, tags in sentences:
            f.writelines(f"{w} NN I-NP {t}\n" for w, t in zip(words, tags, strict=True))
            f.write("\n")


@pytest.mark.slow
def test_conll_files_with_a_tag_unseen_in_training(tmp_path, capsys):
    from keras_seq.data.generated_ner import generate_ner_corpus

    corpus = generate_ner_corpus(400, seed=3)
    event = (["The", "Berlin", "Marathon", "starts", "today"], ["O", "B-EVT", "I-EVT", "O", "O"])
    data = tmp_path / "conll"
    data.mkdir()
    write_conll(data / "eng.train", corpus.train)
    write_conll(data / "eng.testa", [*corpus.valid, event])
    write_conll(data / "eng.testb", [*corpus.test, event])
    # Vectors for a training word and for a word only the test split has.
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("the 0.1 0.2\nmarathon -0.3 0.4\n", encoding="utf-8")
    run = tmp_path / "run"
    args = ["--dataset", f"conll:{data}", "--quick", "--epochs", "1", "--no-export"]
    args += ["--embedding-dim", "2", "--embeddings", str(vectors), "--no-lowercase"]
    assert load_recipe("tag").main([*args, "--output-dir", str(run)]) == 0  # in-process
    out = capsys.readouterr().out
    # "the", "The" (looked up lower-cased) and "Marathon" start from the file's vectors.
    assert "Pretrained vectors for 3 of" in out
    assert "Marathon" in (run / "vocab" / "words.txt").read_text(encoding="utf-8").split()
    assert "tags ['B-EVT', 'I-EVT'] of the validation/test sentences never occur" in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["per_type"]["EVT"]["f1"] == 0  # counted, and missed
    assert metrics["test_sentences"] == len(corpus.test) + 1
    assert (run / "confusion.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dropout", "1.5"], "argument --dropout: must be a number in [0, 1), got 1.5"),
        (["--recurrent-dropout", "1"], "--recurrent-dropout: must be a number in [0, 1), got 1"),
        (["--optimizer", "sgd"], "argument --optimizer: invalid choice: 'sgd'"),
        (["--strategy", "horovod"], "argument --strategy: invalid choice: 'horovod'"),
        (["--singleton-unk", "1"], "argument --singleton-unk: must be a number in [0, 1), got 1"),
        (["--unk-max-count", "0"], "argument --unk-max-count: must be an integer >= 1, got 0"),
        (["--lr-decay", "-1"], "argument --lr-decay: must be a number in [0, inf), got -1"),
        (["--lr-decay", "1", "--lr-schedule", "cosine"], "--lr-decay: of --lr-schedule inverse"),
        (["--global-clipnorm", "1", "--clipnorm", "2"], "--global-clipnorm: clip one way only"),
        (["--embeddings", "missing.txt"], "no such file: 'missing.txt'"),
        (["--embeddings", "ragged.txt"], "ragged.txt:2: a vector of 1 values; expected 2"),
        (["--dataset", "conll:no_such_dir"], "No such directory: 'no_such_dir'"),
        (["--dataset", "conll2003"], "Unknown tagging dataset"),
        (["--casing", "--char-encoder", "none"], "argument --casing: reads the characters"),
    ],
)
def test_bad_input_ends_in_one_error_line(tmp_path, monkeypatch, capsys, args, message):
    (tmp_path / "ragged.txt").write_text("the 1 2\ncat 3\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    try:  # in-process: argparse's errors exit, the later ones return the status
        status = load_recipe("tag").main([*args, "--output-dir", str(tmp_path / "run")])
    except SystemExit as exit_info:
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith(("usage:", "error:")) and message in err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_new_run_takes_the_new_defaults_and_a_run_folder_from_before_keeps_its_own(tmp_path):
    from keras_seq.cli import SettingsChanged
    from keras_seq.data.generated_ner import generate_ner_corpus

    recipe = load_recipe("tag")
    data = ["--num-sentences", "100"]
    config, output_dir = recipe.parse_args([*data, "--output-dir", str(tmp_path / "new")])
    recipe.prepare(config, output_dir)
    assert config["layers"] == 2 and config["tag_scheme"] == "iob2" and config["casing"]
    assert config["lr_schedule"] == "cosine" and config["learning_rate"] == 2e-3
    assert config["ema_momentum"] == 0.0  # the built-in data; real data's is 0.999:
    conll = tmp_path / "conll"
    conll.mkdir()
    corpus = generate_ner_corpus(60, seed=1)
    for name, split in (("train", corpus.train), ("valid", corpus.valid), ("test", corpus.test)):
        write_conll(conll / f"{name}.txt", split)
    real = ["--dataset", f"conll:{conll}", "--output-dir", str(tmp_path / "real")]
    config_real, output_dir = recipe.parse_args(real)
    recipe.prepare(config_real, output_dir)
    assert config_real["ema_momentum"] == 0.999
    config_without_chars, _ = recipe.parse_args([*data, "--char-encoder", "none"])
    assert config_without_chars["casing"] is False  # read from the characters
    older = tmp_path / "older"  # started when one layer was the default, before IOBES
    older.mkdir()
    added_since = ("tag_scheme", "casing", "lr_schedule", "optimizer", "ema_momentum")
    earlier = {k: v for k, v in config.items() if k not in added_since}
    (older / "config.json").write_text(json.dumps({**earlier, "layers": 1, "learning_rate": 1e-3}))
    config, output_dir = recipe.parse_args([*data, "--output-dir", str(older)])
    recipe.prepare(config, output_dir)  # no SettingsChanged
    assert config["layers"] == 1 and config["tag_scheme"] == "iob2" and not config["casing"]
    assert config["lr_schedule"] == "inverse_time" and config["learning_rate"] == 1e-3
    assert config["optimizer"] == "adam" and config["ema_momentum"] == 0.0
    changed = ("--casing", "--lr-schedule=cosine", "--learning-rate=2e-3", "--optimizer=nadam")
    for flag in (*changed, "--ema-momentum=0.99"):
        config, output_dir = recipe.parse_args([*data, flag, "--output-dir", str(older)])
        with pytest.raises(SettingsChanged, match=flag[2:].split("=")[0].replace("-", "_")):
            recipe.prepare(config, output_dir)
    config, output_dir = recipe.parse_args(
        [*data, "--tag-scheme", "iobes", "--output-dir", str(older)]
    )
    with pytest.raises(SettingsChanged, match="tag_scheme"):
        recipe.prepare(config, output_dir)
    config, output_dir = recipe.parse_args([*data, "--layers", "2", "--output-dir", str(older)])
    with pytest.raises(SettingsChanged, match="layers"):
        recipe.prepare(config, output_dir)  # a flag still wins, and is refused
