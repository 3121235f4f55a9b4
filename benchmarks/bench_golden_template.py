"""golden_template at 640² (a bare-board line-scan crop) against the bare decode cost, same run.

Work: synthetic binarised bare-board pairs, 640×640 (about 48 px/mm), the inspected image
shifted by up to ±3 px, turned by up to 0.5°, lines 1–2 px wider or narrower than the golden,
one or two defects each. Measured in the same process, taking turns pair by pair:

- **decode**: reading the two PNGs (image + golden) — the floor any inspection pays;
- **map**: ``golden_template_map`` on the decoded pair (registration, photometric matching,
  min/max envelope);
- **end to end**: what ``defects_infer`` does per image — decode both, map, extract regions
  (``extract_defects``) — without Kedro's bookkeeping.

The peer the issue names, pyimgano's fastest pixel-map model on the same images, runs when
pyimgano is installed (``pip install -e '.[bench]'``); otherwise its row is left out and a note
says so. Run: ``python -m benchmarks golden_template`` (``BENCH_QUICK=1`` for a few pairs).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from sdg_factory.datasets.image import decode_image
from sdg_factory.defects import extract_defects
from sdg_factory.imaging.golden_template import golden_template_map

ROOT = Path(__file__).resolve().parents[1]
SIZE = 640


def _pairs(n: int) -> list[tuple[bytes, bytes]]:
    sys.path.insert(0, str(ROOT))
    from tests.defects.inspection_pairs import CLASSES, bare_board_pair

    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        kinds = tuple(rng.choice(CLASSES, size=int(rng.integers(1, 3)), replace=False))
        pair = bare_board_pair(seed, size=SIZE, kinds=kinds)
        out.append((cv2.imencode(".png", pair["image"])[1].tobytes(),
                    cv2.imencode(".png", pair["golden"])[1].tobytes()))
    return out


def _decode(pair):
    return decode_image(pair[0]), decode_image(pair[1])


def _map(decoded):
    return golden_template_map(*decoded)[0]


def _end_to_end(pair):
    amap = _map(_decode(pair))
    return extract_defects(amap, pixel_threshold=0.5, min_area=4)


def _pyimgano(pairs_decoded):
    """The fastest pixel-map pyimgano model, fitted on the goldens, timed on the images; or None."""
    try:
        from pyimgano.models import create_model
    except ImportError:
        return None
    rgb = [np.repeat(d[0][:, :, None], 3, axis=2) for d in pairs_decoded]
    model = create_model("vision_pixel_gaussian_map", resize_hw=[SIZE, SIZE], color="rgb")
    model.fit([np.repeat(d[1][:, :, None], 3, axis=2) for d in pairs_decoded])
    return lambda i: model.get_anomaly_map(rgb[i])


def run() -> dict:
    quick = bool(os.environ.get("BENCH_QUICK"))
    n, repeat = (4, 2) if quick else (16, 3)
    pairs = _pairs(n)
    decoded = [_decode(p) for p in pairs]
    peer = _pyimgano(decoded)
    fns = {"decode": lambda i: _decode(pairs[i]), "map": lambda i: _map(decoded[i]),
           "end_to_end": lambda i: _end_to_end(pairs[i])}
    if peer is not None:
        fns["pyimgano"] = peer
    best = {k: [np.inf] * n for k in fns}
    for _ in range(repeat):
        for i in range(n):                          # the functions take turns pair by pair
            for name, fn in fns.items():
                t = time.perf_counter()
                fn(i)
                best[name][i] = min(best[name][i], time.perf_counter() - t)
    per_s = {k: n / sum(v) for k, v in best.items()}
    rows = [
        {"case": "golden_template map, 640² pair vs decoding the pair", "ours": per_s["map"],
         "peer": per_s["decode"], "unit": "maps/s", "ratio": per_s["map"] / per_s["decode"],
         "target": "(reference)"},
        {"case": "defects_infer per image (decode + map + regions) vs decode", "ours": per_s["end_to_end"],
         "peer": per_s["decode"], "unit": "images/s", "ratio": per_s["end_to_end"] / per_s["decode"],
         "target": "(reference)"},
    ]
    notes = [f"{n} pairs of {SIZE}×{SIZE}; each call timed on its own, fastest of {repeat} per pair."]
    if peer is not None:
        rows.append({"case": "golden_template map vs pyimgano vision_pixel_gaussian_map (640²)",
                     "ours": per_s["map"], "peer": per_s["pyimgano"], "unit": "maps/s",
                     "ratio": per_s["map"] / per_s["pyimgano"],
                     "target": "(reference: issue 15 asks for the comparison, no bound)"})
        notes.append("pyimgano's vision_pixel_gaussian_map (fitted on the goldens) is a per-pixel Gaussian with "
                     "no registration and no line-width tolerance, a cheaper model of another kind; its accuracy "
                     "on these shifted, re-etched pairs is not measured here.")
    else:
        notes.append("pyimgano is not installed here: its row is left out (pip install -e '.[bench]').")
    return {"title": "Golden-template comparison (640² bare-board pairs)",
            "what": "golden_template_map (registration + photometric matching + min/max envelope) and the "
                    "defects_infer per-image work, against the cost of decoding the image and its golden, "
                    "measured in the same run.",
            "rows": rows, "notes": notes}
