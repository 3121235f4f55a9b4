"""Placement and synthesis on a hand-drawn CAD mask: a chip with two terminals on two pads, and
two pins beside it, labelled through a Replicator labels dict."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sdg_factory.imaging.defect_masks import (
    PlacementError,
    components,
    mask_stats,
    place_defect,
    semantic_regions,
)
from sdg_factory.imaging.defect_synthesis import revealed_pads, synthesize_defect

COLORS = {"pcb": (10, 200, 30, 255), "pad": (200, 150, 60, 255), "terminal": (220, 220, 220, 255),
          "capacitor": (40, 40, 40, 255), "solder": (180, 180, 190, 255)}
LABELS = {"(0, 0, 0, 0)": {"class": "BACKGROUND"},
          **{"({}, {}, {}, {})".format(*c): {"class": k} for k, c in COLORS.items()}}


def _scene():
    cad = np.zeros((64, 96, 4), np.uint8)
    cad[:] = COLORS["pcb"]
    cad[20:44, 14:34] = COLORS["pad"]
    cad[20:44, 62:82] = COLORS["pad"]
    cad[24:40, 18:30] = COLORS["terminal"]
    cad[24:40, 66:78] = COLORS["terminal"]
    cad[24:40, 30:66] = COLORS["capacitor"]
    cad[22:24, 18:30] = COLORS["solder"]
    clean = np.zeros((64, 96, 3), np.uint8)
    for color in COLORS.values():
        clean[(cad == color).all(axis=2)] = np.array(color[:3]) // 2 + 40
    return cad, clean, semantic_regions(cad, LABELS)


def _blob(w=64, h=24):
    sub = np.zeros((64, 64), np.uint8)
    cv2.ellipse(sub, (32, 32), (w // 2 - 2, h // 2), 0, 0, 360, 255, -1)
    return sub


@pytest.mark.parametrize("defect", ["bridge", "excess_solder", "missing", "scratch", "discoloration"])
def test_every_defect_is_placed_and_painted_exactly(defect):
    cad, clean, regions = _scene()
    rng = np.random.default_rng(3)
    mask = place_defect(defect, regions, _blob(), rng)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    out = synthesize_defect(defect, clean, mask, regions, np.random.default_rng(4))
    diff = np.abs(out.astype(int) - clean.astype(int)).mean(axis=2)
    assert (diff[mask == 0] == 0).all()
    assert diff[mask > 0].mean() > 15
    bbox, area = mask_stats(mask)
    ys, xs = np.nonzero(mask)
    assert area == xs.size and bbox == [xs.min(), ys.min(), xs.max(), ys.max()]


def test_bridge_is_one_strip_touching_both_pad_groups():
    _, _, regions = _scene()
    for seed in range(5):
        mask = place_defect("bridge", regions, _blob(), np.random.default_rng(seed)) > 0
        assert len(components(mask)) == 1
        groups = components(regions["pad"] | regions["terminal"] | regions["solder"])
        assert len(groups) == 2 and all((mask & g).any() for g in groups)


def test_missing_covers_body_and_terminals_and_reveals_the_pads():
    _, clean, regions = _scene()
    mask = place_defect("missing", regions, _blob(), np.random.default_rng(0)) > 0
    assert mask[regions["body"]].all() and mask[regions["terminal"]].all()
    pads = revealed_pads(regions)
    assert pads[20:44, 14:34].all() and not pads[30, 45]  # whole lands, not the gap between them
    out = synthesize_defect("missing", clean, mask.astype(np.uint8) * 255, regions, np.random.default_rng(0))
    board = clean[5, 5].astype(int)
    assert np.abs(out[32, 48].astype(int) - board).max() < 25  # the body became board


def test_texture_defects_stay_on_body_or_board():
    _, _, regions = _scene()
    for defect in ("scratch", "discoloration"):
        for seed in range(5):
            mask = place_defect(defect, regions, _blob(), np.random.default_rng(seed)) > 0
            assert mask.any() and not (mask & ~regions["body"] & ~regions["board"]).any()
            assert not (mask & (regions["pad"] | regions["terminal"])).any()


def test_a_bridge_needs_two_conductor_groups():
    cad, _, _ = _scene()
    cad[:, 48:] = COLORS["pcb"]
    cad[20:44, 34:48] = COLORS["capacitor"]
    with pytest.raises(PlacementError, match="two separate"):
        place_defect("bridge", semantic_regions(cad, LABELS), _blob(), np.random.default_rng(0))
