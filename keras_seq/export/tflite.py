"""Builtins-only TFLite export of in-graph greedy and beam search."""

import os

import tensorflow as tf

from keras_seq.export.inference import Translator

QUANTIZATIONS = ("float32", "float16", "int8")
FORBIDDEN_PREFIXES = ("Flex", "CUSTOM", "DELEGATE")
VARIABLE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")


def tflite_function(translator, method):
    """The function converted for `method`, with its variables frozen into constants.

    Input: `source_ids` int32 `(1, max_source_length)`, right-padded. Outputs:
    `ids`, `lengths`, `scores`. A variable read inside the decoding `WHILE` body
    would convert to `VAR_HANDLE`/`READ_VARIABLE` ops that fail at invoke, so the
    graph is frozen first; the frozen graph is wrapped again so that the
    signature keeps its output names.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec([1, translator.max_source_length], tf.int32, name="source_ids")

    @tf.function(input_signature=[spec])
    def decode(source_ids):
        return translator.decode_ids(source_ids, method)

    concrete = decode.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=False)
    keys = sorted(concrete.structured_outputs)  # the frozen outputs come in this order

    @tf.function(input_signature=[spec])
    def named(source_ids):
        return dict(zip(keys, frozen(source_ids), strict=True))

    return named.get_concrete_function()


def convert(translator, method, quantization="float32"):
    """Converts greedy or beam decoding to a TFLite flatbuffer with builtin ops only.

    No Flex delegate and no custom ops: `TFLITE_BUILTINS` is the only op set,
    and the result is checked op by op, in every subgraph (loop bodies included).

    Args:
        translator: a `Translator`.
        method: `"greedy"` or `"beam"`.
        quantization: `"float32"`, `"float16"` (float16 weights) or `"int8"`
            (dynamic-range int8 weights).

    Returns:
        The model as bytes.

    Raises:
        ValueError: for an unknown method or quantization, or a converted model
            holding an op that is not a builtin.
    """
    if not isinstance(translator, Translator):
        raise ValueError(f"Expected a Translator. Received: {translator!r}")
    if method not in ("greedy", "beam"):
        raise ValueError(f"`method` must be 'greedy' or 'beam'. Received: method={method!r}")
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {QUANTIZATIONS}. Received: {quantization!r}"
        )
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [tflite_function(translator, method)], tf.Module()
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    content = converter.convert()
    check_builtins_only(content)
    return content


def op_names(content):
    """Sorted names of the ops in every subgraph of a TFLite model (loop bodies too)."""
    from tensorflow.lite.python import schema_py_generated as schema

    builtin_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    codes = []
    for code in model.operatorCodes:
        if code.customCode:
            codes.append(f"CUSTOM:{code.customCode.decode()}")
        else:
            codes.append(builtin_names[max(code.builtinCode, code.deprecatedBuiltinCode)])
    return sorted(
        {codes[op.opcodeIndex] for graph in model.subgraphs for op in graph.operators or []}
    )


def check_builtins_only(content):
    """Raises ValueError if the model needs the Flex delegate, a custom op, or variables."""
    names = op_names(content)
    bad = [n for n in names if n.startswith(FORBIDDEN_PREFIXES) or n in VARIABLE_OPS]
    if bad:
        raise ValueError(
            f"The TFLite model holds non-builtin or variable ops {bad}; all ops: {names}"
        )
    return names


def export_tflite(translator, directory, quantizations=QUANTIZATIONS):
    """Writes `greedy.tflite`, `beam.tflite` and their `_float16` / `_int8` variants.

    Returns:
        dict from file name to its path.
    """
    os.makedirs(directory, exist_ok=True)
    written = {}
    for method in ("greedy", "beam"):
        for quantization in quantizations:
            suffix = "" if quantization == "float32" else f"_{quantization}"
            name = f"{method}{suffix}.tflite"
            path = os.path.join(directory, name)
            with open(path, "wb") as f:
                f.write(convert(translator, method, quantization))
            written[name] = path
    return written
