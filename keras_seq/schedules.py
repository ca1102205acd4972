"""Scheduled-sampling schedules: a training step (or epoch) to a sampling probability.

The sampling probability is the chance that the decoder is fed its own
prediction instead of the gold token (0 = teacher forcing). Every schedule here
is non-decreasing from `floor` toward `ceiling`:

    probability(i) = floor + (ceiling - floor) * shape(max(0, i - start))

where `shape` rises from 0 (or, for `InverseSigmoid`, from `1 - k / (k + 1)`) to 1
and `start` delays it: before `start`, training is teacher-forced at `floor`.
`i` counts optimizer steps (`per="step"`) or epochs (`per="epoch"`);
`ks.callbacks.ScheduledSampling` applies a schedule in `model.fit`.

Reference:
    - [Bengio et al., 2015](https://arxiv.org/abs/1506.03099): linear, exponential
      and inverse-sigmoid decay of the teacher-forcing ratio.
"""

import inspect
import math

import keras

from keras_seq._config import ConfigObject, resolve
from keras_seq.decoding.result import check_float, check_int

PERS = ("step", "epoch")


class SamplingSchedule(ConfigObject):
    """Base of the schedules: the shared `floor`, `ceiling`, `start` and `per`.

    Subclasses implement `shape(i) -> float in [0, 1]`, non-decreasing, for
    `i >= 0` steps (or epochs) after `start`.

    Args:
        floor: probability before and at the start, in [0, 1]. Defaults to 0.
        ceiling: probability the schedule rises to, in [floor, 1]. Defaults to 1.
        start: int >= 0, the step (or epoch) the rise begins at. Defaults to 0.
        per: `"step"` or `"epoch"`, what `i` counts.

    Raises:
        ValueError: naming a setting out of range.
    """

    def __init__(self, floor=0.0, ceiling=1.0, start=0, per="step"):
        check_float("floor", floor, 0)
        check_float("ceiling", ceiling, floor)
        if ceiling > 1:
            raise ValueError(f"`ceiling` must be at most 1. Received: ceiling={ceiling!r}")
        check_int("start", start, 0)
        if per not in PERS:
            raise ValueError(f"`per` must be one of {PERS}. Received: per={per!r}")
        self.floor = float(floor)
        self.ceiling = float(ceiling)
        self.start = start
        self.per = per

    def shape(self, i):
        raise NotImplementedError

    def __call__(self, i):
        """The sampling probability at step (or epoch) `i`, a float in [floor, ceiling]."""
        if i < self.start:
            return self.floor
        rise = min(1.0, max(0.0, self.shape(i - self.start)))
        return self.floor + (self.ceiling - self.floor) * rise

    def get_config(self):
        return {"floor": self.floor, "ceiling": self.ceiling, "start": self.start, "per": self.per}


@keras.saving.register_keras_serializable(package="keras_seq")
class Constant(SamplingSchedule):
    """The same probability throughout: `Constant(0.25)`; `Constant(0)` is teacher forcing.

    Args:
        value: the probability, in [0, 1].
        per: `"step"` or `"epoch"` (when the callback applies it).
    """

    def __init__(self, value=0.0, per="step"):
        check_float("value", value, 0)
        super().__init__(floor=value, ceiling=value, per=per)
        self.value = float(value)

    def shape(self, i):
        return 0.0

    def get_config(self):
        return {"value": self.value, "per": self.per}


@keras.saving.register_keras_serializable(package="keras_seq")
class Linear(SamplingSchedule):
    """Rises in a straight line from `floor` to `ceiling` over `duration` steps (or epochs).

    Args:
        duration: positive int, steps (or epochs) from `start` to `ceiling`.
        floor, ceiling, start, per: see `SamplingSchedule`.
    """

    def __init__(self, duration, floor=0.0, ceiling=1.0, start=0, per="step"):
        super().__init__(floor, ceiling, start, per)
        check_int("duration", duration, 1)
        self.duration = duration

    def shape(self, i):
        return i / self.duration

    def get_config(self):
        return {"duration": self.duration, **super().get_config()}


@keras.saving.register_keras_serializable(package="keras_seq")
class Cosine(Linear):
    """Rises along half a cosine from `floor` to `ceiling` over `duration` steps (or epochs).

    Slow at both ends: `shape(i) = (1 - cos(pi * i / duration)) / 2`.

    Args:
        duration: positive int, steps (or epochs) from `start` to `ceiling`.
        floor, ceiling, start, per: see `SamplingSchedule`.
    """

    def shape(self, i):
        return (1.0 - math.cos(math.pi * min(i, self.duration) / self.duration)) / 2.0


@keras.saving.register_keras_serializable(package="keras_seq")
class Exponential(SamplingSchedule):
    """Bengio et al.'s exponential decay of teacher forcing: `shape(i) = 1 - rate ** i`.

    Args:
        rate: float in (0, 1), the teacher-forcing ratio kept per step (or epoch).
        floor, ceiling, start, per: see `SamplingSchedule`.
    """

    def __init__(self, rate, floor=0.0, ceiling=1.0, start=0, per="step"):
        super().__init__(floor, ceiling, start, per)
        check_float("rate", rate, 0, strict=True)
        if rate >= 1:
            raise ValueError(f"`rate` must be below 1. Received: rate={rate!r}")
        self.rate = float(rate)

    def shape(self, i):
        return 1.0 - self.rate**i

    def get_config(self):
        return {"rate": self.rate, **super().get_config()}


@keras.saving.register_keras_serializable(package="keras_seq")
class InverseSigmoid(SamplingSchedule):
    """Bengio et al.'s inverse-sigmoid decay: `shape(i) = 1 - k / (k + exp(i / k))`.

    The teacher-forcing ratio `k / (k + exp(i / k))` stays near 1 for about
    `k * ln(k)` steps, then falls; larger `k` is slower.

    Args:
        k: float >= 1.
        floor, ceiling, start, per: see `SamplingSchedule`.
    """

    def __init__(self, k, floor=0.0, ceiling=1.0, start=0, per="step"):
        super().__init__(floor, ceiling, start, per)
        check_float("k", k, 1)
        self.k = float(k)

    def shape(self, i):
        exponent = i / self.k
        if exponent > 700:  # exp would overflow; the ratio is 0 to double precision
            return 1.0
        return 1.0 - self.k / (self.k + math.exp(exponent))

    def get_config(self):
        return {"k": self.k, **super().get_config()}


SCHEDULES = {
    "constant": Constant,
    "linear": Linear,
    "cosine": Cosine,
    "exponential": Exponential,
    "inverse_sigmoid": InverseSigmoid,
}


def serialize(schedule):
    """The Keras serialization dict of a schedule; `get` reads it back."""
    return keras.saving.serialize_keras_object(schedule)


def get(identifier):
    """A schedule from an object, a config dict (`serialize`'s) or a number (`Constant`).

    Raises:
        ValueError: for anything else, naming it.
    """
    if isinstance(identifier, (int, float)) and not isinstance(identifier, bool):
        return Constant(identifier)
    return resolve(
        identifier,
        SamplingSchedule,
        SCHEDULES,
        "sampling schedule",
        f"a schedule object ({', '.join(c.__name__ for c in SCHEDULES.values())}), its config "
        "dict, or a number (a constant probability)",
    )


def parse(spec, **defaults):
    """A schedule from a command-line spec, `"name[:key=value,...]"`.

    Example: `"inverse_sigmoid:k=300,ceiling=0.5"`, `"linear:duration=2000"`.
    Names are those of `SCHEDULES`; keys are the class' arguments. `defaults`
    fill arguments the spec leaves out, where the class takes them (e.g. the
    run's total steps as `duration`).

    Raises:
        ValueError: naming the spec and what is wrong with it.
    """
    name, _, arguments = spec.partition(":")
    if name not in SCHEDULES:
        raise ValueError(
            f"Unknown sampling schedule {name!r} in {spec!r}; expected one of {tuple(SCHEDULES)}."
        )
    cls = SCHEDULES[name]
    accepted = list(inspect.signature(cls).parameters)
    kwargs = {}
    for item in filter(None, (part.strip() for part in arguments.split(","))):
        key, equals, value = item.partition("=")
        if not equals or key.strip() not in accepted:
            raise ValueError(
                f"Bad setting {item!r} in {spec!r}: {name} takes key=value settings of {accepted}."
            )
        kwargs[key.strip()] = _value(value.strip())
    for key, value in defaults.items():
        if key in accepted:
            kwargs.setdefault(key, value)
    try:
        return cls(**kwargs)
    except TypeError as error:  # a required setting is missing
        raise ValueError(f"{spec!r}: {error}; {name} takes {accepted}.") from None


def _value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
