"""TensorFlow's log lines during export that say nothing to act on, dropped by name."""

import contextlib
import logging

import tensorflow as tf

# Each is a known, harmless message of tf.saved_model.save or the TFLite converter.
KNOWN_NOISE = (
    # Lookup tables (the tagger's vocabularies) have no TF1 collection form; TF says so
    # itself: "Note this is a warning and probably safe to ignore."
    "Issue encountered when serializing table_initializer",
)


class _DropKnownNoise(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        return not any(noise in message for noise in KNOWN_NOISE)


@contextlib.contextmanager
def known_noise_dropped():
    """Drops `KNOWN_NOISE` from TensorFlow's Python logger inside the block."""
    logger, noise = tf.get_logger(), _DropKnownNoise()
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)
