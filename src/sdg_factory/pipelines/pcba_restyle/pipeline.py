"""pcba_restyle: restyle every ROI (image edit) and register it back onto its crop, in one task per ROI."""

from kedro.pipeline import Pipeline, node, pipeline

from sdg_factory.pipelines.pcba_restyle.nodes import registration_records, restyle_and_register_rois

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md)
NS = "pcba.restyle"


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                restyle_and_register_rois,
                inputs=["roi_crops", "params:image_edit_backend", "params:image_edit_endpoint",
                        "params:image_edit_model", "params:pcba_restyle", "params:seed"],
                # saved in this order: augmented_crops' tasks write the edits, edited_crops takes them
                outputs=["augmented_crops", "edited_crops", "restyle_cookbook"],
                name="augment_image_edit", namespace=NS,
            ),
            node(
                registration_records,
                inputs=["augmented_crops", "restyle_registration_items"],
                outputs="restyle_registration",
                name="record_registration", namespace=NS,
            ),
        ]
    )
