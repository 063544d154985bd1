"""The threat-intelligence service's wire shape of a threat classification, shared by classify/threat,
analyze/media and the SAIT verify endpoint.

Facts its clients read: severity is an int 1-5; `sait_threat_level` is "critical" at 4 and up,
"moderate" at 3, "low" below; a category without a Polisen type reads "Annan händelse"; severity 4 and up
recommends an immediate response, 3 close monitoring.
"""

from __future__ import annotations

from typing import Any, TypedDict

from inference.runtimes.protocols import ThreatRules

NO_POLISEN_TYPE = "Annan händelse"


class Classification(TypedDict):
    threat_category: str
    threat_subcategory: str
    severity: int
    confidence: float


class ProductMappings(TypedDict):
    halo_incident_type: str
    polisen_type: str
    frontline_objects: list[str]
    sait_threat_level: str


def severity_number(levels: list[str], level: str) -> int:
    """A level of the taxonomy's scale as the old 1-5 int (a scale of another length is stretched)."""
    index = levels.index(level)
    return 1 + round(index * 4 / (len(levels) - 1))


def sait_threat_level(severity: int) -> str:
    if severity >= 4:
        return "critical"
    return "moderate" if severity == 3 else "low"


def recommendations(severity: int) -> list[str]:
    if severity >= 4:
        return ["Immediate response recommended", "Alert nearby Halo users"]
    if severity >= 3:
        return ["Monitor situation closely"]
    return []


def classification(predictor: ThreatRules, result: dict[str, Any]) -> tuple[Classification, ProductMappings]:
    """The runtime's result as the old `classification` and `product_mappings` objects."""
    category = result["threat_category"]
    found = predictor.categories.get(category)
    mappings: dict[str, list[str]] = found.mappings if found is not None else {}
    halo = mappings.get("halo_types") or [category]
    polisen = mappings.get("polisen_types") or [NO_POLISEN_TYPE]
    severity = severity_number(predictor.levels, result["severity"])
    return (
        {
            "threat_category": category,
            "threat_subcategory": halo[0],
            "severity": severity,
            "confidence": result["confidence"],
        },
        {
            "halo_incident_type": halo[0],
            "polisen_type": polisen[0],
            "frontline_objects": list(mappings.get("frontline_objects", [])),
            "sait_threat_level": sait_threat_level(severity),
        },
    )
