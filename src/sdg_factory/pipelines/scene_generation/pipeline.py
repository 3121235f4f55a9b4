"""``scene_generation``: plan batch → diversify prompts → generate images → record history → markers."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from sdg_factory.pipelines.graph import step
from sdg_factory.pipelines.scene_generation import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            step(nodes.plan_batch, ["history", "params:scene_generation", "params:run_name", "params:seed"], "plan"),
            step(nodes.diversify_prompts, ["plan", "history", "params:scene_generation"], "prompts"),
            step(nodes.generate_images, ["prompts", "params:scene_generation"], "images"),
            step(nodes.record_history, ["prompts", "images", "history", "params:scene_generation"],
                 ["history_update", "results"]),
            step(nodes.write_completion_markers, ["results", "params:scene_generation"], "completion_markers"),
        ],
        namespace="scene_generation",
        parameters={"params:scene_generation", "params:run_name", "params:seed"},
    )
