"""`ks.optimizers`: Keras' optimizers with a bias-corrected moving average of the weights."""

import keras
import numpy as np
import pytest

import keras_seq as ks


class KernelAfterEachStep(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.kernels = []

    def on_train_batch_end(self, batch, logs=None):
        self.kernels.append(self.model.layers[0].kernel.numpy().copy())


@pytest.mark.parametrize("optimizer_class", [ks.optimizers.Adam, ks.optimizers.Nadam])
def test_the_average_weighs_each_step_by_the_momentum_and_not_the_initial_weights(
    optimizer_class, tmp_path
):
    momentum = 0.9
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer_class(0.1, use_ema=True, ema_momentum=momentum), loss="mse")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    recorder = KernelAfterEachStep()
    model.fit(
        x, np.ones((4, 1), "float32"), batch_size=4, epochs=8, verbose=0, callbacks=[recorder]
    )

    steps = np.stack(recorder.kernels)  # the weights after each of the 8 steps
    weights = momentum ** np.arange(len(steps))[::-1]  # the last step weighs most
    expected = np.tensordot(weights / weights.sum(), steps, axes=1)
    average = model.optimizer._model_variables_moving_average[0].numpy()
    np.testing.assert_allclose(average, expected, rtol=1e-5, atol=1e-6)
    # Keras' own average still holds 0.9 ** 7 (48 %) of the first step's weights.
    keras_average = momentum**7 * steps[0] + np.tensordot(
        (1 - momentum) * weights[1:], steps[1:], 1
    )
    assert np.abs(keras_average - expected).max() > 100 * np.abs(average - expected).max()

    path = tmp_path / "model.keras"  # registered: a saved model loads with its optimizer
    model.save(path)
    loaded = keras.models.load_model(path).optimizer
    assert type(loaded) is optimizer_class and loaded.use_ema and loaded.ema_momentum == 0.9


def test_without_an_average_they_are_keras_optimizers():
    keras.utils.set_random_seed(0)
    ours, theirs = (
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
        for _ in range(2)
    )
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    for model, optimizer in ((ours, ks.optimizers.Adam(0.1)), (theirs, keras.optimizers.Adam(0.1))):
        model.compile(optimizer, loss="mse")
        model.fit(x, y, epochs=3, verbose=0)
    np.testing.assert_array_equal(ours.get_weights()[0], theirs.get_weights()[0])
