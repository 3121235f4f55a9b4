"""``ReplicatorRenderFolderDataset``: a Kit/Replicator ``scan_grid`` render folder.

One partition per grid cell ``x{i}_y{j}``; each writes (and reads) the files Replicator
writes for that cell::

    rgb_x0_y0.png                                   RGBA uint8
    semantic_segmentation_x0_y0.png                 RGBA uint8, colourised
    semantic_segmentation_labels_x0_y0.json         {"(r, g, b, a)": {"class": "a,b"}}
    bounding_box_2d_tight_x0_y0.npy                 structured array (semanticId, x_min, …)
    bounding_box_2d_tight_labels_x0_y0.json         {"<semanticId>": {"class": …}}
    bounding_box_2d_tight_prim_paths_x0_y0.json     [prim path per row]

The same dataset reads a real Kit output folder. A cell is complete when all of its files
exist (each is written atomically, the RGB image last).

``source`` (e.g. ``${runtime_params:render_dir, null}``) names a user's render folder to read
instead of ``path``: it is read-only — its cells are fingerprinted by content, never written.

Catalog example::

    render_cells:
      type: sdg_factory.datasets.ReplicatorRenderFolderDataset
      path: ${globals:dig_url_root}/runs/demo/usd2roi-components/trigger_0000
      source: ${runtime_params:render_dir, null}
"""

from __future__ import annotations

import json
import posixpath
import re
from functools import cached_property
from typing import Any

from kedro.io import DatasetError
from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets.image import decode_image, encode_image, image_to_preview
from sdg_factory.datasets.npy import npy_bytes, npy_from_bytes
from sdg_factory.datasets.partitions import BasePartitionsDataset
from sdg_factory.pcb.render import RenderCell

_RGB = re.compile(r"^rgb_(x\d+_y\d+)\.png$")


def cell_files(cell: str) -> dict[str, str]:
    return {
        "semantic": f"semantic_segmentation_{cell}.png",
        "semantic_labels": f"semantic_segmentation_labels_{cell}.json",
        "boxes": f"bounding_box_2d_tight_{cell}.npy",
        "box_labels": f"bounding_box_2d_tight_labels_{cell}.json",
        "prim_paths": f"bounding_box_2d_tight_prim_paths_{cell}.json",
        "rgb": f"rgb_{cell}.png",
    }


class RenderCellHandle:
    """Lazy access to one cell's files (only what a consumer touches is read)."""

    def __init__(self, dataset: ReplicatorRenderFolderDataset, cell: str) -> None:
        self.dataset, self.cell = dataset, cell
        self.files = cell_files(cell)

    def _read(self, key: str) -> bytes:
        path = self.dataset._join(self.files[key])
        try:
            with self.dataset._fs.open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError as exc:
            raise DatasetError(
                f"render folder '{self.dataset._path}' has no {self.files[key]} for cell {self.cell}; "
                "a Replicator scan_grid render writes it next to rgb_<cell>.png"
            ) from exc

    def url(self, key: str) -> str:
        return self.dataset._url(self.dataset._join(self.files[key]))

    @cached_property
    def rgb(self):
        return decode_image(self._read("rgb"), "rgba", self.url("rgb"))

    @cached_property
    def semantic(self):
        return decode_image(self._read("semantic"), "rgba", self.url("semantic"))

    def _json(self, key: str):
        try:
            return json.loads(self._read(key))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{self.url(key)} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc

    @cached_property
    def semantic_labels(self) -> dict[str, dict]:
        labels = self._json("semantic_labels")
        if not isinstance(labels, dict):
            raise DatasetError(f"{self.url('semantic_labels')} must map '(r, g, b, a)' keys to {{'class': …}}")
        return labels

    @cached_property
    def boxes(self):
        return npy_from_bytes(self._read("boxes"), self.url("boxes"))

    @cached_property
    def box_labels(self) -> dict:
        return self._json("box_labels")

    @cached_property
    def prim_paths(self) -> list:
        return self._json("prim_paths")

    def load(self) -> RenderCell:
        return RenderCell(self.cell, self.rgb, self.semantic, self.semantic_labels, self.boxes,
                          self.box_labels, self.prim_paths)


class ReplicatorRenderFolderDataset(BasePartitionsDataset):
    """A ``trigger_0000/`` folder: load → ``{cell: RenderCellHandle}`` loaders; save ← ``{cell: RenderCell}``."""

    def __init__(self, *, path: str, source: str | None = None, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._source = None
        if source not in (None, "", "none", "null", "None"):
            options = {k: kwargs[k] for k in ("credentials", "fs_args") if k in kwargs}
            self._source = ReplicatorRenderFolderDataset(path=str(source), progress=False, **options)

    def load(self) -> dict:
        if self._source is not None:
            self._source._manifest_cache = None
        return super().load()

    def _loaded_item_fingerprint(self, pid: str) -> str:
        if self._source is not None:
            return self._source._loaded_item_fingerprint(pid)
        return super()._loaded_item_fingerprint(pid)

    def is_fresh(self, fingerprint) -> bool:
        return self._source is None and super().is_fresh(fingerprint)

    def save(self, data: dict) -> None:
        if self._source is None:
            return super().save(data)
        self._binding = None
        if data:
            raise DatasetError(
                f"render_dir '{self._source._path}' is your render folder and is never written; "
                "the render step must not run when render_dir is given (its cells are read as they are)"
            )
        return None

    def _exists(self) -> bool:
        return self._source._exists() if self._source is not None else super()._exists()

    def _reader(self) -> ReplicatorRenderFolderDataset:
        return self._source if self._source is not None else self

    def _list_partitions(self) -> list[str]:
        if self._source is not None:
            return self._source._list_partitions()
        if not self._fs.exists(self._root):
            return []
        cells = []
        for path in self._fs.ls(self._root, detail=False):
            match = _RGB.match(posixpath.basename(path))
            if match:
                cells.append(match.group(1))
        return cells

    def _load_partition(self, pid: str) -> RenderCellHandle:
        return RenderCellHandle(self._reader(), pid)

    def _files_of(self, pid: str) -> list[str]:
        return list(cell_files(pid).values())

    def _partition_complete(self, pid: str) -> bool:
        return all(self._fs.exists(self._join(name)) for name in cell_files(pid).values())

    def _write_partition(self, pid: str, cell: RenderCell) -> list[str]:
        files = cell_files(pid)
        payload: dict[str, bytes] = {
            "semantic": encode_image(cell.semantic, ".png"),
            "semantic_labels": json.dumps(cell.semantic_labels, indent=2).encode(),
            "boxes": npy_bytes(cell.boxes),
            "box_labels": json.dumps(cell.box_labels, indent=2).encode(),
            "prim_paths": json.dumps(cell.prim_paths, indent=2).encode(),
            "rgb": encode_image(cell.rgb, ".png"),  # last: its presence marks the cell
        }
        return [self._write_bytes(files[key], data) for key, data in payload.items()]

    def preview(self, limit: int = 12, tile: int = 160) -> ImagePreview:
        """RGB tiles of the first cells as a contact sheet, for kedro-viz."""
        from sdg_factory.imaging.contact_sheet import contact_sheet

        images = [self._load_partition(c).rgb for c in sorted(self._list_partitions())[:limit]]
        return ImagePreview(image_to_preview(contact_sheet(images, tile=tile), 1024))

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "layout": "replicator scan_grid"}
