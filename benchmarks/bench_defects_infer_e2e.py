"""``bare_board_defects`` → ``defects_infer`` (golden_template, ``labelled_f1``): region F1 and images/s.

Work: ``pcba_setup`` then ``bare_board_defects`` write N synthetic bare-board pairs (640×640
line-scan crops at 48 px/mm, realistic nuisance: 2–3 px misregistration, ≤0.2° rotation,
1–2 px line-width change, blur, gain, scanner noise) in the inspection-folder layout. The ids
are split in two labelled halves (even ids: calibration, odd ids: test), and

    kedro run --pipeline=defects_infer --params run_name=e2e,input_dir=<test>,calib_dir=<calib>,detector=golden_template

calibrates the pixel threshold and ``min_area`` by ``labelled_f1`` on the calibration half and
infers on the test half. Reported:

- the class-agnostic region F1 at IoU > 0.33 of ``metrics.json`` (target ≥ 0.90), and per class;
- ``defects_infer`` images/s end to end, calibrating and then deployed (``infer_config=``),
  (the whole Kedro run: calibration maps, inference maps, regions, masks, files, fingerprints;
  divided by the test images) against the bare decode cost (decoding each test image and its
  golden), measured in the same process.

``BENCH_QUICK=1``: 8 pairs of 320² (a look, not the figure). Run: ``python -m benchmarks defects_infer_e2e``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sdg_factory.datasets.image import decode_image

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = ("images", "golden", "masks", "boxes")


def _split(folder: Path, out: Path) -> tuple[Path, Path, int]:
    """Even ids into ``out/calib``, odd ids into ``out/test`` (same layout, classes.txt copied)."""
    ids = sorted(p.relative_to(folder / "images").with_suffix("").as_posix()
                 for p in (folder / "images").rglob("*.png"))
    for half, keep in (("calib", ids[0::2]), ("test", ids[1::2])):
        for sub in LAYOUT:
            suffix = ".txt" if sub == "boxes" else ".png"
            for item in keep:
                src = folder / sub / f"{item}{suffix}"
                if src.exists():
                    dst = out / half / sub / f"{item}{suffix}"
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
        shutil.copyfile(folder / "classes.txt", out / half / "classes.txt")
    return out / "calib", out / "test", len(ids[1::2])


def _decode_all(folder: Path) -> None:
    for path in sorted((folder / "images").rglob("*.png")):
        decode_image(path.read_bytes())
        decode_image((folder / "golden" / path.relative_to(folder / "images")).read_bytes())


def run() -> dict:
    sys.path.insert(0, str(ROOT))
    from tests.kedro_runner import run_pipeline

    quick = bool(os.environ.get("BENCH_QUICK"))
    count, crop, px_mm = (8, 320, 48) if quick else (int(os.environ.get("SDG_BENCH_PAIRS", 40)), 640, 48)
    with tempfile.TemporaryDirectory(prefix="bench_defects_infer_") as tmp:
        work = Path(tmp)
        run_pipeline("pcba_setup", env="smoke", cwd=work)
        run_pipeline("bare_board_defects", env="smoke", cwd=work, params={
            "run_name": "boards", "bare_board_defects": {"count": count, "crop_px": crop, "px_per_mm": px_mm}})
        calib, test, n_test = _split(work / "data/dig/runs/boards/bare_board", work / "split")
        start = time.perf_counter()
        run_pipeline("defects_infer", env="smoke", cwd=work, params={
            "run_name": "e2e", "input_dir": str(test), "calib_dir": str(calib), "detector": "golden_template"})
        e2e_s = time.perf_counter() - start
        start = time.perf_counter()   # deployed: the saved detector and thresholds, no calibration
        run_pipeline("defects_infer", env="smoke", cwd=work, params={
            "run_name": "deployed", "input_dir": str(test),
            "infer_config": str(work / "data/dig/runs/e2e/defects_infer/infer_config.json")})
        deployed_s = time.perf_counter() - start
        decode_s = min(_timed(_decode_all, test) for _ in range(3))
        out = work / "data/dig/runs/e2e/defects_infer"
        metrics = json.loads((out / "metrics.json").read_text())
        thresholds = json.loads((out / "thresholds.json").read_text())
    regions = metrics["regions"]
    per_class = regions["per_class"]
    rows = [
        {"case": f"region F1 (class-agnostic, IoU > {regions['iou_threshold']:g}), {n_test} test pairs {crop}²",
         "ours": regions["f1"], "peer": 0.90, "unit": "F1", "ratio": regions["f1"] / 0.90, "target": ">= 1"},
        {"case": "defects_infer end to end (kedro run) vs decoding image + golden",
         "ours": n_test / e2e_s, "peer": n_test / decode_s, "unit": "images/s",
         "ratio": decode_s / e2e_s, "target": "(reference)"},
        {"case": "defects_infer deployed (infer_config=…, no calibration) vs decoding image + golden",
         "ours": n_test / deployed_s, "peer": n_test / decode_s, "unit": "images/s",
         "ratio": decode_s / deployed_s, "target": "(reference)"},
    ]
    table = {"title": "Per class (test half)", "columns": ["class", "gt regions", "recall", "precision", "F1"],
             "rows": [[c, r["gt_regions"], _f(r["recall"]), _f(r["precision"]), _f(r["f1"])]
                      for c, r in per_class.items()]}
    notes = [
        f"{count} bare_board_defects pairs ({crop}×{crop}, {px_mm} px/mm, nuisance realistic, smoke board), "
        f"even ids calibrate, odd ids are inspected; labelled_f1 chose pixel threshold "
        f"{thresholds['pixel_threshold']:.4g} and min_area {thresholds['min_area']}.",
        f"class-agnostic: precision {_f(regions['precision'])}, recall {_f(regions['recall'])} "
        f"(tp {regions['tp']}, fp {regions['fp']}, fn {regions['fn']}).",
        "The end-to-end time is the whole Kedro run of defects_infer (session start, calibration maps "
        "of the other half and the labelled_f1 search, inference, files, metrics with pixel AUROC / AUPRO, "
        "fingerprints) divided by the inspected images; the deployed row reloads that run's infer_config.json "
        "(no calibration) and inspects the same images.",
    ]
    return {"title": "bare_board_defects → defects_infer (golden_template, labelled_f1)",
            "what": "Region F1 at IoU > 0.33 of defects_infer on synthetic bare-board line-scan pairs after "
                    "labelled_f1 calibration on a labelled half, and its end-to-end images/s against decoding "
                    "the same images, measured in the same run.",
            "rows": rows, "notes": notes, "tables": [table]}


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
