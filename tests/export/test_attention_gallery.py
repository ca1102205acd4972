"""recipes/attention_gallery.py on a trained, exported run: the page a user opens."""

import base64
import csv
import html.parser
import shutil
import struct

import pytest

from tests.integration.recipe_runner import load_recipe

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_attention_gallery")


class Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs["src"])
        self.links += [v for k, v in attrs.items() if k in ("href", "src") and "://" in v]


def png_size(uri):
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    data = base64.b64decode(uri[len(prefix) :])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR width, height


@pytest.fixture(scope="module")
def report(exported_run, tmp_path_factory):
    """`(run, found)`: a copy of the exported run, evaluated, with its report written."""
    gallery = load_recipe("attention_gallery")
    source_run, pairs = exported_run
    run = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(source_run, run)
    with open(run / "translations.tsv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["source", "reference", "hypothesis"])
        writer.writerows((s, t, t) for s, t in pairs)
    found = gallery.write_report(str(run), num_sentences=16, num_worst=4, pool=30)
    return run, found


def test_report_is_one_self_contained_page(report):
    run, found = report
    assert found["path"] == str(run / "report" / "index.html")
    assert found["monotonic"] + found["reordering"] == 16
    page = (run / "report" / "index.html").read_text(encoding="utf-8")
    parser = Images()
    parser.feed(page)
    assert len(parser.sources) == 16 + 4  # every image embedded, nothing fetched
    assert all(min(png_size(src)) > 50 for src in parser.sources)
    assert parser.links == []
    assert f"Reordering alignments ({found['reordering']})" in page
    assert "<td>beam_size</td><td>3</td>" in page  # the run's settings


def test_report_shows_every_image_in_a_browser(report, browser):
    run, found = report
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(request.url))
    page.goto((run / "report" / "index.html").as_uri())
    page.wait_for_load_state("load")
    images = page.evaluate(
        "Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(images) == 16 + 4  # no learning curves: this run has no history.csv
    broken = [
        alt for alt, complete, width, height in images if not complete or min(width, height) < 50
    ]
    assert broken == []
    assert page.locator(".card").count() == 16 + 4  # one card per sentence
    assert errors == []
    screenshot = page.screenshot(path=run / "report" / "screenshot.png", full_page=True)
    assert png_size("data:image/png;base64," + base64.b64encode(screenshot).decode())[1] > 1000
    page.close()


def test_report_of_a_run_that_was_not_evaluated_is_one_error_line(exported_run, capsys):
    gallery = load_recipe("attention_gallery")
    assert gallery.main([exported_run[0]]) == 2
    assert "has no translations.tsv: the run was not evaluated" in capsys.readouterr().err


def test_alignments_are_sorted_into_monotonic_and_reordering(report, monkeypatch):
    """Whether a trained model's maps are monotonic depends on its training (and on the
    CPU's arithmetic); the page's split is checked on maps of known shape."""
    import numpy as np

    from keras_seq.tasks import Translator

    def translate(self, texts, strategy=None, return_attention=False, batch_size=64):
        maps = []
        for i, _ in enumerate(texts):
            order = np.arange(3) if i % 4 else np.arange(3)[::-1]  # every 4th reverses
            maps.append((["a", "b", "c"], ["x", "y", "z"], np.eye(3)[order]))
        return [f"t{i}" for i in range(len(texts))], maps

    monkeypatch.setattr(Translator, "translate", translate)
    run, _ = report
    found = load_recipe("attention_gallery").write_report(str(run), 16, 4, pool=30)
    assert (found["monotonic"], found["reordering"]) == (12, 4)
    page = (run / "report" / "index.html").read_text(encoding="utf-8")
    assert "Reordering alignments (4)" in page and "Monotonic alignments (12)" in page
