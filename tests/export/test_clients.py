"""The deployment clients against the exported artifacts (no model server here)."""

import importlib.util
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)

from tests.export.conftest import ROOT

TEXTS = ["in 3 days", "tuesday, may 23, 1978", "", "$1,234.50"]


def client(name):
    path = os.path.join(ROOT, "export", "clients", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def serving(exported_run):
    run, _ = exported_run
    loaded = tf.saved_model.load(os.path.join(run, "saved_model"))
    return loaded, loaded.signatures["serving_default"]


def test_rest_request_and_response(serving):
    rest = client("rest_client")
    _, signature = serving
    body = json.loads(json.dumps(rest.build_request(TEXTS)))  # what goes over the wire
    assert body["signature_name"] == "serving_default"
    outputs = signature(text=tf.constant(body["inputs"]["text"]))
    # TF Serving's columnar response: {"outputs": {name: list}}, strings as UTF-8 text.
    response = {
        "outputs": {
            "translation": [t.decode("utf-8") for t in outputs["translation"].numpy()],
            "score": outputs["score"].numpy().tolist(),
            "truncated": outputs["truncated"].numpy().tolist(),
        }
    }
    parsed = rest.parse_response(json.loads(json.dumps(response)))
    assert [p[0] for p in parsed] == response["outputs"]["translation"]
    assert parsed[2] == ("", 0.0, False)


def test_grpc_request_and_response(serving):
    grpc_client = client("grpc_client")
    from tensorflow_serving.apis import predict_pb2

    _, signature = serving
    request = grpc_client.build_request(TEXTS, model_name="translator")
    request = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert request.model_spec.name == "translator"
    assert request.model_spec.signature_name == "serving_default"
    outputs = signature(text=tf.constant(tf.make_ndarray(request.inputs["text"])))
    response = predict_pb2.PredictResponse()
    for name, value in outputs.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    parsed = grpc_client.parse_response(
        predict_pb2.PredictResponse.FromString(response.SerializeToString())
    )
    expected = [t.decode() for t in outputs["translation"].numpy()]
    assert [p[0] for p in parsed] == expected
    np.testing.assert_allclose([p[1] for p in parsed], outputs["score"].numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["beam.tflite", "greedy.tflite"])
def test_litert_client_translates_like_the_saved_model(exported_run, serving, name):
    litert = client("litert_client")
    run, pairs = exported_run
    loaded, signature = serving
    translator = litert.LiteRTTranslator(
        os.path.join(run, "tflite", name), os.path.join(run, "vocab")
    )
    texts = [s for s, _ in pairs[:15]] + ["", "nine " * 60]
    if name == "beam.tflite":
        out = signature(text=tf.constant(texts))
        expected = [t.decode() for t in out["translation"].numpy()]
        truncated = out["truncated"].numpy().tolist()
    else:
        source = [translator.source_ids(t)[0] for t in texts]
        ids = loaded.signatures["greedy"](source_ids=tf.constant(np.concatenate(source)))["ids"]
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(
            model_file=os.path.join(run, "vocab", "target.model")
        )
        expected = [
            sp.decode([int(t) for t in row[0] if t > 2]) if text else ""
            for row, text in zip(ids.numpy(), texts, strict=True)
        ]
        truncated = [translator.source_ids(t)[1] for t in texts]
    got = [translator.translate(t) for t in texts]
    assert [g[0] for g in got] == expected
    assert [g[2] for g in got] == truncated
    assert got[-2] == ("", 0.0, False) and got[-1][2] is True


def test_litert_client_command_line(exported_run, capsys):
    litert = client("litert_client")
    run, _ = exported_run
    assert (
        litert.main(
            [
                os.path.join(run, "tflite", "beam.tflite"),
                "in 3 days",
                "--vocab",
                os.path.join(run, "vocab"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("in 3 days\t")
