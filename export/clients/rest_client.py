"""Translate through TF Serving's REST API.

    python export/clients/rest_client.py "in 3 days" "$1,234.50" \
        --url http://localhost:8501/v1/models/translator:predict
"""

import argparse
import json
import sys
import urllib.error
import urllib.request


def build_request(texts, signature_name="serving_default"):
    """The JSON body of a columnar `:predict` request for the text signature."""
    return {"signature_name": signature_name, "inputs": {"text": list(texts)}}


def parse_response(body):
    """`[(translation, score, truncated), ...]` from a `:predict` response body.

    Raises:
        RuntimeError: with the server's message, for an error body `{"error": ...}`.
    """
    if "error" in body:
        raise RuntimeError(f"TF Serving answered with an error: {body['error']}")
    outputs = body["outputs"]
    return list(zip(outputs["translation"], outputs["score"], outputs["truncated"], strict=True))


def translate(texts, url, timeout=30.0):
    data = json.dumps(build_request(texts)).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # TF Serving puts its message in a JSON body
        body = error.read()
    return parse_response(json.loads(body.decode("utf-8")))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Translate with a TF Serving REST endpoint.")
    parser.add_argument("texts", nargs="+")
    parser.add_argument("--url", default="http://localhost:8501/v1/models/translator:predict")
    args = parser.parse_args(argv)
    for text, (translation, score, truncated) in zip(
        args.texts, translate(args.texts, args.url), strict=True
    ):
        note = " (source truncated)" if truncated else ""
        print(f"{text}\t{translation}\t{score:.3f}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
