"""keras_seq.plots draw on figures of their own: the user's matplotlib state is untouched."""

import matplotlib
import numpy as np
import pytest

from keras_seq import plots


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plots_write_pngs_without_switching_the_backend_or_leaving_figures(tmp_path):
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    open_figures = plt.get_fignums()
    plots.plot_attention(["▁a", "b"], ["x", "</s>"], [[0.9, 0.1], [0.2, 0.8]], tmp_path / "a.png")
    plots.plot_tag_confusion([["O", "B-PER"]], [["O", "O"]], ["O", "B-PER"], tmp_path / "c.png")
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss,val_loss,val_bleu\n0,2.0,2.1,1.0\n1,1.5,1.7,3.5\n")
    plots.plot_history(history, tmp_path / "curves.png")
    assert all(is_png(tmp_path / n) for n in ("a.png", "c.png", "curves.png"))
    assert matplotlib.get_backend() == backend and plt.get_fignums() == open_figures


def test_an_empty_history_is_named(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="history.csv holds no epoch"):
        plots.plot_history(history, tmp_path / "curves.png")


def test_a_short_translation_of_long_pieces_still_fits_its_labels(tmp_path):
    # An untrained model's one-piece translation: matplotlib warned that the tight layout
    # could not fit the rotated source pieces (the suite turns warnings into errors).
    source = ["▁" + "x" * 14] * 9
    plots.plot_attention(source, ["▁y"], np.full((1, 9), 0.1), tmp_path / "a.png", "title")
    plots.plot_attention(source, ["▁y"], np.full((1, 3, 9), 0.1), tmp_path / "b.png", "title")
    assert (tmp_path / "a.png").stat().st_size > 0 and (tmp_path / "b.png").stat().st_size > 0
