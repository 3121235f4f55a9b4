from kedro.pipeline import Pipeline

from sdg_factory.pipelines import pcba_crop, pcba_render, pcba_restyle


def create_pipeline(**kwargs) -> Pipeline:
    """usd2roi-render (render + crop) followed by augment-image-edit (restyle)."""
    return pcba_render.create_pipeline() + pcba_crop.create_pipeline() + pcba_restyle.create_pipeline()
