from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.pcba_setup.nodes import publish_demo_boards, publish_raw_defect_data

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md): the
#: documents' setup_pcb step. Not inside `pcba`: a group that published the raw assets and read an
#: intermediate folder (restyle_registration_items) would put raw after intermediate in kedro-viz's layers.
NS = "setup_pcb"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(publish_demo_boards, ["params:pcba_setup.boards", "params:seed"],
             ["pcb_usd_assets", "pcb_cookbooks"], name="publish_demo_boards", namespace=NS),
        node(publish_raw_defect_data, ["params:pcba_setup.raw_defects", "params:seed"],
             ["pcb_raw_submasks", "pcb_defect_spec"], name="publish_raw_defect_data", namespace=NS),
    ])
