"""Test helpers for keras_seq layers (used by the test suite; importable by users)."""

from keras_seq.testing.layer_checks import run_layer_checks

__all__ = ["run_layer_checks"]
