import importlib

from kedro.pipeline import Pipeline

STAGES = ("pcba_render", "pcba_crop", "pcba_restyle")


def create_pipeline(**kwargs) -> Pipeline:
    """usd2roi-render (render + crop) followed by augment-image-edit (restyle), where present."""
    stages = []
    for name in STAGES:
        try:
            module = importlib.import_module(f"sdg_factory.pipelines.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sdg_factory.pipelines.{name}":
                raise
            continue
        stages.append(module.create_pipeline())
    return sum(stages, Pipeline([]))
