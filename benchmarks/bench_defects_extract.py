"""Defect extraction: ``sdg_factory.defects.extract_defects`` vs pyimgano 0.9.1's ``pyimgano.defects``.

Same synthetic anomaly maps, same run, same settings: 256² maps with a few defect blobs and
1024² maps with hundreds. Throughput in maps per second; before timing, every map's region
set is checked to be identical (bbox, area, centroid, score_max/score_mean to 1e-6) and so
is the binary mask.

Peers:
- ``extract_defects_from_anomaly_map`` — pyimgano's own extraction, what ``pyimgano-infer
  --defects`` runs (it also computes per-region shape stats and solidity);
- the minimal composition of its building blocks (``anomaly_map_to_binary_mask`` →
  ``postprocess_binary_mask`` → ``extract_regions_from_mask`` without shape stats), the
  cheapest way to get the same regions out of ``pyimgano.defects``.

Run: ``python -m benchmarks defects_extract``.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from sdg_factory.defects import extract_defects

THRESHOLD = 0.55
CASES = [
    # (name, size, blobs per map, maps, settings, target)
    ("256² · threshold only", 256, 6, 24, {}, 3.0),
    ("256² · open 3, close 5, min_area 8", 256, 6, 24, {"open_ksize": 3, "close_ksize": 5, "min_area": 8}, 3.0),
    ("1024² · threshold only", 1024, 400, 3, {}, 10.0),
    ("1024² · open 3, close 5, fill holes", 1024, 400, 3, {"open_ksize": 3, "close_ksize": 5, "fill_holes": True},
     10.0),
]


def synthetic_map(size: int, blobs: int, seed: int) -> np.ndarray:
    """A smooth background below the threshold plus ``blobs`` Gaussian defects above it."""
    rng = np.random.default_rng(seed)
    amap = cv2.GaussianBlur(rng.random((size, size), dtype=np.float32), (0, 0), 3) * 0.8
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(blobs):
        cx, cy = rng.uniform(0, size, 2)
        sigma = rng.uniform(1.0, 5.0)
        peak = rng.uniform(0.6, 1.0)
        r = int(4 * sigma) + 1
        x0, x1 = max(int(cx) - r, 0), min(int(cx) + r + 1, size)
        y0, y1 = max(int(cy) - r, 0), min(int(cy) + r + 1, size)
        g = peak * np.exp(-((xx[y0:y1, x0:x1] - cx) ** 2 + (yy[y0:y1, x0:x1] - cy) ** 2) / (2 * sigma**2))
        amap[y0:y1, x0:x1] = np.maximum(amap[y0:y1, x0:x1], g)
    return amap.astype(np.float32)


def _settings(kw: dict) -> dict:
    return {"open_ksize": kw.get("open_ksize", 0), "close_ksize": kw.get("close_ksize", 0),
            "fill_holes": kw.get("fill_holes", False), "min_area": kw.get("min_area", 0)}


def ours(amap: np.ndarray, kw: dict) -> dict:
    return extract_defects(amap, pixel_threshold=THRESHOLD, **_settings(kw))


def pyimgano_extract(amap: np.ndarray, kw: dict) -> dict:
    from pyimgano.defects import extract_defects_from_anomaly_map

    return extract_defects_from_anomaly_map(amap, pixel_threshold=THRESHOLD, roi_xyxy_norm=None,
                                            max_regions=None, **_settings(kw))


def pyimgano_minimal(amap: np.ndarray, kw: dict) -> dict:
    from pyimgano.defects import anomaly_map_to_binary_mask, extract_regions_from_mask, postprocess_binary_mask

    mask = postprocess_binary_mask(anomaly_map_to_binary_mask(amap, THRESHOLD), **_settings(kw))
    return {"mask": mask, "regions": extract_regions_from_mask(mask, amap)}


def per_map_seconds(fns: dict, maps: list, kw: dict, repeat: int) -> dict[str, float]:
    """Seconds per pass over ``maps`` for each function: every call is timed on its own, the
    functions take turns map by map, and each map counts with its fastest of ``repeat`` calls.

    The machine is shared; interleaving exposes ours and the peers to the same load, and the
    per-call minimum is the least disturbed figure.
    """
    best = {name: [float("inf")] * len(maps) for name in fns}
    for fn in fns.values():      # warm-up
        fn(maps[0], kw)
    for _ in range(repeat):
        for i, amap in enumerate(maps):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(amap, kw)
                best[name][i] = min(best[name][i], time.perf_counter() - start)
    return {name: sum(times) for name, times in best.items()}


def _key(region: dict) -> tuple:
    return tuple(region["bbox_xyxy"]), int(region["area"])


def same_regions(a: dict, b: dict) -> tuple[bool, str]:
    """Region sets equal: bbox and area exactly, centroid to 1e-9, scores to 1e-6; masks equal."""
    if not np.array_equal(np.asarray(a["mask"]) > 0, np.asarray(b["mask"]) > 0):
        return False, "masks differ"
    ra = {_key(r): r for r in a["regions"]}
    rb = {_key(r): r for r in b["regions"]}
    if len(ra) != len(a["regions"]) or set(ra) != set(rb):
        return False, f"region sets differ ({len(ra)} vs {len(rb)})"
    for k, r in ra.items():
        s = rb[k]
        if not np.allclose(r["centroid_xy"], s["centroid_xy"], rtol=0, atol=1e-9):
            return False, f"centroid of {k} differs"
        for stat in ("score_max", "score_mean"):
            if abs(r[stat] - s[stat]) > 1e-6:
                return False, f"{stat} of {k} differs: {r[stat]} vs {s[stat]}"
    return True, ""


def run() -> dict:
    rows, notes = [], []
    for name, size, blobs, count, kw, target in CASES:
        maps = [synthetic_map(size, blobs, seed) for seed in range(count)]
        n_regions = []
        for amap in maps:
            mine = ours(amap, kw)
            n_regions.append(len(mine["regions"]))
            for peer in (pyimgano_extract, pyimgano_minimal):
                ok, why = same_regions(mine, peer(amap, kw))
                if not ok:
                    raise AssertionError(f"{name}: {peer.__name__} disagrees with extract_defects: {why}")
        notes.append(f"{name}: {count} maps, {min(n_regions)}–{max(n_regions)} regions per map; "
                     "region sets and masks identical to both pyimgano peers on every map.")
        repeat = 15 if size <= 256 else 5
        seconds = per_map_seconds({"ours": ours, "extract": pyimgano_extract, "minimal": pyimgano_minimal},
                                  maps, kw, repeat)
        for peer, label, tgt in (("extract", "pyimgano extract_defects_from_anomaly_map", target),
                                 ("minimal", "pyimgano minimal composition", None)):
            rows.append({
                "case": f"{name} vs {label}",
                "ours": count / seconds["ours"],
                "peer": count / seconds[peer],
                "unit": "maps/s",
                "ratio": seconds[peer] / seconds["ours"],
                "target": f">= {tgt:g}" if tgt else "(reference)",
                "regions_per_map": float(np.mean(n_regions)),
            })
    notes.append(
        "Ours: one connected-components pass (OpenCV, without its stats, which cost 4–5× the labelling) "
        "and every region statistic as one bincount/ufunc.at accumulation over the foreground pixels. "
        "pyimgano scans the whole label image once or more per region (`labels == id`), so its cost "
        "grows with regions × pixels; its full function also computes shape stats and solidity."
    )
    notes.append("Timing: every call timed on its own, ours and the peers taking turns map by map; "
                 "each map counts with its fastest of 15 (256²) or 5 (1024²) calls.")
    notes.append(
        "Semantics differ in one documented place not exercised by the identity check: with both "
        "`fill_holes` and `min_area`, we fill holes before dropping small regions (the issue's order), "
        "pyimgano drops first."
    )
    return {
        "title": "Defect extraction (anomaly map → mask + regions)",
        "what": "Maps per second of `sdg_factory.defects.extract_defects` versus pyimgano 0.9.1's "
                "`pyimgano.defects` on the same synthetic anomaly maps in the same run, without ROI, "
                f"threshold {THRESHOLD}.",
        "rows": rows,
        "notes": notes,
    }
