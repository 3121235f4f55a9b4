"""pcba_restyle: restyle every ROI (image edit), then register it back onto its crop."""

from kedro.pipeline import Pipeline, node, pipeline

from sdg_factory.pipelines.pcba_restyle.nodes import register_edits, registration_records, restyle_rois

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md)
NS = "pcba.restyle"


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                restyle_rois,
                inputs=["roi_crops", "params:image_edit_backend", "params:image_edit_endpoint",
                        "params:image_edit_model", "params:pcba_restyle", "params:seed"],
                outputs=["edited_crops", "restyle_cookbook"],
                name="augment_image_edit", namespace=NS,
            ),
            node(
                register_edits,
                inputs=["edited_crops", "roi_crops", "params:pcba_restyle.registration"],
                outputs="augmented_crops",
                name="register_to_crop", namespace=NS,
            ),
            node(
                registration_records,
                inputs=["augmented_crops", "restyle_registration_items"],
                outputs="restyle_registration",
                name="record_registration", namespace=NS,
            ),
        ]
    )
