import json
import math

import keras
import pytest

from keras_seq import schedules
from keras_seq.schedules import Constant, Cosine, Exponential, InverseSigmoid, Linear

ALL = [
    Constant(0.25),
    Linear(10),
    Linear(8, floor=0.1, ceiling=0.5, start=2, per="epoch"),
    Cosine(10, ceiling=0.8),
    Exponential(0.9, start=3),
    InverseSigmoid(5.0),
]


def test_linear_and_cosine_by_hand():
    assert [Linear(10)(i) for i in (0, 5, 10, 20)] == [0.0, 0.5, 1.0, 1.0]
    shifted = Linear(10, floor=0.1, ceiling=0.5, start=2)
    assert [round(shifted(i), 6) for i in (0, 2, 7, 12, 99)] == [0.1, 0.1, 0.3, 0.5, 0.5]
    cosine = Cosine(10)
    assert [round(cosine(i), 6) for i in (0, 5, 10, 15)] == [0.0, 0.5, 1.0, 1.0]
    assert cosine(2) < Linear(10)(2)  # slow start
    # (1 - cos(pi * step / duration)) / 2 between the ends, where linear is step / duration.
    for step in (1, 2, 3, 7, 8):
        assert cosine(step) == pytest.approx((1 - math.cos(math.pi * step / 10)) / 2)
    assert cosine(2) == pytest.approx(0.0954915) and cosine(8) == pytest.approx(0.9045085)


def test_exponential_and_inverse_sigmoid_follow_bengio_et_al():
    assert Exponential(0.9)(10) == pytest.approx(1 - 0.9**10)
    assert Exponential(0.9, start=3)(13) == pytest.approx(1 - 0.9**10)
    for k in (1.0, 5.0, 100.0):
        for i in (0, 7, 100, 600):
            assert InverseSigmoid(k)(i) == pytest.approx(1 - k / (k + math.exp(i / k)))
    assert InverseSigmoid(1.0)(10**7) == 1.0  # no overflow


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_non_decreasing_within_floor_and_ceiling(schedule):
    values = [schedule(i) for i in range(0, 200)]
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert all(schedule.floor <= v <= schedule.ceiling for v in values)
    assert 0.0 <= min(values) and max(values) <= 1.0


@pytest.mark.parametrize("schedule", ALL, ids=repr)
def test_config_round_trips_through_json(schedule):
    assert type(schedule).from_config(schedule.get_config()) == schedule
    text = json.dumps(schedules.serialize(schedule))
    assert schedules.get(json.loads(text)) == schedule
    assert keras.saving.deserialize_keras_object(json.loads(text)) == schedule


def test_get():
    assert schedules.get(0.5) == Constant(0.5)
    assert schedules.get({"class_name": "linear", "config": {"duration": 3}}) == Linear(3)
    with pytest.raises(ValueError, match="sampling schedule 'sigmoid'"):
        schedules.get("sigmoid")


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: Linear(0), "duration=0"),
        (lambda: Cosine(5, floor=0.6, ceiling=0.5), "ceiling=0.5"),
        (lambda: Linear(5, ceiling=1.5), "ceiling=1.5"),
        (lambda: Linear(5, start=-1), "start=-1"),
        (lambda: Linear(5, per="batch"), "per='batch'"),
        (lambda: Exponential(1.5), "rate=1.5"),
        (lambda: InverseSigmoid(0.5), "k=0.5"),
        (lambda: Constant(-0.1), "value=-0.1"),
    ],
)
def test_bad_settings_name_the_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_parse_command_line_specs():
    assert schedules.parse("inverse_sigmoid:k=300,ceiling=0.5") == InverseSigmoid(300, ceiling=0.5)
    assert schedules.parse("linear", duration=1200) == Linear(1200)
    assert schedules.parse("linear:duration=10, per=epoch", duration=99) == Linear(10, per="epoch")
    assert schedules.parse("constant:value=0.25", duration=5) == Constant(0.25)
    for spec, message in [
        ("sigmoid", "Unknown sampling schedule 'sigmoid'"),
        ("linear:speed=3", "Bad setting 'speed=3'"),
        ("linear:duration", "Bad setting 'duration'"),
        ("exponential", "missing 1 required positional argument: 'rate'"),
        ("exponential:rate=2", "rate=2"),
    ]:
        with pytest.raises(ValueError, match=message):
            schedules.parse(spec)
