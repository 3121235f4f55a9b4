"""texture_defect_day0 end to end (smoke): every taxonomy entry gets images whose pixels change
inside their mask only, labels agree with the masks, bridges join two separate conductors."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.pipelines.helpers import decode
from tests.texture_defect.conftest import ALL_ENTRIES

CONDUCTORS = {"pad", "solder", "pin", "terminal"}
DEFAULT = [["IC", "bridge"], ["passive_component", "excess_solder"], ["passive_component", "missing"]]


def _labels(run):
    return [json.loads(line) for line in (run / "anomaly" / "labels.jsonl").read_text().splitlines()]


def _rgb(path):
    image = decode(path)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def records(texture_runs):
    return [(texture_runs[name], r) for name in ("passive", "ic") for r in _labels(texture_runs[name])]


def test_every_taxonomy_entry_has_images(texture_runs, records):
    made = {(r["material"], r["defect_type"]) for _, r in records}
    assert {tuple(e) for e in ALL_ENTRIES + DEFAULT} <= made
    # the default run (default board, default taxonomy) makes every entry of the taxonomy
    on_default = {(r["material"], r["defect_type"]) for r in _labels(texture_runs["default"])}
    assert on_default == {tuple(e) for e in DEFAULT}
    # the IC board carries passives too: the passive entries of its taxonomy get images
    on_ic_board = {(r["material"], r["defect_type"]) for r in _labels(texture_runs["ic"])}
    assert on_ic_board == {tuple(e) for e in ALL_ENTRIES if e[0] == "IC"} | {tuple(e) for e in DEFAULT}
    summary = json.loads((texture_runs["ic"] / "anomaly" / "summary.json").read_text())
    assert summary["entries"]["passive_component/missing"]["rois"] > 0
    assert summary["entries"]["passive_component/missing"]["images"] > 0
    for name in ("passive", "ic", "default"):
        files = sorted(p.relative_to(texture_runs[name] / "anomaly").as_posix()
                       for p in (texture_runs[name] / "anomaly" / "images").rglob("*.png"))
        assert files == sorted(r["image"] for r in _labels(texture_runs[name]))


def test_default_taxonomy_is_the_documents(project_root):
    import yaml

    from sdg_factory.pipelines.texture_defect_day0.nodes import parse_taxonomy

    conf = yaml.safe_load((project_root / "conf/base/parameters_texture_defect_day0.yml").read_text())
    assert parse_taxonomy(conf["anomaly_types_json"]) == [tuple(e) for e in DEFAULT]


def test_pixels_change_inside_the_mask_only(records):
    for run, r in records:
        image = _rgb(run / "anomaly" / r["image"])
        mask = decode(run / "anomaly" / r["mask"])
        clean = _rgb(run / r["source_image"])
        assert mask.ndim == 2 and set(np.unique(mask)) <= {0, 255}
        assert image.shape[:2] == mask.shape == clean.shape[:2] == (r["height"], r["width"])
        diff = np.abs(image.astype(int) - clean.astype(int)).mean(axis=2)
        inside, outside = diff[mask > 0].mean(), diff[mask == 0].mean()
        assert outside <= 0.01, (r["image"], outside)
        # discolouration is a tint, subtler than solder or a missing part, on restyled (darker) crops
        floor = 8 if r["defect_type"] == "discoloration" else 15
        assert inside >= floor, (r["image"], inside)


def test_label_bbox_and_area_match_the_mask(records):
    for run, r in records:
        ys, xs = np.nonzero(decode(run / "anomaly" / r["mask"]))
        assert r["area"] == xs.size > 0
        assert r["bbox_xyxy"] == [xs.min(), ys.min(), xs.max(), ys.max()]
        for key in ("image", "mask", "material", "cell", "stem", "defect_type", "backend", "seed"):
            assert key in r
        assert r["image"] == f"images/{r['material']}/{r['cell']}__{r['stem']}__{r['defect_type']}.png"


def test_bridges_touch_two_separate_conductor_regions(records):
    bridges = [(run, r) for run, r in records if r["defect_type"] == "bridge"]
    assert bridges
    for run, r in bridges:
        labels = json.loads((run / "anomaly_staging" / "semantic_segmentation_labels.json").read_text())
        cad = cv2.cvtColor(decode(run / r["source_cad_mask"]), cv2.COLOR_BGRA2RGBA)
        conductor = np.zeros(cad.shape[:2], bool)
        for key, entry in labels.items():
            if CONDUCTORS & {c.strip() for c in entry["class"].split(",")}:
                rgba = [int(v) for v in key.strip("()").split(",")]
                conductor |= (cad == rgba).all(axis=2)
        _, groups = cv2.connectedComponents(conductor.astype(np.uint8), connectivity=8)
        mask = decode(run / "anomaly" / r["mask"]) > 0
        touching = set(np.unique(groups[cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0])) - {0}
        assert len(touching) >= 2, r["image"]
        assert cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0] == 2  # one component


def test_staging_folder_per_material(texture_runs):
    staging = texture_runs["passive"] / "anomaly_staging"
    spec = [json.loads(line) for line in (staging / "defect_spec.jsonl").read_text().splitlines()]
    assert {(s["material"], s["defect_type"]) for s in spec} == {tuple(e) for e in ALL_ENTRIES}
    assert {s["spatial_dependency"] for s in spec} == {"cad", "free"}
    images = sorted(p.name for p in (staging / "images" / "passive_component").glob("*.png"))
    cads = sorted(p.name for p in (staging / "cad_masks" / "passive_component").glob("*.png"))
    assert images == cads and images and all("__" in n for n in images)
    assert len(list((staging / "submasks" / "IC" / "mask" / "bridge").glob("*.png"))) == 3


def test_preflight_is_the_first_node():
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    from tests.kedro_runner import PROJECT_ROOT

    bootstrap_project(PROJECT_ROOT)
    for name in ("texture_defect_day0", "texture_defect_day0_finetune"):
        assert pipelines[name].nodes[0].name == "anomalygen.preflight_urls"  # before the cookbooks are resolved
        assert {n.namespace for n in pipelines[name].nodes} == {"pcba.render", "pcba.crop", "pcba.restyle",
                                                                 "anomalygen"}
    names = {n.name for n in pipelines["__default__"].nodes}
    assert "anomalygen.generate_anomalies" in names and "anomalygen.finetune_anomalygen" not in names
