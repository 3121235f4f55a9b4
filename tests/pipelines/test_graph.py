"""pipelines/graph.py: a step is named after its function, a group namespaces node names only."""

from __future__ import annotations

import re

from kedro.framework.startup import bootstrap_project

from sdg_factory.pipeline_registry import register_pipelines
from sdg_factory.pipelines.graph import group, step
from tests.kedro_runner import PROJECT_ROOT


def crop(image, size):
    return image


def summarize(crops):
    return crops


def test_a_step_is_named_after_its_function_unless_named():
    assert step(crop, ["image", "params:size"], "crops").name == "crop"
    assert step(crop, ["image", "params:size"], "crops", name="crop_rois").name == "crop_rois"


def test_a_group_namespaces_the_node_names_and_leaves_datasets_and_parameters_alone():
    pipe = group("pcba.crop", [step(crop, ["image", "params:size"], "crops"), step(summarize, "crops", "summary")])
    nodes = {n.name: n for n in pipe.nodes}
    assert set(nodes) == {"pcba.crop.crop", "pcba.crop.summarize"}
    assert {n.namespace for n in pipe.nodes} == {"pcba.crop"}
    assert nodes["pcba.crop.crop"].inputs == ["image", "params:size"]
    assert pipe.inputs() == {"image", "params:size"} and pipe.outputs() == {"summary"}


def test_every_registered_node_has_a_namespace_and_a_readable_name():
    bootstrap_project(PROJECT_ROOT)
    kedro_default = re.compile(r"__[0-9a-f]{8}$")  # Kedro's name for an unnamed node: <func>__<hash>
    for name, pipe in register_pipelines().items():
        for node in pipe.nodes:
            assert node.namespace, f"{name}: node {node.name} has no namespace (use pipelines.graph.group)"
            assert not kedro_default.search(node.name), f"{name}: node {node.name} has no name of its own"
