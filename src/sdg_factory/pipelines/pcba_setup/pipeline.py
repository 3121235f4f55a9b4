from kedro.pipeline import Pipeline

from sdg_factory.pipelines.graph import group, step
from sdg_factory.pipelines.pcba_setup.nodes import publish_demo_boards, publish_raw_defect_data

#: the documents' setup_pcb step. Not inside `pcba`: a group that published the raw assets and read
#: an intermediate folder (restyle_registration_items) would put raw after intermediate in kedro-viz's layers.
NS = "setup_pcb"


def create_pipeline(**kwargs) -> Pipeline:
    return group(NS, [
        step(publish_demo_boards, ["params:pcba_setup.boards", "params:seed"], ["pcb_usd_assets", "pcb_cookbooks"]),
        step(publish_raw_defect_data, ["params:pcba_setup.raw_defects", "params:seed"],
             ["pcb_raw_submasks", "pcb_defect_spec"]),
    ])
