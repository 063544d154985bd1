"""The demo threat classifier: two versions of the taxonomy.

2.0.0 (active): the threat-intelligence service's eight categories and product mappings
(inference/data/threat_taxonomy_intelligence.json), what its clients expect. 1.0.0: Atlas's richer
taxonomy (inference/data/threat_taxonomy.json), registered beside it for anyone to promote.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from inference.demo import DemoArtifact
from inference.runtimes.threat_rules import (
    DEFAULT_TAXONOMY_PATH,
    EXTENDED_TAXONOMY_PATH,
    default_taxonomy,
    extended_taxonomy,
)

MODEL_NAME = "threat_classifier"  # seed_demo skips building when this model has a version


def _artifact(
    source: Path, taxonomy: dict[str, Any], dest: Path, notes: str, also: tuple[DemoArtifact, ...] = ()
) -> DemoArtifact:
    shutil.copyfile(source, dest)
    return DemoArtifact(
        model_name=MODEL_NAME,
        runtime="threat_rules",
        path=dest,
        version=taxonomy["taxonomy_version"],
        description="Rules-based threat classifier: keywords for text, rules for detections and sounds.",
        metadata={"taxonomy_version": taxonomy["taxonomy_version"], "categories": list(taxonomy["categories"])},
        notes=notes,
        also=also,
    )


def build(dest_dir: Path) -> DemoArtifact:
    dest_dir.mkdir(parents=True, exist_ok=True)
    extended = _artifact(
        EXTENDED_TAXONOMY_PATH,
        extended_taxonomy(),
        dest_dir / "threat_taxonomy_extended.json",
        "Atlas's richer taxonomy (terrorism, cyber threats, emergencies...); promote it to use it.",
    )
    return _artifact(
        DEFAULT_TAXONOMY_PATH,
        default_taxonomy(),
        dest_dir / "threat_taxonomy.json",
        "The threat-intelligence service's eight categories and product mappings. A change is a new version.",
        also=(extended,),
    )
