"""The deployment clients against the exported artifacts (no model server here)."""

import http.server
import importlib.util
import json
import os
import threading

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops the SavedModel uses)

from keras_seq.data import SubwordTokenizer
from tests.export.conftest import MAX_SOURCE, ROOT, padded_ids

# Its module fixtures are built once: the module runs on one test worker.
pytestmark = pytest.mark.xdist_group("test_clients")

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


def texts_out(tensor):
    return [t.decode("utf-8") for t in tensor.numpy()]


# ------------------------------------------------------------------------- REST
def test_rest_request_is_tf_servings_columnar_format():
    rest = client("rest_client")
    # TF Serving's REST API: {"signature_name": ..., "inputs": {input name: list}}.
    assert json.loads(json.dumps(rest.build_request(TEXTS))) == {
        "signature_name": "serving_default",
        "inputs": {"text": TEXTS},
    }


def test_rest_response_as_tf_serving_writes_it():
    rest = client("rest_client")
    # A columnar response of a signature with several named outputs, as documented.
    body = (
        '{"outputs": {"score": [-0.25, 0.0], "translation": ["in 3 tagen", ""], '
        '"truncated": [false, true]}}'
    )
    assert rest.parse_response(json.loads(body)) == [
        ("in 3 tagen", -0.25, False),
        ("", 0.0, True),
    ]
    with pytest.raises(RuntimeError, match="Expected arg"):
        rest.parse_response({"error": "Expected arg[0] to be a string"})


class FakeServing(http.server.BaseHTTPRequestHandler):
    """A `:predict` endpoint answering from the exported SavedModel, in TF Serving's JSON."""

    signature = None

    def do_POST(self):  # the name http.server calls
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/models/translator:predict" or "inputs" not in request:
            self.send_response(400)
            body = {"error": f"bad request {self.path}"}
        else:
            outputs = type(self).signature(text=tf.constant(request["inputs"]["text"]))
            self.send_response(200)
            body = {
                "outputs": {
                    "translation": texts_out(outputs["translation"]),
                    "score": outputs["score"].numpy().tolist(),
                    "truncated": outputs["truncated"].numpy().tolist(),
                }
            }
        data = json.dumps(body).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def rest_server(serving):
    FakeServing.signature = staticmethod(serving[1])
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeServing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_rest_client_over_http_translates_like_the_saved_model(serving, rest_server):
    rest = client("rest_client")
    _, signature = serving
    expected = signature(text=tf.constant(TEXTS))
    got = rest.translate(TEXTS, f"{rest_server}/v1/models/translator:predict")
    assert [g[0] for g in got] == texts_out(expected["translation"])
    np.testing.assert_allclose([g[1] for g in got], expected["score"].numpy(), rtol=1e-6)
    assert got[2] == ("", 0.0, False)
    with pytest.raises(RuntimeError, match="bad request /v1/models/other:predict"):
        rest.translate(TEXTS, f"{rest_server}/v1/models/other:predict")


# ------------------------------------------------------------------------- gRPC
def test_grpc_request_and_response(serving):
    grpc_client = client("grpc_client")
    from tensorflow_serving.apis import predict_pb2

    _, signature = serving
    request = grpc_client.build_request(TEXTS, model_name="translator")
    request = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert request.model_spec.name == "translator"
    assert request.model_spec.signature_name == "serving_default"
    sent = [t.decode() for t in tf.make_ndarray(request.inputs["text"])]
    assert sent == TEXTS
    outputs = signature(text=tf.constant(TEXTS))
    response = predict_pb2.PredictResponse()
    for name, value in outputs.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
    parsed = grpc_client.parse_response(
        predict_pb2.PredictResponse.FromString(response.SerializeToString())
    )
    assert [p[0] for p in parsed] == texts_out(outputs["translation"])
    np.testing.assert_allclose([p[1] for p in parsed], outputs["score"].numpy(), rtol=1e-6)
    assert [p[2] for p in parsed] == outputs["truncated"].numpy().tolist()


# ------------------------------------------------------------------------ LiteRT
@pytest.mark.parametrize("name", ["beam.tflite", "greedy.tflite"])
def test_litert_client_translates_like_the_saved_model(exported_run, serving, name):
    litert = client("litert_client")
    run, pairs = exported_run
    loaded, signature = serving
    translator = litert.LiteRTTranslator(
        os.path.join(run, "tflite", name), os.path.join(run, "vocab")
    )
    texts = [s for s, _ in pairs[:15]] + ["", "nine " * 60]
    text_outputs = signature(text=tf.constant(texts))  # beam search, the run's strategy
    if name == "beam.tflite":
        expected = texts_out(text_outputs["translation"])
    else:
        # The SavedModel's greedy signature on ids from the TF Text tokenizer; text without
        # tokens translates to "" (the documented policy).
        source = SubwordTokenizer.load(os.path.join(run, "vocab", "source"))
        target = SubwordTokenizer.load(os.path.join(run, "vocab", "target"))
        ids = padded_ids(source, texts, MAX_SOURCE)
        greedy = loaded.signatures["greedy"](source_ids=tf.constant(ids))
        decoded = texts_out(target.detokenize(greedy["ids"][:, 0]))
        expected = [d if row.any() else "" for d, row in zip(decoded, ids, strict=True)]
    got = [translator.translate(t) for t in texts]
    assert [g[0] for g in got] == expected
    assert [g[2] for g in got] == text_outputs["truncated"].numpy().tolist()
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
