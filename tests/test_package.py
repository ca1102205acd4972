"""What `import keras_seq` costs, and what a missing optional package says."""

import subprocess
import sys

import pytest

from keras_seq.data import generate_pairs, load_corpus
from keras_seq.evaluation import corpus_scores
from keras_seq.plots import plot_attention

OPTIONAL = ("matplotlib", "sacrebleu", "tensorflow_datasets", "num2words", "babel", "seqeval")


def test_import_keras_seq_leaves_the_optional_packages_unimported():
    # Keras itself imports matplotlib when it is installed; keras_seq must add none.
    code = (
        "import sys, keras, tensorflow\n"
        f"before = {{m for m in {OPTIONAL!r} if m in sys.modules}}\n"
        "import keras_seq as ks\n"
        f"print(sorted({{m for m in {OPTIONAL!r} if m in sys.modules}} - before))\n"
        "print(ks.decoding.BeamSearch, ks.models.seq2seq_parts, ks.export.TranslatorModule)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert completed.stdout.splitlines()[0] == "[]"


@pytest.mark.parametrize(
    "module,call",
    [
        ("sacrebleu.metrics", lambda: corpus_scores(["a"], ["a"])),
        ("matplotlib", lambda: plot_attention(["a"], ["b"], [[1.0]], "unused.png")),
        ("num2words", lambda: generate_pairs(3, families=("number",))),
        ("babel.dates", lambda: generate_pairs(3, families=("date",))),
        ("tensorflow_datasets", lambda: load_corpus("tfds:ted_hrlr_translate/pt_to_en")),
    ],
)
def test_a_missing_optional_package_names_the_extra_to_install(monkeypatch, module, call):
    monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'keras_seq\[recipes\]'"):
        call()


def test_every_name_the_readme_uses_exists():
    import os
    import re

    import keras_seq as ks

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = "".join(
        open(os.path.join(root, *path), encoding="utf-8").read()
        for path in (("README.md",), ("docs", "architecture.md"))
    )
    names = sorted(set(re.findall(r"\bks\.[A-Za-z_][\w.]*[A-Za-z_0-9]", text)))
    missing = []
    for name in names:
        value = ks
        for part in name.split(".")[1:]:
            value = getattr(value, part, None)
        if value is None:
            missing.append(name)
    assert len(names) > 20 and not missing, missing
