"""``scene_generation``: plan batch → diversify prompts → generate images → record history → markers."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.scene_generation import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(nodes.plan_batch, ["history", "params:scene_generation", "params:run_name", "params:seed"],
                 "plan", name="plan_batch"),
            node(nodes.diversify_prompts, ["plan", "history", "params:scene_generation"], "prompts",
                 name="diversify_prompts"),
            node(nodes.generate_images, ["prompts", "params:scene_generation"], "images",
                 name="generate_images"),
            node(nodes.record_history, ["prompts", "images", "history", "params:scene_generation"],
                 ["history_update", "results"], name="record_history"),
            node(nodes.write_completion_markers, ["results", "params:scene_generation"], "completion_markers",
                 name="write_completion_markers"),
        ],
        namespace="scene_generation",
        parameters={"params:scene_generation", "params:run_name", "params:seed"},
    )
