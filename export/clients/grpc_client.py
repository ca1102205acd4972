"""Translate through TF Serving's gRPC API (tensorflow-serving-api PredictRequest).

python export/clients/grpc_client.py "in 3 days" --address localhost:8500
"""

import argparse
import sys


def build_request(texts, model_name="translator", signature_name="serving_default"):
    """A `PredictRequest` for the text signature."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    request.inputs["text"].CopyFrom(
        tf.make_tensor_proto([t.encode("utf-8") for t in texts], dtype=tf.string)
    )
    return request


def parse_response(response):
    """`[(translation, score, truncated), ...]` from a `PredictResponse`."""
    import tensorflow as tf

    translations = tf.make_ndarray(response.outputs["translation"])
    scores = tf.make_ndarray(response.outputs["score"])
    truncated = tf.make_ndarray(response.outputs["truncated"])
    return [
        (t.decode("utf-8"), float(s), bool(c))
        for t, s, c in zip(translations, scores, truncated, strict=True)
    ]


def translate(texts, address, model_name="translator", timeout=30.0):
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return parse_response(stub.Predict(build_request(texts, model_name), timeout=timeout))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Translate with a TF Serving gRPC endpoint.")
    parser.add_argument("texts", nargs="+")
    parser.add_argument("--address", default="localhost:8500")
    parser.add_argument("--model-name", default="translator")
    args = parser.parse_args(argv)
    results = translate(args.texts, args.address, args.model_name)
    for text, (translation, score, truncated) in zip(args.texts, results, strict=True):
        note = " (source truncated)" if truncated else ""
        print(f"{text}\t{translation}\t{score:.3f}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
