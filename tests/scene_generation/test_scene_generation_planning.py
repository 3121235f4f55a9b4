"""Planning and prompt writing as plain functions: history correction, window, tags, uniqueness."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sdg_factory.pipelines.scene_generation.nodes import plan_batch
from sdg_factory.pipelines.scene_generation.prompts import PromptWriter, prompt_hash
from sdg_factory.pipelines.scene_generation.settings import SceneGenerationConfigError, scene_settings

PARAMS = yaml.safe_load((Path(__file__).parents[2] / "conf/base/parameters_scene_generation.yml").read_text())[
    "scene_generation"]
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def params(**overrides):
    return {**PARAMS, "now": NOW.isoformat(), **overrides}


def history(rows: list[tuple[str, datetime, list[str]]], run: str = "earlier") -> pd.DataFrame:
    return pd.DataFrame([
        {"scene_id": f"{run}-{i:03d}", "run_name": run, "archetype": a, "prompt_hash": f"h{i}",
         "prompt_summary": f"old {a} {i}", "variation_tags": tags, "generated_at": when, "success": True}
        for i, (a, when, tags) in enumerate(rows)])


def archetypes(plan: dict) -> list[str]:
    return [s["archetype"] for s in plan["scenes"]]


def test_over_represented_archetypes_are_picked_less_and_under_represented_more():
    skewed = history([("kitchen", NOW - timedelta(days=2), [])] * 30)
    plan = plan_batch(skewed, params(exploration=0), "r1", seed=1)
    assert "kitchen" not in archetypes(plan)
    assert plan["history_counts"]["kitchen"] == 30
    fresh = plan_batch(history([]), params(exploration=0), "r1", seed=1)
    assert Counter(archetypes(fresh))["kitchen"] >= 1  # with no history kitchen (the heaviest) is due


def test_rows_outside_the_lookback_window_and_of_the_same_run_are_ignored():
    base = plan_batch(history([]), params(), "r1", seed=7)
    old = history([("kitchen", NOW - timedelta(days=40), [])] * 30)
    assert archetypes(plan_batch(old, params(), "r1", seed=7)) == archetypes(base)
    own = history([("kitchen", NOW - timedelta(hours=1), [])] * 30, run="r1")  # a resumed run's own rows
    assert plan_batch(own, params(), "r1", seed=7)["scenes"] == base["scenes"]
    assert archetypes(plan_batch(old, params(lookback_days=60), "r1", seed=7)) != archetypes(base)


def test_variation_tags_steer_toward_uncovered_values():
    covered = ["lighting:fluorescent_overhead", "lighting:warm_pendant", "lighting:natural_window"]
    past = history([("lab", NOW - timedelta(days=1), [t]) for t in covered] * 3)
    plan = plan_batch(past, params(archetypes="lab", scenes_per_run=1), "r2", seed=3)
    assert "lighting:dim_after_hours" in plan["scenes"][0]["variation_tags"]
    many = plan_batch(history([]), params(archetypes=["lab"], scenes_per_run=4), "r2", seed=3)
    lighting = [t for s in many["scenes"] for t in s["variation_tags"] if t.startswith("lighting:")]
    assert len(set(lighting)) == 4  # four lab scenes cover all four lighting values


def test_archetype_filter_and_config_errors_name_the_key():
    plan = plan_batch(history([]), params(archetypes="kitchen, warehouse", scenes_per_run=6), "r3", seed=0)
    assert set(archetypes(plan)) <= {"kitchen", "warehouse"} and len(plan["scenes"]) == 6
    assert plan["target_weights"] == pytest.approx({"kitchen": 18 / 35, "warehouse": 17 / 35})
    with pytest.raises(SceneGenerationConfigError, match="scene_generation.archetypes.*spaceship"):
        scene_settings(params(archetypes=["spaceship"]))
    broken = params()
    broken["archetype_definitions"] = {**PARAMS["archetype_definitions"], "lab": {"weight": 0.1}}
    with pytest.raises(SceneGenerationConfigError, match="archetype_definitions.lab is missing 'description'"):
        scene_settings(broken)
    with pytest.raises(SceneGenerationConfigError, match="dry_run"):
        scene_settings(params(dry_run="maybe"))


def test_template_prompts_never_repeat_a_hash_in_the_window():
    settings = scene_settings(params())
    writer = PromptWriter({"backend": "template"})
    lab = settings.archetypes["lab"]
    tags = ["lighting:fluorescent_overhead", "time_of_day:midday"]
    avoid: set[str] = set()
    for seed in range(300):  # the same archetype and tags, over and over
        prompt, by = writer.write(lab, tags, {"height_m": 1.7}, seed % 3, [], avoid)
        assert by == "template" and prompt_hash(prompt) not in avoid
        avoid.add(prompt_hash(prompt))
    assert len(avoid) == 300


class RepeatingLLM:
    name = "repeating"

    def __init__(self, answer: str):
        self.answer, self.calls = answer, []

    def health_check(self):
        return None

    def generate(self, messages, *, seed=0, max_tokens=256, temperature=0.8):
        self.calls.append((messages, seed))
        return self.answer


def test_llm_prompts_see_recent_history_and_fall_back_when_they_repeat():
    settings = scene_settings(params())
    writer = PromptWriter({"backend": "template", "max_attempts": 3})
    writer.generator, writer.backend = RepeatingLLM("Prompt: A wide photo of a busy office floor at noon."), "fake"
    office = settings.archetypes["office"]
    avoid: set[str] = set()
    first, by = writer.write(office, ["lighting:warm_pendant"], {"height_m": 1.6}, 5, ["old office prompt"], avoid)
    assert by == "fake" and first == "A wide photo of a busy office floor at noon."
    assert "old office prompt" in writer.generator.calls[0][0][1]["content"]
    avoid.add(prompt_hash(first))
    second, by = writer.write(office, ["lighting:warm_pendant"], {"height_m": 1.6}, 6, [first], avoid)
    assert by.startswith("template (fallback from fake") and prompt_hash(second) not in avoid
    assert [seed for _, seed in writer.generator.calls[1:]] == [6, 7, 8]  # bounded retries, new seeds


def test_selection_converges_from_any_start():
    from sdg_factory.pipelines.scene_generation.planning import choose_archetypes, total_variation

    weights = scene_settings(params()).target_weights
    counts = {name: 0 for name in weights}
    counts["utility_room"] = 25  # a badly skewed start
    rng = np.random.default_rng(0)
    for _ in range(20):
        for name in choose_archetypes(weights, counts, 10, rng, 0.15):
            counts[name] += 1
    total = sum(counts.values())
    assert total_variation({k: v / total for k, v in counts.items()}, weights) < 0.1
