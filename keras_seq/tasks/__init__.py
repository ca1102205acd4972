"""The tasks: the objects a user holds from training to text (or numbers) out to export.

`Translator`, `Tagger` and `Forecaster` each join a backbone (`keras_seq.models`) with
what turns raw input into its ids and back, and read and write one run folder, their
preset (`keras_seq.tasks.preset`). Everything they use lives below them; nothing
below imports them.
"""

from keras_seq.tasks.evaluate import evaluate_file, evaluate_run
from keras_seq.tasks.forecaster import Forecast, Forecaster
from keras_seq.tasks.preset import (
    DamagedPreset,
    ForecastRunFolder,
    NotARunFolder,
    RunFolder,
    TagRunFolder,
    open_run_folder,
)
from keras_seq.tasks.tagger import Tagger
from keras_seq.tasks.translator import (
    ARCHITECTURES,
    Seq2SeqPreprocessor,
    TrainingData,
    Translator,
    TruncationWarning,
)

__all__ = [
    "ARCHITECTURES",
    "DamagedPreset",
    "Forecast",
    "ForecastRunFolder",
    "Forecaster",
    "NotARunFolder",
    "RunFolder",
    "Seq2SeqPreprocessor",
    "TagRunFolder",
    "Tagger",
    "TrainingData",
    "Translator",
    "TruncationWarning",
    "evaluate_file",
    "evaluate_run",
    "open_run_folder",
]
