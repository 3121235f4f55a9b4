"""Each reference_object node's re-run fingerprint counts the ``reference_object`` keys it reads,
all of them: every node is run here on the smoke settings with a section that records which keys
are looked at (its lazy item savers too), and each key looked at must be one the node declares
with ``@reads_parameters`` — a key read but not declared would leave stale outputs after a change."""

from __future__ import annotations

from functools import partial

import pytest

from sdg_factory.fingerprints.context import parameters_read
from sdg_factory.pipelines.reference_object import nodes
from sdg_factory.pipelines.reference_object.pipeline import create_pipeline
from tests.kedro_runner import PROJECT_ROOT
from tests.reference_object.conftest import SAMPLES

#: read, but never part of what an item holds (docs in reference_object/nodes.py)
NOT_FINGERPRINTED = {"max_retries"}


class RecordingSection(dict):
    """A parameter section that remembers the keys looked at; a copy or a walk over it counts
    as reading every key."""

    def __init__(self, values: dict) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def _all(self):
        self.read.update(super().keys())

    def __iter__(self):
        self._all()
        return super().__iter__()

    def keys(self):
        self._all()
        return super().keys()

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()

    def copy(self):
        self._all()
        return dict(self)


@pytest.fixture(scope="module")
def smoke_params() -> dict:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="smoke") as session:
        params = session.load_context().params
    return {"reference_object": params["reference_object"], "seed": params["seed"]}


def fingerprinted(func, section: dict) -> dict:
    """The part of the section that enters ``func``'s fingerprint."""
    return parameters_read(func, {"params:reference_object": section},
                           {"params": "params:reference_object"})["params:reference_object"]


def declared_keys(func, section: dict) -> set[str]:
    return set(fingerprinted(func, section))


def _constant(value):
    return value


def _realise(value):
    """Run every lazy saver a node returned (they may read parameters when they run)."""
    if callable(value):
        return _realise(value())
    if isinstance(value, dict):
        return {k: _realise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_realise(v) for v in value)
    if hasattr(value, "items") and hasattr(value, "names"):  # YoloItems
        return {k: v() for k, v in value.items.items()}
    return value


def run_recording(section: dict, seed: int) -> dict[str, set[str]]:
    """Every node of the pipeline in order, in memory; the keys each one read."""
    import cv2

    image = cv2.cvtColor(cv2.imread(str(SAMPLES / "toy_robot.png")), cv2.COLOR_BGR2RGB)
    values = {"input_image": image, "input_mask": None, "background_scenes": {},
              "project_info": (SAMPLES / "project_info.txt").read_text(),
              "system_prompt": (SAMPLES / "system_prompt.txt").read_text(),
              "augmentation_prompts": (SAMPLES / "augmentation_prompts.txt").read_text(),
              "scene_manifest": None, "augment_manifest": None, "params:seed": seed}
    read: dict[str, set[str]] = {}
    for node in create_pipeline().nodes:
        recording = RecordingSection(section)
        args = [recording if name == "params:reference_object" else values[name.removeprefix("reference_object.")]
                for name in node.inputs]
        out = node.func(*args)
        outs = [out] if len(node.outputs) == 1 else list(out)
        for name, value in zip(node.outputs, outs, strict=True):
            _realise(value)
            short = name.removeprefix("reference_object.")
            if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
                value = {k: partial(_constant, v) for k, v in value.items()}  # text folders load as callables
            values[short] = value
        read[node.func.__name__] = set(recording.read)
    return read


@pytest.mark.parametrize("change", [
    {},
    {"enable_qwen_augmentation": False},
    {"enable_annotation": False},
    {"enable_cv_augmentation": False},
], ids=["defaults", "no_qwen", "no_annotation", "no_cv"])
def test_every_key_a_node_reads_counts_in_its_fingerprint(smoke_params, change):
    section = {**smoke_params["reference_object"], **change}
    read = run_recording(section, smoke_params["seed"])
    assert len(read) == len(create_pipeline().nodes)
    for name, keys in read.items():
        declared = declared_keys(getattr(nodes, name), section)
        assert keys - NOT_FINGERPRINTED <= declared, f"{name} reads {sorted(keys - declared)} undeclared"


def test_declared_keys_are_keys_of_the_section(smoke_params):
    section = smoke_params["reference_object"]
    for node in create_pipeline().nodes:
        declared = declared_keys(node.func, section)
        assert declared and declared <= set(section), (node.name, sorted(declared - set(section)))


def test_an_annotation_setting_is_not_in_the_scene_steps_fingerprints(smoke_params):
    section = smoke_params["reference_object"]
    changed = {**section, "annotation": {**section["annotation"], "min_part_area": 40}}
    for func in (nodes.white_background, nodes.generate_perspectives, nodes.generate_scene_prompts,
                 nodes.generate_scene_dataset, nodes.qwen_augment, nodes.combine_qwen_images):
        assert fingerprinted(func, section) == fingerprinted(func, changed), func.__name__
    for func in (nodes.annotate_dataset, nodes.annotation_report):
        assert fingerprinted(func, section) != fingerprinted(func, changed), func.__name__
