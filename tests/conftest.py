import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# `-n auto` starts a worker per core, each with its own TensorFlow: one intra-op thread
# each (the background builds too, `pytest_sessionstart`) keeps them from fighting over
# the cores. On 2 cores, tests/models and tests/layers ran in 185 s instead of 224.
ONE_THREAD_EACH = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"}
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name, _value in ONE_THREAD_EACH.items():
        os.environ.setdefault(_name, _value)

import json  # noqa: E402
import runpy  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402

import keras_seq as ks  # noqa: E402
from keras_seq.data import SubwordTokenizer, load_corpus, make_dataset  # noqa: E402
from keras_seq.training import compile_seq2seq  # noqa: E402
from tests.prebuild import BUILDS  # noqa: E402
from tests.shared import built_once  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREBUILDS = pytest.StashKey[list]()
SHARED_RUN_FIXTURES = {"exported_run", "quick_run"}
MAX_SOURCE, MAX_TARGET = 24, 24


# The suite's two tiers. `quick` (the default for the whole suite) is what a change is checked
# with; `slow` holds the tests marked so: the recipes' end-to-end runs, the multi-worker jobs,
# the exact-resume and export-parity runs of models trained for them. CI runs both.
TIERS = ("quick", "slow", "all")
# The shared runs each tier's tests use, built in the background at the session's start.
TIER_BUILDS = {"quick": ["exported_run"], "slow": list(BUILDS), "all": list(BUILDS)}


def pytest_addoption(parser):
    parser.addoption(
        "--tier",
        choices=TIERS,
        default=None,
        help="quick: the tests not marked slow (the default for the whole suite); slow: only "
        "those marked slow (end-to-end runs, minutes each); all: both, as CI runs them (the "
        "default where tests are chosen by path, -k or -m)",
    )


def tier(config):
    """The tier the session runs: `--tier`; else `quick` for the whole suite, and `all`
    where tests are chosen otherwise (paths, `-k`, `-m`)."""
    chosen = config.getoption("tier")
    if chosen:
        return chosen
    chosen_otherwise = config.option.keyword or config.option.markexpr
    whole_suite = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    return "quick" if whole_suite and not chosen_otherwise else "all"


def pytest_sessionstart(session):
    """The whole suite on xdist workers: build its tier's shared runs in the background now."""
    config = session.config
    whole_suite = (
        getattr(config.option, "numprocesses", None)
        and not hasattr(config, "workerinput")  # the controller, not a worker
        and config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and not config.option.keyword
        and not config.option.markexpr
    )
    if not whole_suite:
        return
    root = config._tmp_path_factory.getbasetemp()
    builders = []
    for name in TIER_BUILDS[tier(config)]:
        with open(root / f"prebuild-{name}.log", "wb") as log:
            builders.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.prebuild", str(root), name],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**ONE_THREAD_EACH, **os.environ},
                )
            )
    config.stash[PREBUILDS] = builders


def pytest_unconfigure(config):
    for builder in config.stash.get(PREBUILDS, []):
        if builder.poll() is None:
            builder.kill()  # the session ended first (interrupted, or it never needed the run)
        builder.wait()


def pytest_collection_modifyitems(config, items):
    """The session's tier alone; the tests of the shared runs last, so that their builds
    finish while others run."""
    chosen = tier(config)
    if chosen != "all":
        tiers = {"quick": [], "slow": []}
        for item in items:
            tiers["slow" if item.get_closest_marker("slow") else "quick"].append(item)
        config.hook.pytest_deselected(items=tiers["quick" if chosen == "slow" else "slow"])
        items[:] = tiers[chosen]
    items.sort(key=lambda item: bool(SHARED_RUN_FIXTURES & set(item.fixturenames)))


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with a float32 policy, cleared session and fixed seeds."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture(scope="session")
def exported_run(tmp_path_factory):
    """`(run_dir, test_pairs)`: a run folder with model, vocab, saved_model/ and tflite/.

    Trained once per session (by the first xdist worker that needs it); tests that
    change it work on a copy (`tests.shared.copy_of`).
    """
    folder, _ = built_once(tmp_path_factory, "exported_run", _train_and_export)
    return str(folder), load_corpus("generated", num_pairs=8000, seed=0).test[:40]


def _train_and_export(run):
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    corpus = load_corpus("generated", num_pairs=8000, seed=0)
    source = SubwordTokenizer.train([s for s, _ in corpus.train], 300)
    target = SubwordTokenizer.train([t for _, t in corpus.train], 300)
    os.makedirs(run / "vocab")
    source.save(run / "vocab" / "source")
    target.save(run / "vocab" / "target")
    data, _ = make_dataset(corpus.train, source, target, 64, MAX_SOURCE, MAX_TARGET)
    model = ks.models.build_seq2seq(
        source.vocab_size, target.vocab_size, embedding_dim=48, units=64, attention="luong_general"
    )
    compile_seq2seq(model, learning_rate=5e-3)
    model.fit(data, epochs=10, verbose=0)  # about 30 s: a model that translates well
    model.save(run / "model.keras")
    config = {
        "max_source_length": MAX_SOURCE,
        "max_target_length": MAX_TARGET,
        "beam_size": 3,
        "length_penalty": 0.6,
    }
    (run / "config.json").write_text(json.dumps(config))
    argv = sys.argv
    try:
        sys.argv = ["export", str(run)]
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(os.path.join(ROOT, "export", "__main__.py"), run_name="__main__")
        assert exit_info.value.code == 0
    finally:
        sys.argv = argv
    return {}
