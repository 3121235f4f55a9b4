"""``RoiCropDataset``: the usd2roi crop tree, ``crop/<MAT>/<cell>/{normal_img,cad_mask}/``.

Saved one partition per render cell (a list of :class:`~sdg_factory.pcb.roi.Roi`), loaded one
partition per ROI (``"<MAT>/<cell>/<NNNN>"`` → loader of a ``Roi``)::

    <MAT>/<cell>/normal_img/<NNNN>.png            RGBA clean component ROI
    <MAT>/<cell>/cad_mask/<NNNN>_cad_mask.png      RGBA CAD-derived (semantic) mask, same size
    .cells/<cell>.json                             ROI records of a finished cell (written last)

A cell is complete when its record exists, so a resumed run skips finished cells, including
cells that produced no ROI.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets.image import decode_image, encode_image, image_to_preview
from sdg_factory.datasets.partitions import BasePartitionsDataset, ItemLoader
from sdg_factory.paths import check_segment
from sdg_factory.pcb.roi import Roi

CELLS_DIR = ".cells"


class RoiLoader(ItemLoader):
    """The loader of one ROI (``loader()``: the whole :class:`~sdg_factory.pcb.roi.Roi`) that can
    also read the ROI without its ``cad_mask`` (:meth:`image_only`), for a task that never looks
    at the mask: one PNG decode instead of two."""

    __slots__ = ()

    def image_only(self) -> Roi:
        """The ROI with ``cad_mask=None``: only ``normal_img`` decoded."""
        return self.source._load_partition(self.pid, with_mask=False)


class RoiCropDataset(BasePartitionsDataset):
    """See the module docstring. Materials and cells must be safe folder names (paths.check_segment)."""

    def _record_path(self, cell: str) -> str:
        return self._join(CELLS_DIR, f"{check_segment(cell, 'cell')}.json")

    def _list_partitions(self) -> list[str]:
        if not self._fs.exists(self._root):
            return []
        pids = []
        for path in self._fs.glob(posixpath.join(self._root, "*", "*", "normal_img", "*.png")):
            rel = posixpath.relpath(path, self._root)
            material, cell, _, name = rel.split("/")
            pids.append(f"{material}/{cell}/{name[:-4]}")
        return pids

    def _records(self, cell: str) -> dict[str, dict]:
        path = self._record_path(cell)
        if not self._fs.exists(path):
            return {}
        with self._fs.open(path, "rb") as handle:
            return {r["partition_id"]: r for r in json.load(handle)["rois"]}

    def load(self) -> dict[str, RoiLoader]:
        return {pid: RoiLoader(self, pid) for pid in super().load()}

    def _load_partition(self, pid: str, with_mask: bool = True) -> Roi:
        material, cell, stem = pid.split("/")
        base = self._join(material, cell)
        normal_url = self._url(posixpath.join(base, "normal_img", f"{stem}.png"))
        with self._fs.open(posixpath.join(base, "normal_img", f"{stem}.png"), "rb") as handle:
            normal = decode_image(handle.read(), "rgba", normal_url)
        mask = None
        if with_mask:
            mask_url = self._url(posixpath.join(base, "cad_mask", f"{stem}_cad_mask.png"))
            with self._fs.open(posixpath.join(base, "cad_mask", f"{stem}_cad_mask.png"), "rb") as handle:
                mask = decode_image(handle.read(), "rgba", mask_url)
        record = self._records(cell).get(pid, {})
        return Roi(material, cell, stem, normal, mask, record.get("class_name", ""),
                   tuple(record.get("bbox_xyxy", (0, 0, 0, 0))))

    def _files_of(self, pid: str) -> list[str]:
        material, cell, stem = pid.split("/")
        return [f"{material}/{cell}/normal_img/{stem}.png", f"{material}/{cell}/cad_mask/{stem}_cad_mask.png"]

    def _owned_files(self, stats: dict) -> set[str]:
        return {rel for rel in stats if rel.startswith(CELLS_DIR + "/")
                or rel.count("/") == 3 and rel.split("/")[2] in ("normal_img", "cad_mask")}

    def _partition_complete(self, pid: str) -> bool:
        return self._fs.exists(self._record_path(pid))

    def _write_partition(self, pid: str, rois: list[Roi]) -> list[str]:
        cell = check_segment(pid, "cell")
        written, records = [], []
        for roi in rois:
            material = check_segment(roi.material, "material")
            stem = check_segment(roi.stem, "ROI stem")
            base = f"{material}/{cell}"
            written.append(self._write_bytes(f"{base}/normal_img/{stem}.png", encode_image(roi.normal_img)))
            written.append(self._write_bytes(f"{base}/cad_mask/{stem}_cad_mask.png", encode_image(roi.cad_mask)))
            records.append({"partition_id": f"{base}/{stem}", "class_name": roi.class_name,
                            "bbox_xyxy": [int(v) for v in roi.bbox_xyxy], **roi.extra})
        body = json.dumps({"cell": cell, "rois": records}, indent=2, sort_keys=True).encode()
        written.append(self._write_bytes(f"{CELLS_DIR}/{cell}.json", body))
        return written

    def preview(self, limit: int = 24, tile: int = 96) -> ImagePreview:
        """Normal images of the first ROIs as a contact sheet, for kedro-viz."""
        from sdg_factory.imaging.contact_sheet import contact_sheet

        images = [self._load_partition(p).normal_img for p in sorted(self._list_partitions())[:limit]]
        return ImagePreview(image_to_preview(contact_sheet(images, tile=tile), 1024))

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "layout": "usd2roi crop"}
