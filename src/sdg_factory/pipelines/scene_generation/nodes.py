"""Nodes of ``scene_generation``, one per part of the scene-generation job.

plan batch → diversify prompts → generate images → record history → completion markers.
The marker of a scene is written only after its image is complete and its history row says
so; a dry run writes the plan and the prompts only. Each node's re-run fingerprint counts only
the ``scene_generation`` keys it reads (``@reads_parameters``): a new ``ready_for`` rewrites the
markers, a new image size the images and markers, neither re-plans the batch.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from sdg_factory.backends.text_to_image import TEXT_TO_IMAGE, TextToImageRequest
from sdg_factory.fingerprints import all_keys_but, only_keys, reads_parameters
from sdg_factory.paths import UnsafeNameError, check_segment
from sdg_factory.pipelines.scene_generation.planning import (
    archetype_counts,
    choose_archetypes,
    choose_variation_tags,
    tag_coverage,
    window,
)
from sdg_factory.pipelines.scene_generation.prompts import PromptWriter, prompt_hash, summarize
from sdg_factory.pipelines.scene_generation.settings import parse_time, scene_settings
from sdg_factory.seeding import item_rng, item_seed

if TYPE_CHECKING:
    from pandas import DataFrame
else:  # pandas (and the SQL history dataset) load with the history, not at start-up
    DataFrame = Any

logger = logging.getLogger(__name__)

MARKER_SOURCE = "scene_generation"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def history_records(history: DataFrame) -> list[dict]:
    return [] if history is None or history.empty else history.to_dict("records")


def scene_id_for(run_name: str, index: int) -> str:
    return f"{check_segment(run_name, 'run_name')}-{index:03d}"


def check_scene_ids_free(history: DataFrame, run_name: str, scene_ids: list[str]) -> None:
    """A scene id of this run that the history already holds for another run (a name written
    by an older version that rewrote names, or one differing only in case) would replace
    that run's rows and folders: an error naming both runs."""
    wanted = {scene_id.casefold(): scene_id for scene_id in scene_ids}
    for row in history_records(history):
        ours = wanted.get(str(row["scene_id"]).casefold())
        if ours is not None and row.get("run_name") != run_name:
            raise UnsafeNameError(
                f"scene id {ours!r} of run_name {run_name!r} is already taken in the scene history by "
                f"run_name {row.get('run_name')!r} (scene {row['scene_id']!r}); choose another run_name "
                "so the earlier run's history rows and scenes/ folders are not replaced")


@reads_parameters(scene_generation=all_keys_but("scene_generation", "prompts", "image", "ready_for"))
def plan_batch(history: DataFrame, scene_generation: dict, run_name: str, seed: int) -> dict:
    """Weighted archetypes corrected by the lookback window; variation tags toward the gaps."""
    settings = scene_settings(scene_generation)
    check_segment(run_name, "run_name")
    now = settings.now
    past = window(history_records(history), now, settings.lookback, exclude_run=run_name)
    counts = archetype_counts(past, settings.archetypes)
    picks = choose_archetypes(settings.target_weights, counts, settings.scenes_per_run,
                              item_rng(seed, f"scene_generation/{run_name}/plan"), settings.exploration)
    check_scene_ids_free(history, run_name, [scene_id_for(run_name, i) for i in range(len(picks))])
    coverage = {name: tag_coverage(past, name) for name in settings.archetypes}
    scenes = []
    for index, archetype in enumerate(picks):
        scene_id = scene_id_for(run_name, index)
        rng = item_rng(seed, f"{scene_id}/plan")
        scenes.append({
            "scene_id": scene_id,
            "run_name": run_name,
            "archetype": archetype,
            "variation_tags": choose_variation_tags(settings.archetypes[archetype].variation_axes,
                                                    coverage[archetype], rng),
            "camera": {"height_m": round(float(rng.uniform(1.5, 2.0)), 2)},
            "seed": item_seed(seed, scene_id),
        })
    return {
        "run_name": run_name,
        "planned_at": _iso(now),
        "window_start": _iso(now - settings.lookback),
        "dry_run": settings.dry_run,
        "target_weights": settings.target_weights,
        "history_counts": counts,
        "scenes": scenes,
    }


@reads_parameters(scene_generation=only_keys("scene_generation", "archetypes", "archetype_definitions", "prompts"))
def diversify_prompts(plan: dict, history: DataFrame, scene_generation: dict) -> list[dict]:
    """One prompt per planned scene whose hash is new in the lookback window."""
    settings = scene_settings(scene_generation)
    past = [r for r in history_records(history)
            if parse_time(plan["window_start"]) <= r["generated_at"] <= parse_time(plan["planned_at"])
            and r.get("run_name") != plan["run_name"]]
    avoid = {r["prompt_hash"] for r in past}
    writer = PromptWriter(settings.prompts)
    writer.health_check()
    keep = int(settings.prompts.get("recent_history", 20))
    recent = {name: [r["prompt_summary"] for r in reversed(past) if r["archetype"] == name][:keep]
              for name in settings.archetypes}
    negative = str(settings.prompts.get("negative_prompt") or "")
    prompts = []
    for scene in tqdm(plan["scenes"], desc="prompts", unit="scene", disable=len(plan["scenes"]) < 2, leave=False):
        archetype = settings.archetypes[scene["archetype"]]
        prompt, written_by = writer.write(archetype, scene["variation_tags"], scene["camera"], scene["seed"],
                                          recent[archetype.name][:keep], avoid)
        digest = prompt_hash(prompt)
        avoid.add(digest)
        recent[archetype.name].insert(0, summarize(prompt))
        prompts.append({**scene, "prompt": prompt, "prompt_hash": digest, "prompt_summary": summarize(prompt),
                        "prompt_backend": written_by, "negative_prompt": negative})
    return prompts


def generate_scene_image(image_config: dict, scene: dict) -> Any:
    """Generate one scene image (module-level so process executors can pickle it)."""
    config = dict(image_config)
    width, height = int(config.pop("width", 2048)), int(config.pop("height", 1152))
    backend = TEXT_TO_IMAGE.build_from(config)
    request = TextToImageRequest(
        prompt=scene["prompt"], seed=int(scene["seed"]), width=width, height=height,
        negative_prompt=scene.get("negative_prompt", ""),
        options={k: scene[k] for k in ("archetype", "variation_tags", "camera")},
    )
    return backend.generate(request)


@reads_parameters(scene_generation=only_keys("scene_generation", "image", "dry_run"))
def generate_images(prompts: list[dict], scene_generation: dict) -> dict[str, Any]:
    """Lazy savers ``{scene_id: () -> image}`` (none in a dry run); health check first."""
    settings = scene_settings(scene_generation)
    if settings.dry_run:
        logger.info("dry run: %d prompt(s) written, no images generated", len(prompts))
        return {}
    image_config = dict(settings.image)
    TEXT_TO_IMAGE.build_from({k: v for k, v in image_config.items() if k not in ("width", "height")}).health_check()
    return {scene["scene_id"]: partial(generate_scene_image, image_config, scene) for scene in prompts}


def image_status(loader: Any) -> tuple[bool, str]:
    """Whether a scene's ``source_image.png`` exists and decodes to a colour image."""
    if loader is None:
        return False, "no source_image.png was written (its error is in scenes/.sdg_manifest/source_image.png.json)"
    try:
        image = loader()
    except Exception as exc:  # noqa: BLE001 - an unreadable image is a failed scene
        return False, f"source_image.png is unreadable: {exc}"
    if getattr(image, "ndim", 0) != 3 or image.shape[2] < 3 or min(image.shape[:2]) < 1:
        return False, f"source_image.png has shape {getattr(image, 'shape', None)}, not an RGB image"
    return True, ""


def image_fingerprint(loader: Any) -> str | None:
    """What made a scene's ``source_image.png`` (its item fingerprint, from the images' manifest:
    no pixel is read). It changes whenever the image is made differently (another size, model or
    algorithm version), and stays when the same image is only rewritten (a repaired file)."""
    return getattr(loader, "item_fingerprint", None)


@reads_parameters(scene_generation=only_keys("scene_generation", "image", "dry_run"))
def record_history(prompts: list[dict], images: dict[str, Any], history: DataFrame,
                   scene_generation: dict) -> tuple[DataFrame, list[dict]]:
    """One history row per scene; ``success`` only for a scene whose image is on disk and decodes."""
    import pandas as pd

    from sdg_factory.datasets.scene_history import COLUMNS

    settings = scene_settings(scene_generation)
    if settings.dry_run:
        return pd.DataFrame(columns=list(COLUMNS)), []
    before = {r["scene_id"]: r for r in history_records(history)}
    now = datetime.now(timezone.utc)
    backend = str(settings.image.get("backend", "procedural"))
    rows = []
    for scene in prompts:
        loader = images.get(scene["scene_id"])
        success, error = image_status(loader)
        old = before.get(scene["scene_id"])
        kept = old is not None and old["success"] and success and old["prompt_hash"] == scene["prompt_hash"]
        rows.append({
            "scene_id": scene["scene_id"], "run_name": scene["run_name"],
            "archetype": scene["archetype"], "prompt_hash": scene["prompt_hash"],
            "prompt_summary": scene["prompt_summary"], "variation_tags": list(scene["variation_tags"]),
            "generated_at": old["generated_at"] if kept else now, "success": success,
            "image_backend": backend, "prompt_backend": scene["prompt_backend"], "error": error or None,
            # not a history column: the marker's, so that a regenerated image gets a new marker
            "image_fingerprint": image_fingerprint(loader) if success else None,
        })
    failed = [r["scene_id"] for r in rows if not r["success"]]
    if failed:
        logger.error("%d scene(s) have no complete image and get no marker: %s", len(failed), failed)
    return pd.DataFrame(rows, columns=list(COLUMNS)), rows


def completion_marker(result: dict, ready_for: list[str]) -> dict:
    """The ``.scene_generation_complete`` JSON of one scene. ``completed_at`` is the time it is
    made; the catalog's ``volatile_keys`` keep the earlier time (and file) when a re-run makes
    the same marker again, so a consumer watching markers sees only what really changed."""
    return {
        "scene_id": result["scene_id"],
        "completed_at": _iso(datetime.now(timezone.utc)),
        "source": MARKER_SOURCE,
        "ready_for": list(ready_for),
        "archetype": result["archetype"],
        "prompt_hash": result["prompt_hash"],
        "image": "source_image.png",
        "image_backend": result["image_backend"],
        "image_fingerprint": result.get("image_fingerprint"),
    }


@reads_parameters(scene_generation=only_keys("scene_generation", "ready_for"))
def write_completion_markers(results: list[dict], scene_generation: dict) -> dict[str, Any]:
    """A marker for every scene whose history row records a complete image."""
    ready_for = scene_settings(scene_generation).ready_for
    return {r["scene_id"]: partial(completion_marker, r, ready_for) for r in results if r["success"]}
