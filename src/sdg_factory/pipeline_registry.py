"""The registered pipelines: one per document section group, and their compositions."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Alternatives of a pipeline that write the same outputs: run by name, never in __default__.
NOT_IN_DEFAULT = {"texture_defect_day0_finetune"}


def register_pipelines() -> dict[str, Pipeline]:
    """Every folder under ``pipelines/`` registers itself; compositions are named here.

    ``good_image`` is render → crop → restyle (the stages that exist);
    ``__default__`` runs every pipeline on the embedded CPU defaults.
    """
    pipelines = find_pipelines(raise_errors=True)
    stages = [pipelines[name] for name in ("pcba_render", "pcba_crop", "pcba_restyle") if name in pipelines]
    if stages:
        pipelines["good_image"] = sum(stages, Pipeline([]))
    pipelines["__default__"] = sum(
        (p for name, p in pipelines.items() if name not in NOT_IN_DEFAULT | {"__default__"}),
        Pipeline([]),
    )
    return pipelines
