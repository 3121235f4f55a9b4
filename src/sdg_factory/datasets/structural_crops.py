"""``StructuralCropDataset``: ``structural_defect/cropped/<mode>/{rgb,mask}/<cell>__<NNNN>.png``.

Saved one partition per rendered (mode, cell) — a :class:`~sdg_factory.pcb.structural_render.StructuralCell`
— so a cell is rendered once however many perturbed components it holds::

    <mode>/rgb/<cell>__<NNNN>.png      RGBA render crop of the perturbed component
    <mode>/mask/<cell>__<NNNN>.png     RGBA colourised semantic crop, same window and size
    <mode>/.cells/<cell>.json          the cell's crop records, skipped items, labels (written last)

Loaded one partition per (mode, cell) (``"<mode>/<cell>"`` → loader of that cell's record
dict). A cell is complete when its record exists, so a resumed run skips finished cells.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets.image import decode_image, encode_image, image_to_preview
from sdg_factory.datasets.partitions import BasePartitionsDataset
from sdg_factory.paths import check_segment
from sdg_factory.pcb.structural_render import StructuralCell

CELLS_DIR = ".cells"


class StructuralCropDataset(BasePartitionsDataset):
    """See the module docstring. Modes, cells and stems are reduced to safe names."""

    def _record_path(self, pid: str) -> str:
        mode, cell = pid.split("/")
        return self._join(check_segment(mode, "mode"), CELLS_DIR, f"{check_segment(cell, 'cell')}.json")

    def _list_partitions(self) -> list[str]:
        if not self._fs.exists(self._root):
            return []
        pids = []
        for path in self._fs.glob(posixpath.join(self._root, "*", CELLS_DIR, "*.json")):
            mode, _, name = posixpath.relpath(path, self._root).split("/")
            pids.append(f"{mode}/{name[:-5]}")
        return pids

    def _load_partition(self, pid: str) -> dict:
        with self._fs.open(self._record_path(pid), "rb") as handle:
            return json.load(handle)

    def _files_of(self, pid: str) -> list[str]:
        return [posixpath.relpath(self._record_path(pid), self._root)]

    def _owned_files(self, stats: dict) -> set[str]:
        return {rel for rel in stats if rel.count("/") == 2 and rel.split("/")[1] in ("rgb", "mask", CELLS_DIR)}

    def _partition_complete(self, pid: str) -> bool:
        return self._fs.exists(self._record_path(pid))

    def _write_partition(self, pid: str, cell: StructuralCell) -> list[str]:
        mode = check_segment(cell.mode, "mode")
        written, records = [], []
        for item in cell.crops:
            stem = check_segment(item.stem, "crop stem")
            rgb, mask = f"{mode}/rgb/{stem}.png", f"{mode}/mask/{stem}.png"
            written.append(self._write_bytes(rgb, encode_image(item.rgb)))
            written.append(self._write_bytes(mask, encode_image(item.mask)))
            records.append({**item.record, "rgb": rgb, "mask": mask})
        body = {"mode": mode, "cell": cell.cell, "crops": records, "skipped": cell.skipped,
                "semantic_labels": cell.semantic_labels}
        written.append(self._write_bytes(posixpath.relpath(self._record_path(pid), self._root),
                                         json.dumps(body, indent=2, sort_keys=True).encode()))
        return written

    def load_image(self, relative: str):
        """One written crop (``<mode>/rgb/<stem>.png`` or ``<mode>/mask/<stem>.png``) as RGBA."""
        path = self._join(relative)
        with self._fs.open(path, "rb") as handle:
            return decode_image(handle.read(), "rgba", self._url(path))

    def preview(self, limit: int = 24, tile: int = 96) -> ImagePreview:
        """Render crops and their masks (side by side) of the first cells as a contact sheet, for kedro-viz."""
        from sdg_factory.imaging.contact_sheet import contact_sheet

        images = []
        for pid in sorted(self._list_partitions()):
            for record in self._load_partition(pid)["crops"]:
                images += [self.load_image(record["rgb"]), self.load_image(record["mask"])]
        return ImagePreview(image_to_preview(contact_sheet(images[:limit], tile=tile, columns=6), 1024))

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "layout": "structural_defect cropped"}
