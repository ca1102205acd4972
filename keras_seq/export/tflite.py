"""Builtins-only TFLite export of in-graph greedy and beam search."""

import json
import os

import numpy as np
import tensorflow as tf

from keras_seq import decoding, files
from keras_seq.export._noise import known_noise_dropped
from keras_seq.export.inference import TranslatorModule, result_outputs

QUANTIZATIONS = ("float32", "float16", "int8")
FORBIDDEN_PREFIXES = ("Flex", "CUSTOM", "DELEGATE")
VARIABLE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")
# Search strategies that convert: their loops use only builtin ops.
CONVERTIBLE = (decoding.GreedySearch, decoding.BeamSearch)
STRATEGY_METADATA = "keras_seq.decoding"


def tflite_function(translator, strategy, with_attention=False, quantization="float32"):
    """The function converted for `strategy`, with its variables frozen into constants.

    Input: `source_ids` int32 `(1, max_source_length)`, right-padded. Outputs:
    `ids`, `lengths`, `scores`, and with `with_attention` the attention weights
    `attention` float32 `(1, K, max_target_length, max_source_length)`.

    With a shortlist, an int8 beam-search file computes the candidates' logits
    from the whole int8 projection (`LexicalShortlist(projection="logits")`):
    its gathered columns would be float32, multiplied by several hypotheses at
    every step, which measured slower than the int8 projection itself
    (docs/performance.md). Greedy search and the float files gather the columns.
    """
    spec = tf.TensorSpec([1, translator.max_source_length], tf.int32, name="source_ids")
    shortlist = translator.shortlist
    several_rows = isinstance(strategy, decoding.BeamSearch) and strategy.beam_size > 1
    if shortlist is not None and quantization == "int8" and several_rows:
        shortlist = shortlist.with_projection("logits")
    return frozen_function(
        lambda source_ids: result_outputs(
            translator.decode_ids(
                source_ids, strategy, return_attention=with_attention, shortlist=shortlist
            )
        ),
        [spec],
    )


def frozen_function(function, input_signature):
    """A concrete function of `function` (returning a dict) with its variables as constants.

    A variable read inside a converted `WHILE` body would become `VAR_HANDLE` /
    `READ_VARIABLE` ops that fail at invoke, so the graph is frozen first; the
    frozen graph is wrapped again so that the signature keeps its output names.
    """
    from tensorflow.python.framework.convert_to_constants import (  # deferred: export only
        convert_variables_to_constants_v2,
    )

    with known_noise_dropped():
        concrete = tf.function(function, input_signature=input_signature).get_concrete_function()
        frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=False)
    keys = sorted(concrete.structured_outputs)  # the frozen outputs come in this order

    @tf.function(input_signature=input_signature)
    def named(*inputs):
        return dict(zip(keys, frozen(*inputs), strict=True))

    return named.get_concrete_function()


def check_quantization(quantization):
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {QUANTIZATIONS}. Received: {quantization!r}"
        )


def convert_concrete(concrete, quantization="float32"):
    """A concrete function as a TFLite flatbuffer with builtin ops only, checked op by op.

    `quantization`: `"float32"`, `"float16"` (float16 weights) or `"int8"`
    (dynamic-range int8 weights).
    """
    check_quantization(quantization)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantization != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    with known_noise_dropped():
        content = converter.convert()
    check_builtins_only(content)
    return content


def convert(translator, strategy, quantization="float32", with_attention=False):
    """Converts greedy or beam search to a TFLite flatbuffer with builtin ops only.

    No Flex delegate and no custom ops: `TFLITE_BUILTINS` is the only op set,
    and the result is checked op by op, in every subgraph (loop bodies included).
    The strategy's config is recorded in the model's metadata
    (`"keras_seq.decoding"`; read it with `tflite_strategy`).

    Args:
        translator: a `TranslatorModule`.
        strategy: a `GreedySearch` or `BeamSearch` (object, name or config).
        quantization: `"float32"`, `"float16"` (float16 weights) or `"int8"`
            (dynamic-range int8 weights).
        with_attention: add the `attention` output (each step's weights over the
            source tokens, for heat maps; see `tflite_function`).

    Returns:
        The model as bytes.

    Raises:
        ValueError: for a strategy that does not convert (sampling), an unknown
            quantization, or a converted model holding an op that is not a builtin.
    """
    if not isinstance(translator, TranslatorModule):
        raise ValueError(
            f"Expected a TranslatorModule (ks.Translator.module()). Received: {translator!r}"
        )
    strategy = decoding.get(strategy)
    if not isinstance(strategy, CONVERTIBLE):
        raise ValueError(
            f"TFLite export supports GreedySearch and BeamSearch. Received: strategy={strategy!r}"
        )
    check_quantization(quantization)
    concrete = tflite_function(translator, strategy, with_attention, quantization)
    content = convert_concrete(concrete, quantization)
    return add_metadata(content, STRATEGY_METADATA, json.dumps(decoding.serialize(strategy)))


def add_metadata(content, name, text):
    """`content` (a TFLite model) with a metadata entry `name` holding UTF-8 `text`."""
    from tensorflow.lite.python import schema_py_generated as schema  # deferred: export only
    from tensorflow.lite.tools import flatbuffer_utils  # deferred: heavy, export only

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(text.encode("utf-8"), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = name
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name.decode() != name] + [entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_metadata(content):
    """`{name: bytes}` of a TFLite model's metadata entries."""
    from tensorflow.lite.tools import flatbuffer_utils  # deferred: heavy, export only

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    return {
        entry.name.decode(): bytes(model.buffers[entry.buffer].data)
        for entry in model.metadata or []
    }


def tflite_strategy(content):
    """The decoding strategy recorded in a `.tflite` model written by `convert`."""
    return decoding.get(json.loads(read_metadata(content)[STRATEGY_METADATA]))


def op_names(content):
    """Sorted names of the ops in every subgraph of a TFLite model (loop bodies too)."""
    from tensorflow.lite.python import schema_py_generated as schema  # deferred: export only

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
    """Writes one model per convertible strategy of `translator.ids_strategies()`.

    Files: `greedy.tflite`, and e.g. `beam.tflite` for a beam-search translator,
    each with `_float16` / `_int8` variants. Each file is written to a temporary
    name and renamed, so a failed conversion leaves no partial file.

    Returns:
        dict from file name to its path.
    """
    os.makedirs(directory, exist_ok=True)
    written = {}
    for name, strategy in translator.ids_strategies().items():
        if not isinstance(strategy, CONVERTIBLE):
            continue
        for quantization in quantizations:
            suffix = "" if quantization == "float32" else f"_{quantization}"
            file_name = f"{name}{suffix}.tflite"
            content = convert(translator, strategy, quantization)
            written[file_name] = write_atomically(os.path.join(directory, file_name), content)
    return written


def write_atomically(path, content):
    """Writes bytes to `path` through a temporary file in the same folder; returns `path`."""
    return files.write_bytes(path, content)
