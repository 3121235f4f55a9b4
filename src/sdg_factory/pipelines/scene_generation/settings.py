"""The job's settings, read from ``scene_generation`` in ``parameters_scene_generation.yml``.

Values may also come from the command line as text (``--params
scene_generation.archetypes=kitchen,warehouse,scene_generation.dry_run=true``), so counts,
flags and lists are accepted in their text forms too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

SOURCE = "conf/base/parameters_scene_generation.yml"


class SceneGenerationConfigError(ValueError):
    """A ``scene_generation`` parameter is missing or holds a value the job cannot use."""


@dataclass(frozen=True)
class Archetype:
    name: str
    weight: float
    description: str
    variation_axes: dict[str, list[str]]
    settings: list[str] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SceneSettings:
    scenes_per_run: int
    archetypes: dict[str, Archetype]  # after the ``archetypes`` filter
    dry_run: bool
    lookback: timedelta
    exploration: float
    now: datetime
    prompts: dict[str, Any]
    image: dict[str, Any]
    ready_for: list[str]

    @property
    def target_weights(self) -> dict[str, float]:
        total = sum(a.weight for a in self.archetypes.values())
        return {name: round(a.weight / total, 9) for name, a in sorted(self.archetypes.items())}


def as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", "", "none", "null"):
        return False
    raise SceneGenerationConfigError(f"{SOURCE}: scene_generation.{key} must be true or false, got {value!r}")


def as_names(value: Any) -> list[str]:
    """``[kitchen, lab]``, ``"kitchen,lab"``, ``"kitchen;lab"`` (the comma-free form ``kedro run
    --params`` can carry) or empty → a list of names."""
    if value in (None, "", [], ()):
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,;]", value) if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def parse_time(value: Any) -> datetime:
    if value in (None, "", "now"):
        return datetime.now(timezone.utc)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise SceneGenerationConfigError(
                f"{SOURCE}: scene_generation.now must be an ISO time like 2026-03-01T08:00:00Z, got {value!r}"
            ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _archetype(name: str, doc: Any) -> Archetype:
    where = f"{SOURCE}: scene_generation.archetype_definitions.{name}"
    if not isinstance(doc, dict):
        raise SceneGenerationConfigError(f"{where} must be a mapping with weight, description, variation_axes")
    for key in ("weight", "description", "variation_axes"):
        if key not in doc:
            raise SceneGenerationConfigError(f"{where} is missing '{key}'")
    try:
        weight = float(doc["weight"])
    except (TypeError, ValueError) as exc:
        raise SceneGenerationConfigError(f"{where}.weight must be a number, got {doc['weight']!r}") from exc
    if weight < 0:
        raise SceneGenerationConfigError(f"{where}.weight must be >= 0, got {weight}")
    axes = doc["variation_axes"]
    if not isinstance(axes, dict) or not axes:
        raise SceneGenerationConfigError(f"{where}.variation_axes must map axis names to lists of values")
    clean_axes = {}
    for axis, values in axes.items():
        values = as_names(values)
        if not values:
            raise SceneGenerationConfigError(f"{where}.variation_axes.{axis} has no values")
        if any(":" in v for v in values) or ":" in str(axis):
            raise SceneGenerationConfigError(f"{where}.variation_axes.{axis}: names may not contain ':'")
        clean_axes[str(axis)] = values
    return Archetype(name, weight, str(doc["description"]), clean_axes,
                     as_names(doc.get("settings")), as_names(doc.get("fixtures")))


def scene_settings(params: dict[str, Any]) -> SceneSettings:
    """Validate the ``scene_generation`` parameters (errors name the key and the fix)."""
    if not isinstance(params, dict):
        raise SceneGenerationConfigError(f"{SOURCE}: 'scene_generation' must be a mapping")
    definitions = params.get("archetype_definitions")
    if not isinstance(definitions, dict) or not definitions:
        raise SceneGenerationConfigError(f"{SOURCE}: scene_generation.archetype_definitions is missing or empty")
    every = {str(name): _archetype(str(name), doc) for name, doc in definitions.items()}
    wanted = as_names(params.get("archetypes"))
    unknown = sorted(set(wanted) - set(every))
    if unknown:
        raise SceneGenerationConfigError(
            f"scene_generation.archetypes names {unknown}, which {SOURCE} does not define; "
            f"choose from {sorted(every)} or add them under archetype_definitions")
    chosen = {name: every[name] for name in (wanted or every)}
    if sum(a.weight for a in chosen.values()) <= 0:
        raise SceneGenerationConfigError(
            f"{SOURCE}: the selected archetypes {sorted(chosen)} all have weight 0; give one a positive weight")
    try:
        count = int(params.get("scenes_per_run", 10))
        lookback_days = float(params.get("lookback_days", 30))
        exploration = float(params.get("exploration", 0.15))
    except (TypeError, ValueError) as exc:
        raise SceneGenerationConfigError(
            f"{SOURCE}: scenes_per_run, lookback_days and exploration must be numbers ({exc})") from exc
    if count < 0 or lookback_days < 0 or exploration < 0:
        raise SceneGenerationConfigError(f"{SOURCE}: scenes_per_run, lookback_days and exploration must be >= 0")
    return SceneSettings(
        scenes_per_run=count,
        archetypes=chosen,
        dry_run=as_bool(params.get("dry_run", False), "dry_run"),
        lookback=timedelta(days=lookback_days),
        exploration=exploration,
        now=parse_time(params.get("now")),
        prompts=dict(params.get("prompts") or {"backend": "template"}),
        image=dict(params.get("image") or {"backend": "procedural"}),
        ready_for=as_names(params.get("ready_for")),
    )
