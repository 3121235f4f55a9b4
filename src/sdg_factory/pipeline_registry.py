"""The registered pipelines: every package under ``pipelines/`` registers itself."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from sdg_factory.fingerprints.context import skippable

# Alternatives of a pipeline that write the same outputs: run by name, never in __default__.
# defects_infer reads a folder the user names (input_dir): run it by name too.
NOT_IN_DEFAULT = {"texture_defect_day0_finetune", "defects_infer"}


def register_pipelines() -> dict[str, Pipeline]:
    """Each pipeline package (compositions such as ``good_image`` included) registers itself;
    ``__default__`` runs every pipeline on the embedded CPU defaults."""
    # every node may be skipped when its outputs are already what it would write (docs/reruns.md)
    pipelines = {name: Pipeline([skippable(n) for n in p.nodes])
                 for name, p in find_pipelines(raise_errors=True).items()}
    pipelines["__default__"] = sum(
        (p for name, p in pipelines.items() if name not in NOT_IN_DEFAULT | {"__default__"}),
        Pipeline([]),
    )
    return pipelines
