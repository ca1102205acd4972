"""`python -m export web RUN`: the translator page, driven in headless Chromium like a person.

The page must give the Python LiteRT client's translation for the same model and
sentence, and draw the attention heat map. Writing the page needs npm (the page's
packages are installed with `npm ci`); the browser tests need Chromium.
"""

import json
import os
import shutil

import numpy as np
import pytest

from export.web_app import serve
from tests.export.conftest import MAX_SOURCE, ROOT
from tests.shared import missing

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_web")

SENTENCES = ["in 3 days", "tuesday, may 23, 1978", "$1,234.50", "thirty four"]


def web_app():
    from export import web_app

    return web_app


@pytest.fixture(scope="module")
def web(exported_run, tmp_path_factory):
    """A copy of the exported run with its `web/` page written."""
    if shutil.which("npm") is None:
        missing("npm is not installed: the page's JavaScript cannot be bundled")
    run = tmp_path_factory.mktemp("web") / "run"
    shutil.copytree(exported_run[0], run)
    path = web_app().write_web(str(run))
    assert path == str(run / "web")
    return run / "web"


@pytest.fixture(scope="module")
def page(web, browser):
    """`(page, errors)`: the page, served on 127.0.0.1 and loaded; its errors collected."""
    with serve(web) as url:
        page = browser.new_page()
        errors, requests = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        page.wait_for_selector("body[data-state=ready]", timeout=120_000)
        outside = [r for r in requests if not r.startswith(url)]
        assert outside == []  # no CDN, no network: everything comes from RUN/web
        yield page, errors
        page.close()


def translate_in_page(page, text, model):
    page.select_option("#model", model)
    page.fill("#source", text)
    page.click("#translate")
    page.wait_for_selector("body[data-state=ready], body[data-state=error]")
    assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#status")
    return page.inner_text("#translation")


def litert_translator(web, model):
    from tests.export.test_clients import client

    translator = client("litert_client").LiteRTTranslator
    return translator(str(web / "models" / f"{model}.tflite"), str(web / "vocab"))


def test_web_folder_layout(web):
    settings = json.loads((web / "run.json").read_text())
    assert settings["models"] == {"greedy": "models/greedy.tflite", "beam": "models/beam.tflite"}
    assert settings["default_model"] == "beam"
    assert settings["max_source_length"] == MAX_SOURCE
    for name in ("index.html", "app.js", "vocab/source.model", "vocab/target.vocab"):
        assert (web / name).stat().st_size > 0, name
    assert sorted(os.listdir(web / "wasm")) == sorted(web_app().WASM_FILES)
    assert os.stat(web).st_mode & 0o005 == 0o005  # a static server can read it


@pytest.mark.parametrize("model", ["beam", "greedy"])
def test_page_translates_like_the_python_litert_client(web, page, model):
    page, errors = page
    python = litert_translator(web, model)
    for text in SENTENCES:
        expected = python.translate(text)[0]
        assert expected  # the fixture's model translates these
        assert translate_in_page(page, text, model) == expected, text
    assert errors == []


def test_page_runs_on_every_core_when_isolated_and_on_one_thread_when_not(web, page, browser):
    page, errors = page  # served with the isolation headers
    cores = page.evaluate("navigator.hardwareConcurrency")
    text = "tuesday, may 23, 1978"
    expected = translate_in_page(page, text, "beam")
    assert page.evaluate("crossOriginIsolated")
    assert int(page.get_attribute("#timing", "data-threads")) == cores
    assert f"({cores} thread" in page.inner_text("#timing")
    with serve(web, isolated=False) as url:  # as `python -m http.server` serves it
        plain = browser.new_page()
        plain.goto(url)
        plain.wait_for_selector("body[data-state=ready]", timeout=120_000)
        assert not plain.evaluate("crossOriginIsolated")
        assert translate_in_page(plain, text, "beam") == expected
        assert int(plain.get_attribute("#timing", "data-threads")) == 1
        assert "(1 thread)" in plain.inner_text("#timing")
        plain.close()
    assert errors == []


def test_page_draws_the_attention_heat_map(web, page):
    page, _ = page
    text = "tuesday, may 23, 1978"
    translate_in_page(page, text, "greedy")
    python = litert_translator(web, "greedy")
    ids, _ = python.source_ids(text)
    outputs = python.runner(source_ids=ids)
    rows, columns = int(outputs["lengths"][0, 0]), int(np.count_nonzero(ids))
    assert int(page.get_attribute("#heatmap", "data-cells")) == rows * columns
    # Dark cells are drawn where the model attends (white is weight 0).
    dark = page.evaluate(
        """() => {
          const canvas = document.getElementById('heatmap');
          const {width, height} = canvas;
          const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
          let dark = 0;
          for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 100) dark += 1;
          return dark;
        }"""
    )
    assert dark > rows * 100  # about one strongly attended cell (26 x 26 pixels) per row
    assert float(page.get_attribute("#timing", "data-milliseconds")) > 0


def test_empty_input_gives_an_empty_translation(page):
    page, _ = page
    assert translate_in_page(page, "   ", "beam") == ""
    assert page.get_attribute("#heatmap", "data-cells") == "0"


def test_page_opened_as_a_file_says_to_serve_it(web, browser):
    page = browser.new_page()
    page.goto((web / "index.html").as_uri())
    page.wait_for_selector("body[data-state=error]")
    assert "python -m http.server" in page.inner_text("#status")
    page.close()


def test_missing_npm_is_one_clear_error(exported_run, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    from export.__main__ import main

    assert main(["web", exported_run[0]]) == 2
    error = capsys.readouterr().err
    assert "needs Node.js and npm" in error and "apt-get install nodejs npm" in error
    assert not os.path.exists(os.path.join(exported_run[0], "web"))


def test_not_a_run_folder_is_one_clear_error(tmp_path, capsys):
    from export.__main__ import main

    assert main(["web", str(tmp_path)]) == 2
    assert "is not a finished Translator run folder" in capsys.readouterr().err


def test_the_page_source_pins_its_packages():
    source = os.path.join(ROOT, "export", "web")
    with open(os.path.join(source, "package.json")) as f:
        package = json.load(f)
    with open(os.path.join(source, "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    for name, version in {**package["dependencies"], **package["devDependencies"]}.items():
        assert version[0].isdigit(), f"{name} is not pinned: {version}"
        assert lock[f"node_modules/{name}"]["version"] == version
