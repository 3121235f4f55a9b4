"""usd2roi crop throughput versus the bare cost of its image I/O with OpenCV."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import cv2

from benchmarks.pcba_fixture import board_params, rendered_folder
from benchmarks.report import best_of
from sdg_factory.datasets import ReplicatorRenderFolderDataset, RoiCropDataset
from sdg_factory.imaging.roi_crop import CropConfig, crop, find_rois
from sdg_factory.pipelines.pcba_crop.nodes import crop_rois


def run() -> dict:
    rows, notes = [], []
    for board in ("0603_H100", "1152819000"):
        folder = rendered_folder(board)
        cfg_doc = {**board_params(board)["cookbooks"]["day0_crop"], "max_emit": 1000}
        cfg = CropConfig.from_cookbook(cfg_doc)
        render = ReplicatorRenderFolderDataset(path=str(folder), progress=False)
        labels = {k: v for cell in render.load().values() for k, v in cell().semantic_labels.items()}
        # the windows ours will cut, computed once so the bound encodes exactly the same outputs
        windows = {}
        for cell, load in render.load().items():
            handle = load()
            windows[cell] = [b.bbox_xyxy for b in find_rois(handle.semantic, handle.semantic_labels, cfg)]
        n_rois = sum(len(w) for w in windows.values())

        def ours():
            out = Path(tempfile.mkdtemp(prefix="sdg-crop-"))
            RoiCropDataset(path=str(out), progress=False).save(crop_rois(render.load(), cfg_doc, labels))
            shutil.rmtree(out)

        def bound():
            out = Path(tempfile.mkdtemp(prefix="sdg-io-"))
            for cell, boxes in windows.items():
                rgb = cv2.imread(str(folder / f"rgb_{cell}.png"), cv2.IMREAD_UNCHANGED)
                sem = cv2.imread(str(folder / f"semantic_segmentation_{cell}.png"), cv2.IMREAD_UNCHANGED)
                for k, box in enumerate(boxes):
                    for name, image in (("n", rgb), ("m", sem)):
                        ok, buf = cv2.imencode(".png", crop(image, box), [cv2.IMWRITE_PNG_COMPRESSION, 3])
                        (out / f"{cell}_{k}_{name}.png").write_bytes(buf.tobytes())
            shutil.rmtree(out)

        t_ours, t_bound = best_of(ours, repeat=3), best_of(bound, repeat=3)
        rows.append({"case": f"{board}: {len(windows)} cells, {n_rois} ROIs", "ours": n_rois / t_ours,
                     "peer": n_rois / t_bound, "unit": "ROIs/s", "ratio": t_bound / t_ours, "target": ">= 0.5"})
        shutil.rmtree(folder.parent)
    notes.append("peer = the bare cost: OpenCV decode of each cell's RGB and semantic PNGs and PNG encode + "
                 "write of the same ROI windows (no label matching, morphology or components); serial executor.")
    return {"title": "usd2roi crop: ROIs per second vs its bare image I/O",
            "what": "The whole crop stage (dataset load, colour matching, close, components, filters, "
                    "atomic writes) against decoding the same inputs and encoding the same outputs.",
            "rows": rows, "notes": notes}
