"""What a predictor answers to a request body, for the golden gates (models_registry.golden).

One function per runtime, registered by name in settings.ATLAS_GOLDEN_ANSWERS: answer(predictor, body)
-> the fields of the endpoint's answer that a golden entry may pin. They parse the body with the same
functions as the endpoints, so a golden input is exactly what a client would send (audio and images as
base64, since a golden set is JSON). A body the endpoint would refuse raises ValueError.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

from inference.runtimes.protocols import AudioClassifier, Detector, DigitClassifier, TensorModel, ThreatRules


def _decoded(body: dict[str, Any], key: str) -> bytes:
    try:
        return base64.b64decode(body[key], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(f'a golden input for this model needs "{key}" (base64): {exc}') from None


def digits(predictor: DigitClassifier, body: dict[str, Any]) -> dict[str, Any]:
    from inference.api.digits import PixelsError, digit_prediction, parse_pixels

    try:
        pixels = parse_pixels(json.dumps(body).encode())
    except PixelsError as exc:
        raise ValueError(exc.detail) from None
    return digit_prediction(predictor, pixels)


def threat(predictor: ThreatRules, body: dict[str, Any]) -> dict[str, Any]:
    from inference.api import threat_shape
    from inference.api.threat import classify_parts

    if not isinstance(body, dict) or "type" not in body or "data" not in body:
        raise ValueError('a golden input for the threat classifier is a request body: {"type", "data"}')
    result = classify_parts(predictor, body["type"], body["data"])
    found, mappings = threat_shape.classification(predictor, result)
    return {"classification": found, "product_mappings": mappings, "keywords_matched": result["keywords_matched"]}


def audio(predictor: AudioClassifier, body: dict[str, Any]) -> dict[str, Any]:
    from inference.api.audio import decode_wav
    from inference.api.uploads import UploadError

    try:
        samples, rate = decode_wav(_decoded(body, "audio_base64"))
    except UploadError as exc:
        raise ValueError(exc.detail) from None
    answer: dict[str, Any] = predictor.classify(samples, rate)
    return answer


def vision(predictor: Detector, body: dict[str, Any]) -> dict[str, Any]:
    from inference.api.uploads import UploadError
    from inference.api.vision import decode_image

    try:
        image = decode_image(_decoded(body, "image_base64"))
    except UploadError as exc:
        raise ValueError(exc.detail) from None
    detections = predictor.detect(image)
    return {
        "detections": detections,
        "count": len(detections),
        "threat_analysis": predictor.threat_analysis(detections),
    }


def tensors(predictor: TensorModel, body: dict[str, Any]) -> dict[str, Any]:
    """onnx, sklearn: a golden input is an Open Inference Protocol infer request (JSON), checked against the
    predictor's own signature; the answer is each output's values, flattened row-major, by name."""
    from inference.v2_codec import V2Error, parse_infer

    try:
        parsed = parse_infer(json.dumps(body).encode(), None, predictor.signature)
    except V2Error as exc:
        raise ValueError(str(exc)) from None
    results = predictor.infer(parsed.inputs, [name for name, _ in parsed.outputs])
    return {name: np.asarray(values).reshape(-1).tolist() for name, values in results.items()}
