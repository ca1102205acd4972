"""`keras-seq` (python -m keras_seq): a trained run folder from the command line."""

import io

from keras_seq.__main__ import main
from keras_seq.tasks import Translator


def test_translate_prints_the_presets_translations(exported_run, capsys, monkeypatch):
    run, pairs = exported_run
    sources = [s for s, _ in pairs[:3]]
    expected = Translator.from_preset(run).translate(sources)
    assert main(["translate", run, *sources]) == 0
    assert capsys.readouterr().out.splitlines() == expected
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{s}\n" for s in sources)))
    assert main(["translate", run, "--strategy", "greedy"]) == 0
    greedy = Translator.from_preset(run).translate(sources, "greedy")
    assert capsys.readouterr().out.splitlines() == greedy


def test_bad_runs_and_commands_are_one_error_line(exported_run, tmp_path, capsys):
    assert main(["translate", str(tmp_path / "none"), "x"]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'none'} is not a folder.\n"
    assert main(["tag", exported_run[0], "x"]) == 2
    assert "is a Translator run" in capsys.readouterr().err
    assert main(["translate", exported_run[0], "x", "--strategy", "nucleus"]) == 2
    assert "decoding strategy 'nucleus'" in capsys.readouterr().err
    assert main(["fly"]) == 2 and "keras-seq translate RUN" in capsys.readouterr().err
