"""recipes/teacher_forcing_study.py: its free-running score and a small run of it."""

import importlib.util
import json
import os

import keras
import numpy as np
import pytest

import keras_seq as ks

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_study():
    path = os.path.join(ROOT, "recipes", "teacher_forcing_study.py")
    spec = importlib.util.spec_from_file_location("teacher_forcing_study", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_free_running_scores_follow_the_greedy_prefix_step_by_step():
    study = load_study()
    model = ks.models.build_seq2seq(12, 12, embedding_dim=6, units=6, attention="bahdanau")
    rng = np.random.default_rng(0)
    source = rng.integers(4, 12, size=(3, 5)).astype("int32")
    labels = np.concatenate([rng.integers(4, 12, size=(3, 4)), np.full((3, 1), 2)], 1)
    labels = labels.astype("int32")
    labels[2, 3:] = [2, 0]  # a shorter target
    inputs = {"source_ids": source, "target_ids": np.ones_like(labels)}
    loss, accuracy = study.free_running_scores(model, [(inputs, labels)])

    # The same by hand: step the decoder on its own argmax, score the gold label each time.
    decoder = ks.models.seq2seq_parts(model).decoder
    state = ks.models.encode(model, source)
    token = np.ones(3, "int32")
    ended = np.zeros(3, bool)  # greedy search feeds padding after a row's end token
    nll, hits, count = 0.0, 0, 0
    for t in range(labels.shape[1]):
        logits, state = decoder.step(token, state)
        log_probs = np.asarray(keras.ops.log_softmax(logits))
        for row in range(3):
            if labels[row, t]:
                nll -= log_probs[row, labels[row, t]]
                hits += int(np.argmax(log_probs[row]) == labels[row, t])
                count += 1
        best = np.argmax(log_probs, axis=-1).astype("int32")
        token = np.where(ended, 0, best).astype("int32")
        ended |= best == 2
    assert loss == pytest.approx(nll / count, rel=1e-4)
    assert accuracy == pytest.approx(hits / count)


@pytest.mark.slow
def test_small_study_writes_its_table_and_resumes(tmp_path, capsys):
    study = load_study()
    run = tmp_path / "study"
    args = ["--quick", "--num-pairs", "1500", "--output-dir", str(run)]
    # One variant, the one that feeds the model its own predictions (each variant is
    # the same code with another sampling schedule; a second would double the test's time).
    args += ["--variants", "inverse_sigmoid_parallel"]
    assert study.main(args) == 0
    results = json.loads((run / "results.json").read_text())
    assert [r["variant"] for r in results] == ["inverse_sigmoid_parallel"]
    (result,) = results
    assert len(result["train_loss_curve"]) == 2
    assert result["exposure_gap"] == pytest.approx(
        result["token_accuracy_teacher_forced"] - result["token_accuracy_free_running"]
    )
    assert 0 < result["final_sampling_probability"] < 1
    table = (run / "study.md").read_text()
    assert table.count("\n| ") == 2 and "| inverse_sigmoid_parallel |" in table
    for name in ("curves.png", "exposure_bias.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert study.main(args) == 0
    assert capsys.readouterr().out.count("done earlier") == 1


def test_unknown_variant_is_an_argparse_error(capsys):
    study = load_study()
    with pytest.raises(SystemExit) as exit_info:
        study.main(["--variants", "sometimes"])
    assert exit_info.value.code == 2
    assert "argument --variants: unknown ['sometimes']" in capsys.readouterr().err
