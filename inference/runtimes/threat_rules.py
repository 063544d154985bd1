"""The `threat_rules` runtime: a versioned JSON taxonomy that scores text, detections and sounds.

The taxonomy names categories with keywords (a list, or {keyword: weight in 0..1}), a severity range and
a threshold, plus rules that map detected classes (`visual_rules`) and sound classes (`audio_rules`) to
categories. Changing it is a new version, registered and promoted like a model. The default,
inference/data/threat_taxonomy_intelligence.json, is the threat-intelligence service's taxonomy;
inference/data/threat_taxonomy.json is Atlas's richer one.

Scoring. Text: the matched keywords of a category combine as 1 - prod(1 - weight), so one keyword of
weight 0.5 gives 0.5 and two give 0.75. A taxonomy with `count_confidence` ({base, per_keyword, max}) scores
by counting instead, as the threat-intelligence service did: min(max, base + per_keyword * n), n the sum of
the matched keywords' weights, each the number of keywords it counts for (1 by default; that service's
substring match counted "gun" and "shot" in "gunshot", so its taxonomy weighs "gunshot" 2).
Keywords match whole words only, case-insensitively ("rob"
is not found in "problem"), with one pattern per category compiled at load. A keyword's last word also
matches its regular English inflections ("gunshot" finds "gunshots", "fight" "fighting", "rob"
"robbed" and "robbery"); a keyword ending in `*` matches any word it begins ("skott*" finds
"skottlossning", for Swedish compounds and endings). Irregular forms ("stolen") are keywords of their
own. Detections and sounds: the confidence of the best matching detection or of the sound. The best
category at or above its threshold wins (ties: the higher severity, then taxonomy order); its severity
climbs its range as the confidence climbs from the threshold to 1 (with `"severity_rule": "highest"`,
always the top of the range; a rule's own `severity` overrides both). Nothing at threshold: the
no-threat category, the lowest severity, confidence 1 - the best score seen (or the taxonomy's
`no_threat_confidence`).

Each category may carry `mappings` (halo_types, polisen_types, frontline_objects, sait_codes): the
product codes the threat-intelligence API's clients read; the runtime only hands them out.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

SCHEMA = "atlas.threat_taxonomy/1"
KINDS = ("text", "visual", "audio")
MAX_TEXT_CHARS = 100_000
MAX_DETECTIONS = 10_000
SEVERITY_RULES = ("scaled", "highest")
# Regular English endings a keyword's last word may carry; the final consonant may double ("robbed").
_INFLECTIONS = "(?:s|es|ed|d|ing|ings|er|ers|ery|eries)"
DEFAULT_TAXONOMY_PATH = Path(__file__).resolve().parent.parent / "data" / "threat_taxonomy_intelligence.json"
EXTENDED_TAXONOMY_PATH = Path(__file__).resolve().parent.parent / "data" / "threat_taxonomy.json"

_T = TypeVar("_T")
# A category that scored: (name, score, the keywords or classes that matched, a rule's fixed severity).
Candidate = tuple[str, float, list[str], str | None]


class TaxonomyError(ValueError):
    """The taxonomy file is not valid; the message says where and why."""


class ThreatInputError(ValueError):
    """The request's data does not fit its type; the message says what is wrong."""


@dataclass(frozen=True)
class Category:
    name: str
    weights: dict[str, float]  # normalised keyword -> weight
    severity_range: tuple[int, int]  # indices into severity_levels
    threshold: float
    pattern: re.Pattern[str] | None
    groups: dict[str, str]  # the pattern's group name -> its keyword
    mappings: dict[str, list[str]]


@dataclass(frozen=True)
class Rule:
    category: str
    classes: frozenset[str]
    min_confidence: float
    min_count: int
    severity: str | None = None


def _normalise(keyword: str) -> str:
    # casefold, like the patterns' IGNORECASE: "ſhooting" matches "shooting" and maps back to it.
    return " ".join(keyword.casefold().split())


def _keyword_regex(keyword: str) -> str:
    if keyword.endswith("*"):  # a word prefix: the rest of the word may be anything
        return r"\s+".join(map(re.escape, keyword[:-1].split())) + r"\w*"
    words = keyword.split()
    last = words[-1]
    ending = ""
    if last[-1].isalpha():
        ending = f"(?:{re.escape(last[-1])}?{_INFLECTIONS})?"
    return r"\s+".join(map(re.escape, words)) + ending


def _keyword_pattern(keywords: list[str]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One alternation, longest phrase first, bounded so that a keyword is never part of a longer word;
    each keyword is a named group, so a match maps back to the keyword whatever its inflection.

    (?<!\\w) and (?!\\w) are \\b that also hold for keywords starting or ending in a non-word character
    ("break-in", "zero-day"); spaces inside a phrase match any run of whitespace.
    """
    if not keywords:
        return None, {}
    ordered = sorted(keywords, key=len, reverse=True)
    groups = {f"k{i}": keyword for i, keyword in enumerate(ordered)}
    parts = [f"(?P<{name}>{_keyword_regex(keyword)})" for name, keyword in groups.items()]
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE), groups


def _number(value: object, where: str, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise TaxonomyError(f"{where} must be a number in {low:g}..{high:g}, got {value!r}.")
    return float(value)


def _require(mapping: dict[str, Any], key: str, kind: type[_T], where: str) -> _T:
    if key not in mapping:
        raise TaxonomyError(f"{where} has no {key!r}.")
    value = mapping[key]
    if not isinstance(value, kind):
        raise TaxonomyError(f"{where}.{key} must be a {kind.__name__}, got {type(value).__name__}.")
    return value


class ThreatClassifier:
    def __init__(self, taxonomy: object):
        if not isinstance(taxonomy, dict):
            raise TaxonomyError("The taxonomy must be a JSON object.")
        if taxonomy.get("schema", SCHEMA) != SCHEMA:
            raise TaxonomyError(f"Unknown taxonomy schema {taxonomy.get('schema')!r}; this runtime reads {SCHEMA!r}.")
        self.version = str(taxonomy.get("taxonomy_version", ""))
        levels = _require(taxonomy, "severity_levels", list, "taxonomy")
        if len(levels) < 2 or not all(isinstance(x, str) for x in levels) or len(set(levels)) != len(levels):
            raise TaxonomyError("taxonomy.severity_levels must list at least two distinct names, lowest first.")
        self.levels: list[str] = levels
        self.no_threat = str(taxonomy.get("no_threat_category", "none"))
        no_threat_confidence = taxonomy.get("no_threat_confidence")
        self.no_threat_confidence = (
            None if no_threat_confidence is None else _number(no_threat_confidence, "taxonomy.no_threat_confidence")
        )
        self.severity_rule = taxonomy.get("severity_rule", "scaled")
        if self.severity_rule not in SEVERITY_RULES:
            raise TaxonomyError(f"taxonomy.severity_rule must be one of {SEVERITY_RULES}, got {self.severity_rule!r}.")
        self.count_confidence = self._count_confidence(taxonomy.get("count_confidence"))
        self.max_weight = 1.0 if self.count_confidence is None else 10.0  # a count, when counting
        default_weight = _number(
            taxonomy.get("default_keyword_weight", 0.5 if self.count_confidence is None else 1),
            "taxonomy.default_keyword_weight",
            high=self.max_weight,
        )
        raw_categories = _require(taxonomy, "categories", dict, "taxonomy")
        if not raw_categories:
            raise TaxonomyError("taxonomy.categories is empty.")
        self.categories = {name: self._category(name, raw, default_weight) for name, raw in raw_categories.items()}
        self.order = {name: i for i, name in enumerate(self.categories)}
        self.visual_rules = self._rules(taxonomy.get("visual_rules", []), "visual_rules")
        self.audio_rules = self._rules(taxonomy.get("audio_rules", []), "audio_rules")

    def _category(self, name: str, raw: object, default_weight: float) -> Category:
        where = f"categories.{name}"
        if not isinstance(raw, dict):
            raise TaxonomyError(f"{where} must be an object.")
        keywords = raw.get("keywords", [])
        if isinstance(keywords, list):
            keywords = {k: default_weight for k in keywords}
        if not isinstance(keywords, dict) or not all(isinstance(k, str) and k.strip() for k in keywords):
            raise TaxonomyError(f"{where}.keywords must be a list of words or an object of word: weight.")
        weights = {
            _normalise(k): _number(w, f"{where}.keywords[{k!r}]", high=self.max_weight) for k, w in keywords.items()
        }
        for keyword in weights:
            if keyword.endswith("*") and not keyword[:-1].strip():
                raise TaxonomyError(f"{where}.keywords[{keyword!r}]: a word prefix needs letters before the '*'.")
        severity = _require(raw, "severity_range", list, where)
        if len(severity) != 2 or not all(level in self.levels for level in severity):
            raise TaxonomyError(f"{where}.severity_range must be two of {self.levels}, got {severity!r}.")
        low, high = (self.levels.index(level) for level in severity)
        if low > high:
            raise TaxonomyError(f"{where}.severity_range goes from {severity[0]!r} down to {severity[1]!r}.")
        threshold = _number(raw.get("threshold", 0.5), f"{where}.threshold")
        mappings = raw.get("mappings", {})
        if not isinstance(mappings, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in mappings.values()
        ):
            raise TaxonomyError(f"{where}.mappings must be an object of lists of names.")
        pattern, groups = _keyword_pattern(list(weights))
        return Category(name, weights, (low, high), threshold, pattern, groups, mappings)

    @staticmethod
    def _count_confidence(raw: object) -> tuple[float, float, float] | None:
        if raw is None:
            return None
        where = "taxonomy.count_confidence"
        if not isinstance(raw, dict):
            raise TaxonomyError(f"{where} must be an object of base, per_keyword and max.")
        base, step, top = (
            _number(_require(raw, key, object, where), f"{where}.{key}") for key in ("base", "per_keyword", "max")
        )
        return base, step, top

    def _rules(self, raw: object, where: str) -> list[Rule]:
        if not isinstance(raw, list):
            raise TaxonomyError(f"taxonomy.{where} must be a list.")
        rules: list[Rule] = []
        for i, rule in enumerate(raw):
            at = f"{where}[{i}]"
            if not isinstance(rule, dict):
                raise TaxonomyError(f"{at} must be an object.")
            category = _require(rule, "category", str, at)
            if category not in self.categories:
                raise TaxonomyError(f"{at}.category {category!r} is not one of the taxonomy's categories.")
            classes = _require(rule, "classes", list, at)
            if not classes or not all(isinstance(c, str) for c in classes):
                raise TaxonomyError(f"{at}.classes must list class names.")
            count = rule.get("min_count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise TaxonomyError(f"{at}.min_count must be a whole number of at least 1, got {count!r}.")
            confidence = _number(rule.get("min_confidence", 0.0), f"{at}.min_confidence")
            severity = rule.get("severity")
            if severity is not None and severity not in self.levels:
                raise TaxonomyError(f"{at}.severity must be one of {self.levels}, got {severity!r}.")
            rules.append(Rule(category, frozenset(classes), confidence, count, severity))
        return rules

    # --- scoring ------------------------------------------------------------------------------------

    def warm_up(self) -> None:
        self.classify(kind="text", data="A quiet street; nothing to report.")

    def classify(self, *, kind: str, data: object) -> dict[str, Any]:
        if kind == "text":
            return self.classify_text(data)
        if kind == "visual":
            return self.classify_visual(data)
        if kind == "audio":
            return self.classify_audio(data)
        raise ThreatInputError(f"type must be one of {', '.join(KINDS)}, got {kind!r}.")

    def classify_text(self, text: object) -> dict[str, Any]:
        if not isinstance(text, str) or not text.strip():
            raise ThreatInputError("For type 'text', data must be a non-empty string.")
        if len(text) > MAX_TEXT_CHARS:
            raise ThreatInputError(
                f"For type 'text', data is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}."
            )
        candidates: list[Candidate] = []
        for category in self.categories.values():
            if category.pattern is None:
                continue
            matched: dict[str, None] = {}  # ordered set, in order of first appearance
            for match in category.pattern.finditer(text):
                matched.setdefault(category.groups[match.lastgroup or ""])
            if matched and self.count_confidence is not None:
                base, step, top = self.count_confidence
                score = min(top, base + step * sum(category.weights[k] for k in matched))
                candidates.append((category.name, score, list(matched), None))
            elif matched:
                score = 1.0 - math.prod(1.0 - category.weights[k] for k in matched)
                candidates.append((category.name, score, list(matched), None))
        return self._decide(candidates)

    def classify_visual(self, data: object) -> dict[str, Any]:
        detections = data.get("detections") if isinstance(data, dict) else data
        if not isinstance(detections, list):
            raise ThreatInputError(
                "For type 'visual', data must be a list of detections or a detect response with 'detections'."
            )
        if len(detections) > MAX_DETECTIONS:
            raise ThreatInputError(f"For type 'visual', at most {MAX_DETECTIONS} detections are accepted.")
        pairs = [(self._class_of(d, i, "class"), self._confidence_of(d, i)) for i, d in enumerate(detections)]
        candidates: list[Candidate] = []
        for rule in self.visual_rules:
            hits = [(name, conf) for name, conf in pairs if name in rule.classes and conf >= rule.min_confidence]
            if len(hits) >= rule.min_count:
                names = list(dict.fromkeys(name for name, _ in sorted(hits, key=lambda h: -h[1])))
                candidates.append((rule.category, max(conf for _, conf in hits), names, rule.severity))
        return self._decide(candidates)

    def classify_audio(self, data: object) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ThreatInputError("For type 'audio', data must be an audio classify response (an object).")
        name, confidence = self._class_of(data, None, "class_name"), self._confidence_of(data, None)
        candidates = [
            (rule.category, confidence, [name], rule.severity)
            for rule in self.audio_rules
            if name in rule.classes and confidence >= rule.min_confidence
        ]
        return self._decide(candidates)

    @staticmethod
    def _class_of(item: object, index: int | None, key: str) -> str:
        at = "data" if index is None else f"data[{index}]"
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str):
            raise ThreatInputError(f"{at} must be an object with a string {key!r}.")
        return value

    @staticmethod
    def _confidence_of(item: dict[str, Any], index: int | None) -> float:
        at = "data" if index is None else f"data[{index}]"
        value = item.get("confidence")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ThreatInputError(f"{at}.confidence must be a number in 0..1, got {value!r}.")
        return float(value)

    def _decide(self, candidates: list[Candidate]) -> dict[str, Any]:
        passing = [c for c in candidates if c[1] >= self.categories[c[0]].threshold]
        if not passing:
            best_seen = max((c[1] for c in candidates), default=0.0)
            confidence = 1.0 - best_seen if self.no_threat_confidence is None else self.no_threat_confidence
            return {
                "threat_category": self.no_threat,
                "severity": self.levels[0],
                "confidence": round(confidence, 4),
                "keywords_matched": [],
            }
        name, score, matched, fixed = min(
            passing, key=lambda c: (-c[1], -self.categories[c[0]].severity_range[1], self.order[c[0]])
        )
        return {
            "threat_category": name,
            "severity": fixed or self.severity(name, score),
            "confidence": round(score, 4),
            "keywords_matched": matched,
        }

    def severity(self, category: str, confidence: float) -> str:
        """The level within the category's range: its low end at the threshold, its high end near 1."""
        found = self.categories[category]
        low, high = found.severity_range
        if self.severity_rule == "highest":
            return self.levels[high]
        span = 1.0 - found.threshold
        position = 1.0 if span <= 0 else min(max((confidence - found.threshold) / span, 0.0), 1.0)
        return self.levels[min(low + int(position * (high - low + 1)), high)]


def load(path: Path, *, metadata: dict[str, Any]) -> ThreatClassifier:
    path = Path(path)
    try:
        taxonomy = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise TaxonomyError(f"{path.name} is not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise TaxonomyError(f"{path.name} is not valid JSON: {exc}") from None
    return ThreatClassifier(taxonomy)


def default_taxonomy() -> dict[str, Any]:
    """The old threat-intelligence service's eight categories (the version seed_demo makes active)."""
    taxonomy: dict[str, Any] = json.loads(DEFAULT_TAXONOMY_PATH.read_text(encoding="utf-8"))
    return taxonomy


def extended_taxonomy() -> dict[str, Any]:
    """Atlas's richer taxonomy (terrorism, cyber threats, emergencies...): a second version to promote."""
    taxonomy: dict[str, Any] = json.loads(EXTENDED_TAXONOMY_PATH.read_text(encoding="utf-8"))
    return taxonomy
