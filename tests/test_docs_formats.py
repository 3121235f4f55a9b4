"""Keep docs/formats.md honest: every field table lists exactly the keys the code writes.

No pipeline is run. The keys come from the code itself: the dict literal that builds each
record (read with ``ast`` from the function that returns it), a module constant
(``LABEL_KEYS``, ``COLUMNS``, ``DEFAULTS``), or a cheap call of the function that builds the
record (``run_record``, ``build_infer_config``, ``dataset_yaml``).

A table row's first cell names fields in backticks: ``name`` is a top-level key,
``group.name`` / ``group[].name`` a key of the nested record ``group``.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from sdg_factory import rerun_hooks
from sdg_factory.datasets import partitions
from sdg_factory.datasets.scene_history import COLUMNS
from sdg_factory.datasets.yolo import dataset_yaml
from sdg_factory.defects import config as defects_config
from sdg_factory.defects import extract as defects_extract
from sdg_factory.fingerprints import manifest
from sdg_factory.pipelines.anomaly_detection import nodes as detection
from sdg_factory.pipelines.defects_export import evaluation
from sdg_factory.pipelines.defects_export import nodes as export
from sdg_factory.pipelines.defects_infer import nodes as infer
from sdg_factory.pipelines.reference_object import nodes as reference
from sdg_factory.pipelines.scene_generation import nodes as scenes
from sdg_factory.pipelines.structural_defect import nodes as structural
from sdg_factory.pipelines.texture_defect_day0 import nodes as texture
from sdg_factory.provenance import run_record

DOC = Path(__file__).resolve().parents[1] / "docs" / "formats.md"


# --- the code side -------------------------------------------------------------------------------
def dict_keys(function, anchor: str) -> set[str]:
    """String keys of the dict literal(s) in ``function`` that have the key ``anchor``."""
    tree = ast.parse(_dedent(inspect.getsource(function)))
    found = [node for node in ast.walk(tree) if isinstance(node, ast.Dict)
             and any(isinstance(k, ast.Constant) and k.value == anchor for k in node.keys)]
    assert found, f"{function.__qualname__} builds no dict with key {anchor!r}: update this test"
    return {k.value for node in found for k in node.keys if isinstance(k, ast.Constant)}


def subscript_keys(function, name: str) -> set[str]:
    """Keys assigned as ``name["key"] = …`` or ``name.setdefault("key", …)`` in ``function``."""
    tree = ast.parse(_dedent(inspect.getsource(function)))
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id == name \
                and isinstance(node.slice, ast.Constant):
            keys.add(node.slice.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name and node.args \
                and isinstance(node.args[0], ast.Constant):
            keys.add(node.args[0].value)
    return keys


def _dedent(source: str) -> str:
    return textwrap.dedent(source)


def _plan_scene() -> set[str]:
    return dict_keys(scenes.plan_batch, "variation_tags")


def _infer_config() -> dict:
    settings = dict(defects_config.DEFAULTS)
    thresholds = {"pixel_threshold": 1.0, "pixel_threshold_provenance": {"method": "fixed"},
                  "threshold": 2.0, "threshold_provenance": {"method": "fixed"}}
    return export.build_infer_config(settings, thresholds, None, {})


def _expected() -> dict[tuple[str, int], dict[str, set[str]]]:
    """(heading text, table index in its section) → {group: keys} ("" = top level)."""
    infer_config = _infer_config()
    scene_dict = dict_keys(scenes.plan_batch, "window_start")
    return {
        ("## Provenance and manifests", 0): {"": set(run_record("p", "smoke", {}, {}))},
        ("## Provenance and manifests", 1): {"": dict_keys(manifest.Manifest.body, "partitions") | {"checksum"},
                                             "made_by": dict_keys(rerun_hooks.FingerprintHooks.node_fingerprint,
                                                                  "algorithm_version"),
                                             # an item entry as a save writes it, with a task's record
                                             "items": set(partitions.BasePartitionsDataset._written_items(
                                                 {"p": []}, {}, {}, {"p": {}})["p"])},
        ("### `anomaly_staging/defect_spec.jsonl`", 0): {
            # {**taxonomy entry (material, defect_type, spatial_dependency), mask_dir, count, rois}
            "": dict_keys(texture.preflight_urls, "spatial_dependency")
            | dict_keys(texture.stage_anomalygen_inputs, "mask_dir")},
        ("### `anomaly/labels.jsonl`", 0): {"": dict_keys(texture.generate_anomalies, "submask")},
        ("### `structural_defect/labels.jsonl`", 0): {"": set(structural.LABEL_KEYS)},
        ("### `structural_defect/pairs.jsonl`", 0): {"": dict_keys(structural.pair_with_good_images, "defect_rgb")},
        ("### `defects/defects.jsonl`", 0): {
            "": dict_keys(export.export_defects, "index") | subscript_keys(export.export_defects, "record"),
            "defects": dict_keys(defects_extract.defects_record, "map_stats_roi")},
        ("### `defects/thresholds.json`", 0): {"": dict_keys(export.resolve_thresholds, "threshold")},
        ("### `defects/infer_config.json`", 0): {"": set(infer_config), "defects": set(infer_config["defects"])},
        ("### `defects/metrics.json`", 0): {"": dict_keys(evaluation.evaluate_defects, "aupro")},
        ("### `defects_infer/defects.jsonl`", 0): {
            "": dict_keys(infer.infer_defects, "index") | subscript_keys(infer.infer_defects, "record"),
            "defects": dict_keys(defects_extract.defects_record, "map_stats_roi")},
        ("### `defects_infer/infer_config.json`", 0): {"model": dict_keys(infer.model_block, "sha256")},
        ("### `defects_infer/metrics.json`", 0): {"": dict_keys(infer.evaluate_defects, "label_source")},
        ("### `04_dataset/metadata.json`", 0): {"": dict_keys(reference.generate_scene_dataset, "perspective_index")},
        ("### `pipeline_state.json`", 0): {"": dict_keys(reference.record_pipeline_state, "completed_steps")},
        ("### `06_yolo_dataset/annotations_coco.json` (COCO)", 0): {
            "": dict_keys(reference.annotation_report, "categories"),
            "images": dict_keys(reference.annotation_report, "file_name"),
            "annotations": dict_keys(reference.annotation_report, "iscrowd")},
        ("### `scene_generation/plan.json`", 0): {"": scene_dict, "scenes": _plan_scene()},
        ("### `scene_generation/prompts.jsonl`", 0): {
            "": _plan_scene() | dict_keys(scenes.diversify_prompts, "prompt_hash")},
        ("### Completion marker", 0): {"": dict_keys(scenes.completion_marker, "ready_for")},
        ("### History table", 0): {"": set(COLUMNS)},
    }


# --- the doc side --------------------------------------------------------------------------------
def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    assert start is not None, f"docs/formats.md has no heading starting with {heading!r}"
    level = len(heading) - len(heading.lstrip("#"))
    end = next((j for j in range(start + 1, len(lines))
                if lines[j].startswith("#") and len(lines[j]) - len(lines[j].lstrip("#")) <= level), len(lines))
    return lines[start + 1:end]


def _tables(lines: list[str]) -> list[list[str]]:
    tables, current = [], []
    for line in lines + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current[2:])  # header and separator rows
            current = []
    return tables


def documented(heading: str, index: int) -> dict[str, set[str]]:
    tables = _tables(_section(DOC.read_text(), heading))
    assert len(tables) > index, f"docs/formats.md section {heading!r} has no field table #{index + 1}"
    groups: dict[str, set[str]] = {}
    for row in tables[index]:
        first = row.split("|")[1]
        for name in re.findall(r"`([^`]+)`", first):
            group, _, key = name.rpartition(".")
            groups.setdefault(group.removesuffix("[]"), set()).add(key)
    return groups


# --- the checks ----------------------------------------------------------------------------------
CASES = _expected()


@pytest.mark.parametrize("heading,index", list(CASES), ids=[h.strip("#` ") for h, _ in CASES])
def test_field_table_matches_code(heading, index):
    expected = CASES[(heading, index)]
    doc = documented(heading, index)
    for group, keys in expected.items():
        where = f"docs/formats.md {heading!r}" + (f" ({group}.*)" if group else "")
        got = doc.get(group, set())
        assert not keys - got, f"{where}: fields the code writes but the page does not list: {sorted(keys - got)}"
        assert not got - keys, f"{where}: fields the page lists but the code does not write: {sorted(got - keys)}"
    assert set(doc) <= set(expected), f"{heading!r}: undocumented groups checked: {set(doc) - set(expected)}"


def test_yolo_dataset_yaml_example_is_what_the_dataset_writes():
    block = "\n".join(_section(DOC.read_text(), "### `06_yolo_dataset/` (YOLO segmentation)"))
    example = re.search(r"```yaml\n(.*?)```", block, re.S).group(1)
    assert yaml.safe_load(example) == yaml.safe_load(dataset_yaml(["toy robot"], ["train", "val"]))


def test_image_scores_line_in_the_tree_matches_code():
    keys = dict_keys(_scoring_fn(), "kind")
    line = next(ln for ln in _section(DOC.read_text(), "## Anomaly detection and defects export")
                if ln.startswith("defects/image_scores.jsonl"))
    listed = set(re.search(r"\{([^}]*)\}", line).group(1).replace(" ", "").split(","))
    assert listed == keys


def _scoring_fn():
    for _, fn in inspect.getmembers(detection, inspect.isfunction):
        if fn.__module__ == detection.__name__ and '"anomaly_map"' in inspect.getsource(fn) \
                and '"kind"' in inspect.getsource(fn):
            return fn
    raise AssertionError("anomaly_detection.nodes has no function building the image_scores record")
