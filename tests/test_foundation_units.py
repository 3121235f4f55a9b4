"""Unit tests of the small foundation modules: names, sentinels, redaction, scan grid, crop maths."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.cookbooks import CookbookError, check_resolved, require, resolve_sentinels
from sdg_factory.imaging.roi_crop import CropConfig, find_rois
from sdg_factory.imaging.semantic_colors import color_key, pack_color, pack_rgba, parse_color_key
from sdg_factory.paths import UnsafeNameError, UnsafePathError, check_relative, check_segment
from sdg_factory.pcb.render import scan_grid
from sdg_factory.provenance import REDACTED, redact


@pytest.mark.parametrize("name", ["passive_component", "IC", "x0_y1", "0000", "demo-2026.03+a"])
def test_check_segment_keeps_safe_names(name):
    assert check_segment(name) == name


@pytest.mark.parametrize("name,why", [
    ("../../etc", "path separator"), ("/abs/path", "absolute path"), ("a/b", "path separator"),
    ("..", "'.' or '..'"), ("", "empty"), ("night run", "holds ' '"), (".hidden", "hidden"),
])
def test_check_segment_refuses_unsafe_names_without_rewriting(name, why):
    with pytest.raises(UnsafeNameError, match=f"material {name!r} cannot be used as a folder name: .*{why}"):
        check_segment(name, "material")


@pytest.mark.parametrize("pid", ["../x", "a/../../b", "/abs", "a//b", "C:/x", ""])
def test_check_relative_rejects_escapes(pid):
    with pytest.raises(UnsafePathError):
        check_relative(pid)


def test_sentinels_resolve_keep_types_and_report_leftovers():
    doc = {"out": "__OUTPUT__/trigger_0000", "n": "__MAX_IMAGE_COUNT__", "list": ["__OUTPUT__"], "x": "__NOPE__"}
    resolved = resolve_sentinels(doc, {"__OUTPUT__": "s3://b/run", "__MAX_IMAGE_COUNT__": 5})
    assert resolved["out"] == "s3://b/run/trigger_0000" and resolved["n"] == 5 and resolved["list"] == ["s3://b/run"]
    with pytest.raises(CookbookError, match=r"f\.yaml: unresolved sentinel\(s\) at 'x' \(__NOPE__\)"):
        check_resolved(resolved, "f.yaml")
    with pytest.raises(CookbookError, match="f.yaml is missing key 'scan_grid.x_num'"):
        require({"scan_grid": {}}, ["scan_grid.x_num"], "f.yaml")


def test_redaction_of_secret_keys_and_url_passwords():
    record = redact({"api_key": "sk-123", "nested": {"password": "p", "token": None},
                     "endpoint": "https://user:secret@host/v1", "model": "m"})
    assert record["api_key"] == REDACTED and record["nested"]["password"] == REDACTED
    assert record["endpoint"] == f"https://{REDACTED}@host/v1" and record["model"] == "m"
    assert "secret" not in str(record) and "sk-123" not in str(record)


def test_scan_grid_order_and_cap():
    cells = scan_grid((0.0, 40.0, 0.0, 30.0), 4, 3, (100, 100))
    assert [c.cell for c in cells[:5]] == ["x0_y0", "x1_y0", "x2_y0", "x3_y0", "x0_y1"]
    assert cells[0].rect == pytest.approx((30.0, 40.0, 20.0, 30.0))  # x0 = largest x, y0 = largest y
    assert len(scan_grid((0.0, 40.0, 0.0, 30.0), 4, 3, (100, 100), render_patches=5)) == 5


def test_color_keys_round_trip_and_pack():
    assert parse_color_key(color_key((1, 2, 3, 255))) == (1, 2, 3, 255)
    image = np.array([[[1, 2, 3, 255], [0, 0, 0, 0]]], np.uint8)
    assert pack_rgba(image)[0, 0] == pack_color((1, 2, 3, 255))
    assert pack_rgba(image)[0, 1] == pack_color((0, 0, 0, 0))


def test_find_rois_dominant_class_and_coverage():
    labels = {color_key((10, 10, 10, 255)): {"class": "capacitor"}, color_key((20, 20, 20, 255)): {"class": "ic"},
              color_key((30, 30, 30, 255)): {"class": "pin"}}
    sem = np.zeros((100, 100, 4), np.uint8)
    sem[20:40, 20:50] = (20, 20, 20, 255)     # ic body 600 px
    sem[20:40, 50:60] = (10, 10, 10, 255)     # capacitor touching it: 200 px, loses the vote
    sem[60:90, 60:64] = (30, 30, 30, 255)     # pins only (no anchor): not an ROI
    sem[60:62, 70:72] = (20, 20, 20, 255)     # 4 px anchor: coverage fine, area below min
    cfg = CropConfig(("ic", "capacitor"), {"ic": "IC"}, ("pin",), morph_kernel=3, min_area=50, offset=5)
    rois = find_rois(sem, labels, cfg)
    assert [(r.class_name, r.material, r.bbox_xyxy, r.area) for r in rois] == [("ic", "IC", (15, 15, 64, 44), 800)]
    strict = CropConfig(("capacitor",), {}, ("ic",), morph_kernel=3, min_area=50, offset=5, min_coverage=0.3)
    assert find_rois(sem, labels, strict) == []  # capacitor covers 200/800 = 0.25 of its component
