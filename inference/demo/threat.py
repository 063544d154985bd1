"""The demo threat classifier: the default taxonomy, inference/data/threat_taxonomy.json."""

from __future__ import annotations

import shutil
from pathlib import Path

from inference.demo import DemoArtifact
from inference.runtimes.threat_rules import DEFAULT_TAXONOMY_PATH, default_taxonomy

MODEL_NAME = "threat_classifier"  # seed_demo skips building when this model has a version


def build(dest_dir: Path) -> DemoArtifact:
    taxonomy = default_taxonomy()
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / "threat_taxonomy.json"
    shutil.copyfile(DEFAULT_TAXONOMY_PATH, path)
    return DemoArtifact(
        model_name=MODEL_NAME,
        runtime="threat_rules",
        path=path,
        version=taxonomy["taxonomy_version"],
        description="Rules-based threat classifier: keywords for text, rules for detections and sounds.",
        metadata={
            "taxonomy_version": taxonomy["taxonomy_version"],
            "categories": list(taxonomy["categories"]),
        },
        notes="The default taxonomy. Changing a category, keyword or threshold is a new version.",
    )
