"""The 30-class SAIT taxonomy of security sounds: the audio classifier's defaults.

A version's metadata may name its own classes (`class_names`) and map them to threat categories
(`threat_map`: {class: {"category", "severity", "priority"}}); where it does not, these apply. Severity
is one of SEVERITY_LEVELS; priority 1 is the most urgent.
"""

from __future__ import annotations

from typing import Any

SEVERITY_LEVELS = ("info", "low", "medium", "high", "critical")
PRIORITY_OF_SEVERITY = {"critical": 1, "high": 2, "medium": 3, "low": 4, "info": 5}
UNKNOWN = {"category": "unknown", "severity": "info", "priority": 5}

# (class name, threat category, severity), in class-id order.
SAIT_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("gunshot", "weapon", "critical"),
    ("automatic_gunfire", "weapon", "critical"),
    ("explosion", "explosion", "critical"),
    ("glass_breaking", "intrusion", "high"),
    ("door_breaking", "intrusion", "high"),
    ("car_alarm", "intrusion", "medium"),
    ("scream", "distress", "high"),
    ("crying", "distress", "medium"),
    ("shouting", "aggression", "medium"),
    ("fighting", "aggression", "high"),
    ("siren", "emergency", "medium"),
    ("fire_alarm", "emergency", "high"),
    ("smoke_alarm", "emergency", "high"),
    ("vehicle_crash", "emergency", "high"),
    ("tire_screech", "vehicle", "medium"),
    ("car_horn", "vehicle", "low"),
    ("engine_idling", "vehicle", "info"),
    ("helicopter", "vehicle", "low"),
    ("drone", "surveillance", "medium"),
    ("footsteps", "activity", "low"),
    ("door_knock", "activity", "low"),
    ("dog_bark", "animal", "low"),
    ("speech", "human", "info"),
    ("crowd", "human", "low"),
    ("music", "background", "info"),
    ("rain", "environment", "info"),
    ("wind", "environment", "info"),
    ("thunder", "environment", "low"),
    ("silence", "background", "info"),
    ("background_noise", "background", "info"),
)


def default_class_names() -> list[str]:
    return [name for name, _, _ in SAIT_CLASSES]


def default_threat_map() -> dict[str, dict[str, Any]]:
    return {
        name: {"category": category, "severity": severity, "priority": PRIORITY_OF_SEVERITY[severity]}
        for name, category, severity in SAIT_CLASSES
    }


def threat_map_for(class_names: list[str], overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each class's threat entry: the metadata's override, else the SAIT default, else "unknown"."""
    defaults = default_threat_map()
    overrides = overrides or {}
    result = {}
    for name in class_names:
        entry = {**UNKNOWN, **defaults.get(name, {}), **overrides.get(name, {})}
        if entry["severity"] not in PRIORITY_OF_SEVERITY:
            raise ValueError(
                f"threat_map[{name!r}].severity is {entry['severity']!r}; use one of {', '.join(SEVERITY_LEVELS)}."
            )
        if name in overrides and "priority" not in overrides[name]:
            entry["priority"] = PRIORITY_OF_SEVERITY[entry["severity"]]
        result[name] = entry
    unknown = sorted(set(overrides) - set(class_names))
    if unknown:
        raise ValueError(f"threat_map names classes the model does not have: {', '.join(unknown)}.")
    return result
