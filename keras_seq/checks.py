"""Argument checks shared by every layer of the package: data, layers, models, training.

Each raises a ValueError that names the argument and echoes the value received
(`"... Received: units=0"`), as Keras' own checks do.
"""


def check_positive_int(name, value):
    """Raises a ValueError naming `name` unless `value` is a positive int."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_rate(name, value):
    """Raises a ValueError naming `name` unless `0 <= value < 1`."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a float in [0, 1). Received: {name}={value!r}")


def check_choice(name, value, choices):
    """Raises a ValueError naming `name` and the `choices` unless `value` is one of them."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")
