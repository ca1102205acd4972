"""keras_seq.files: nothing is ever half-written."""

import os
import stat

import pytest

from keras_seq import files


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.weights.h5"
    files.write_bytes(path, b"first")
    with pytest.raises(RuntimeError), files.replacing(path) as temporary:
        assert temporary.endswith(".weights.h5") and os.path.dirname(temporary) == str(tmp_path)
        with open(temporary, "wb") as f:
            f.write(b"half")
        raise RuntimeError("crash while writing")
    assert path.read_bytes() == b"first"
    assert os.listdir(tmp_path) == ["model.weights.h5"]


def test_written_files_and_folders_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = files.write_json(tmp_path / "a" / "config.json", {"units": 8})
        assert files.read_json(path) == {"units": 8}
        with files.replacing(tmp_path / "tflite", folder=True) as staging:
            (open(os.path.join(staging, "m.tflite"), "wb")).close()
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "tflite").st_mode) == 0o755
    assert os.listdir(tmp_path / "tflite") == ["m.tflite"]


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    folder = tmp_path / "saved_model"
    with files.replacing(folder, folder=True) as staging:
        open(os.path.join(staging, "old.pb"), "w").close()
    with pytest.raises(ValueError), files.replacing(folder, folder=True) as staging:
        open(os.path.join(staging, "new.pb"), "w").close()
        raise ValueError("export failed")
    assert os.listdir(folder) == ["old.pb"]
    with files.replacing(folder, folder=True) as staging:
        open(os.path.join(staging, "new.pb"), "w").close()
    assert os.listdir(folder) == ["new.pb"]
    assert sorted(os.listdir(tmp_path)) == ["saved_model"]


def test_read_json_default_only_for_a_missing_file(tmp_path):
    assert files.read_json(tmp_path / "none.json", default={}) == {}
    with pytest.raises(FileNotFoundError):
        files.read_json(tmp_path / "none.json")
