"""AnomalyGen inference places each defect once (issue 18) and writes the bytes it wrote when the
mask saver and the painter each placed it again.

The reference savers below are the code as it was: both recompute the placement from the
ROI's CAD mask and the sub-mask.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.imaging.defect_masks import semantic_regions
from sdg_factory.pipelines.texture_defect_day0.nodes import PlacedMask, _clean_rgb, _placement, generate_anomalies
from sdg_factory.seeding import item_seed
from tests.texture_defect.test_defect_masks import LABELS, _blob, _scene

DEFECTS = ("bridge", "excess_solder", "missing", "scratch", "discoloration")


# --- the savers as they were ---------------------------------------------------------------------
def _ref_anomaly_mask(item, load_cad, load_submask, labels):
    return _placement(item, load_cad, load_submask, labels)[0]


def _ref_anomaly_image(item, load_clean, load_cad, load_submask, labels, backend, options, checkpoint, prompt,
                       negative_prompt):
    from sdg_factory.backends.anomaly_generation import ANOMALY_GENERATORS, AnomalyRequest

    mask, regions = _placement(item, load_cad, load_submask, labels)
    generator = ANOMALY_GENERATORS.build(backend, options, checkpoint=checkpoint)
    request = AnomalyRequest(_clean_rgb(load_clean()), mask, item.defect_type, item.material, regions,
                             item_seed(item.seed, "paint"), prompt, negative_prompt)
    return generator.generate(request)


def _staged():
    """Six ROIs (the chip moved about, one with a single pad group: no bridge there) and two
    sub-masks per defect."""
    images, cads = {}, {}
    for k in range(6):
        cad, clean, _ = _scene()
        cad, clean = np.roll(cad, (k - 2, 3 * k - 7), (0, 1)), np.roll(clean, (k - 2, 3 * k - 7), (0, 1))
        if k == 5:
            cad[:, 48:] = cad[0, 0]
        sid = f"passive_component/x{k}_y0__0000"
        images[sid], cads[sid] = (lambda c=clean: c), (lambda c=cad: c)
    submasks = {f"passive_component/mask/{d}/{j:04d}": (lambda j=j: _blob(64 - 20 * j, 24 - 8 * j))
                for d in DEFECTS for j in range(2)}
    spec = [{"material": "passive_component", "defect_type": d, "mask_dir": f"passive_component/mask/{d}",
             "count": 2, "rois": 6, "spatial_dependency": "cad"} for d in DEFECTS]
    return images, cads, submasks, spec


def _save(folder: Path, items: dict) -> dict[str, bytes]:
    PartitionedDataset(path=str(folder), dataset=ImageDataset, filename_suffix=".png", progress=False).save(items)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def test_the_placement_made_once_writes_the_bytes_of_the_three(tmp_path):
    images, cads, submasks, spec = _staged()
    params = {"prompts": {"bridge": "a solder bridge"}, "negative_prompt": "blur"}
    out_images, out_masks, labels, summary = generate_anomalies(images, cads, submasks, spec, LABELS, None, params,
                                                                "procedural", 7)
    assert summary["skipped"] and all("bridge" in s["partition_id"] for s in summary["skipped"])
    assert len(out_masks) == len(out_images) == len(labels) == 6 * len(DEFECTS) - len(summary["skipped"])
    assert all(isinstance(v, PlacedMask) for v in out_masks.values())
    ref_images, ref_masks = {}, {}
    for pid, saver in out_images.items():   # the same items, seeds and loaders, through the old savers
        item, load_clean, load_cad = saver.args[:3]
        load_sub = submasks[item.submask]
        ref_masks[pid] = partial(_ref_anomaly_mask, item, load_cad, load_sub, LABELS)
        ref_images[pid] = partial(_ref_anomaly_image, item, load_clean, load_cad, load_sub, *saver.args[4:])
    after_masks, before_masks = _save(tmp_path / "masks", out_masks), _save(tmp_path / "ref_masks", ref_masks)
    after_images, before_images = _save(tmp_path / "images", out_images), _save(tmp_path / "ref_images", ref_images)
    assert len(after_masks) == len(after_images) == len(labels)
    assert after_masks == before_masks
    assert after_images == before_images
    # the painter still reads the CAD mask's regions, and the label is the mask it writes
    for record in labels:
        mask = out_masks[record["partition_id"]]()
        assert int((mask > 0).sum()) == record["area"]
    regions = semantic_regions(cads["passive_component/x0_y0__0000"](), LABELS)
    assert regions["pad"].any()


def test_placed_mask_holds_any_mask_exactly():
    rng = np.random.default_rng(0)
    binary = (rng.random((37, 53)) < 0.3).astype(np.uint8) * 255
    placed = PlacedMask.of(binary)
    assert placed.raw is None and placed.bits.nbytes <= binary.size // 8 + 1
    back = placed()
    assert back.dtype == np.uint8 and back.shape == binary.shape and back.tobytes() == binary.tobytes()
    other = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    held = PlacedMask.of(other)
    assert held.raw is not None and held().tobytes() == other.tobytes()
    back[:] = 0
    assert placed().tobytes() == binary.tobytes()   # each call is a fresh array
