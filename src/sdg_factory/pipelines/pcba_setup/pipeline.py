from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.pcba_setup.nodes import publish_demo_boards, publish_raw_defect_data


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(publish_demo_boards, ["params:pcba_setup.boards", "params:seed"],
             ["pcb_usd_assets", "pcb_cookbooks"], name="publish_demo_boards"),
        node(publish_raw_defect_data, ["params:pcba_setup.raw_defects", "params:seed"],
             ["pcb_raw_submasks", "pcb_defect_spec"], name="publish_raw_defect_data"),
    ])
