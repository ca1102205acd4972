import numpy as np
import pytest

from keras_seq.layers import RNNEncoder
from keras_seq.testing import run_layer_checks

IDS = np.array([[5, 6, 7, 0, 0], [8, 9, 0, 0, 0]], "int32")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_layer_checks(cell, bidirectional):
    run_layer_checks(
        RNNEncoder,
        {
            "vocab_size": 12,
            "embedding_dim": 4,
            "units": 3,
            "num_layers": 2,
            "cell": cell,
            "bidirectional": bidirectional,
            "residual": True,
            "layer_norm": True,
        },
        {"source_ids": IDS},
    )


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_outputs_and_states(cell):
    encoder = RNNEncoder(12, 4, 3, num_layers=2, cell=cell)
    memory, mask, states = encoder(IDS)
    assert memory.shape == (2, 5, 6)
    np.testing.assert_array_equal(mask, IDS != 0)
    assert len(states) == 2
    assert all(len(layer) == (2 if cell == "lstm" else 1) for layer in states)
    assert all(s.shape == (2, 6) for layer in states for s in layer)


@pytest.mark.parametrize("options", [{}, {"residual": True, "layer_norm": True}])
def test_padding_invariance(options):
    encoder = RNNEncoder(12, 4, 3, num_layers=2, **options)
    memory, _, states = encoder(IDS[1:, :2])
    padded_memory, _, padded_states = encoder(IDS[1:])
    np.testing.assert_allclose(padded_memory[:, :2], memory, rtol=1e-5, atol=1e-6)
    for a, b in zip(states, padded_states, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"vocab_size": 0}, "vocab_size=0"),
        ({"cell": "elman"}, "cell='elman'"),
        ({"num_layers": 0}, "num_layers=0"),
        ({"dropout": 1.5}, "dropout=1.5"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RNNEncoder(**{"vocab_size": 10, "embedding_dim": 4, "units": 3, **kwargs})
