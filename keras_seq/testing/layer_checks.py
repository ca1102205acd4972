"""One harness for every keras_seq layer.

Keras' own `run_layer_test` (private, in `keras.src.testing`) calls layers with a
single input and trains them through a one-input wrapper model, which does not
fit layers called as `layer(query, memory, memory_mask=...)`. This harness runs
the same checks for keras-style multi-argument calls; an upgrade of Keras touches
only this file.
"""

import json

import keras
import numpy as np
import tensorflow as tf
from keras import ops

POLICIES = ("mixed_float16", "mixed_bfloat16")


def _float_tensors(nest):
    return [
        x
        for x in keras.tree.flatten(nest)
        if x is not None and keras.backend.is_float_dtype(keras.backend.standardize_dtype(x.dtype))
    ]


def _symbolic(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return keras.KerasTensor(tuple(value.shape), dtype=keras.backend.standardize_dtype(value.dtype))


def run_layer_checks(
    layer_cls, init_kwargs, call_kwargs, float32_outputs=(), policies=POLICIES, check_training=True
):
    """Checks a layer the way every keras_seq layer must behave.

    1. Eager call; config round trip through `from_config` and through JSON
       (`serialize_keras_object`) gives a layer with the same outputs once the
       weights are copied.
    2. Symbolic call on `KerasTensor`s gives the eager shapes and dtypes.
    3. One training step: every trainable weight gets a finite gradient.
    4. Under each mixed policy: floating outputs in the compute dtype (except
       the positions in `float32_outputs`, which stay float32), variables
       float32, all values finite.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments, or a function returning them (for
            arguments that are layers, which must not be shared).
        call_kwargs: call arguments by name (tensors or Python values).
        float32_outputs: indices (into the flattened outputs) documented float32.
        policies: dtype policies to check.
        check_training: run the gradient check.

    Returns:
        The eager outputs of the float32 layer.
    """
    make_kwargs = init_kwargs if callable(init_kwargs) else lambda: dict(init_kwargs)
    layer = layer_cls(**make_kwargs())
    outputs = layer(**call_kwargs)
    flat = keras.tree.flatten(outputs)

    clone = layer_cls.from_config(layer.get_config())
    clone(**call_kwargs)
    clone.set_weights(layer.get_weights())
    for a, b in zip(flat, keras.tree.flatten(clone(**call_kwargs)), strict=True):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-6)
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is layer_cls
    assert _without_build(revived.get_config()) == _without_build(layer.get_config())

    symbolic_layer = layer_cls(**make_kwargs())
    symbolic = symbolic_layer(
        **{k: keras.tree.map_structure(_symbolic, v) for k, v in call_kwargs.items()}
    )
    for eager, spec in zip(flat, keras.tree.flatten(symbolic), strict=True):
        assert tuple(spec.shape)[1:] == tuple(eager.shape)[1:], (spec.shape, eager.shape)
        assert keras.backend.standardize_dtype(spec.dtype) == keras.backend.standardize_dtype(
            eager.dtype
        )

    if check_training and layer.trainable_weights:
        with tf.GradientTape() as tape:
            loss = sum(
                ops.sum(ops.cast(x, "float32"))
                for x in _float_tensors(
                    layer(**call_kwargs, **({"training": True} if _accepts_training(layer) else {}))
                )
            )
        grads = tape.gradient(loss, layer.trainable_weights)
        for weight, grad in zip(layer.trainable_weights, grads, strict=True):
            assert grad is not None, f"no gradient for {weight.path}"
            assert np.all(np.isfinite(ops.convert_to_numpy(grad))), weight.path

    for policy in policies:
        mixed = layer_cls(**{**make_kwargs(), "dtype": policy})
        mixed_flat = keras.tree.flatten(mixed(**call_kwargs))
        for i, x in enumerate(mixed_flat):
            dtype = keras.backend.standardize_dtype(x.dtype)
            if keras.backend.is_float_dtype(dtype):
                expected = "float32" if i in float32_outputs else mixed.compute_dtype
                assert dtype == expected, f"{policy}: output {i} is {dtype}, expected {expected}"
                assert np.all(np.isfinite(ops.convert_to_numpy(ops.cast(x, "float32"))))
        for weight in mixed.weights:
            if keras.backend.is_float_dtype(weight.dtype):
                assert weight.dtype == "float32", f"{policy}: {weight.path} is {weight.dtype}"
    return outputs


def _accepts_training(layer):
    import inspect

    return "training" in inspect.signature(layer.call).parameters


def _without_build(config):
    """A config without the build records that only built layers carry."""
    if isinstance(config, dict):
        return {
            k: _without_build(v)
            for k, v in config.items()
            if k not in ("build_config", "compile_config")
        }
    if isinstance(config, list):
        return [_without_build(v) for v in config]
    return config
