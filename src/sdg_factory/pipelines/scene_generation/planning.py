"""Plan a batch: history-corrected weighted archetype choice and coverage-steered variation tags.

The target mix is the archetypes' weights. For every scene in the batch the probability of an
archetype is its *deficit* — how many scenes it lacks, in the lookback window plus the batch so
far, against its target share — plus a little exploration in proportion to its weight. An
over-represented archetype has no deficit and is drawn only through exploration; an
under-represented one is drawn more, so the cumulative mix converges to the target weights.
Variation tags pick, per axis, among the values least covered for that archetype.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np


def window(records: Iterable[dict], now: datetime, lookback: timedelta, exclude_run: str | None = None) -> list[dict]:
    """History rows generated within ``lookback`` before ``now`` (rows of ``exclude_run`` left out)."""
    start = now - lookback
    return [r for r in records
            if start <= r["generated_at"] <= now and (exclude_run is None or r.get("run_name") != exclude_run)]


def archetype_counts(records: Iterable[dict], names: Iterable[str]) -> dict[str, int]:
    """Successful scenes per archetype (only the archetypes in ``names``)."""
    counts = Counter(r["archetype"] for r in records if r.get("success"))
    return {name: int(counts.get(name, 0)) for name in sorted(names)}


def selection_probabilities(weights: dict[str, float], counts: dict[str, int], exploration: float) -> np.ndarray:
    """P(next scene is each archetype), in ``sorted(weights)`` order."""
    names = sorted(weights)
    w = np.array([weights[n] for n in names], float)
    w = w / w.sum()
    c = np.array([counts.get(n, 0) for n in names], float)
    deficit = w * (c.sum() + 1) - c  # sums to 1: at least one archetype is behind its target
    p = np.clip(deficit, 0, None) + exploration * w
    return p / p.sum()


def choose_archetypes(weights: dict[str, float], counts: dict[str, int], n: int,
                      rng: np.random.Generator, exploration: float = 0.15) -> list[str]:
    """Draw ``n`` archetypes one by one, each draw corrected by the history and the draws before it."""
    names = sorted(weights)
    running = {name: int(counts.get(name, 0)) for name in names}
    picks = []
    for _ in range(n):
        p = selection_probabilities(weights, running, exploration)
        name = names[int(rng.choice(len(names), p=p))]
        running[name] += 1
        picks.append(name)
    return picks


def tag_coverage(records: Iterable[dict], archetype: str) -> Counter:
    """How often each ``axis:value`` tag occurs for ``archetype`` in ``records``."""
    coverage: Counter = Counter()
    for r in records:
        if r["archetype"] == archetype:
            coverage.update(r.get("variation_tags") or [])
    return coverage


def choose_variation_tags(axes: dict[str, list[str]], coverage: Counter, rng: np.random.Generator) -> list[str]:
    """One ``axis:value`` per axis, among the least covered values (ties drawn at random).

    ``coverage`` is updated in place so later scenes of the batch see this one.
    """
    tags = []
    for axis in sorted(axes):
        values = axes[axis]
        seen = [coverage[f"{axis}:{v}"] for v in values]
        least = [v for v, c in zip(values, seen, strict=False) if c == min(seen)]
        tag = f"{axis}:{least[int(rng.integers(len(least)))]}"
        coverage[tag] += 1
        tags.append(tag)
    return tags


def total_variation(mix: dict[str, float], target: dict[str, float]) -> float:
    """Half the L1 distance between two distributions over archetype names."""
    names = set(mix) | set(target)
    return 0.5 * sum(abs(mix.get(n, 0.0) - target.get(n, 0.0)) for n in names)
