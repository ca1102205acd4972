"""Scoring a finished run's model and exports now lives in `keras_seq.export.evaluate`.

Kept so that `from export.evaluate import evaluate_run` goes on working.
"""

from keras_seq.export.evaluate import TFLITE_VARIANTS, evaluate_run

__all__ = ["TFLITE_VARIANTS", "evaluate_run"]
