"""One ROI of the usd2roi crop: the clean component image and its CAD-derived mask."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Roi:
    """``crop/<material>/<cell>/{normal_img/<stem>.png, cad_mask/<stem>_cad_mask.png}``.

    ``normal_img`` and ``cad_mask`` are RGBA ``uint8`` arrays of the same size. ``cad_mask``
    is the colourised semantic segmentation cropped with the image; its colours resolve to
    classes through the merged ``crop/semantic_segmentation_labels.json``.
    ``bbox_xyxy`` is the crop window in the render tile (inclusive pixel corners).
    ``cad_mask`` is None only when a task asked for the image alone (``RoiLoader.image_only``).
    """

    material: str
    cell: str
    stem: str
    normal_img: np.ndarray
    cad_mask: np.ndarray | None
    class_name: str = ""
    bbox_xyxy: tuple[int, int, int, int] = (0, 0, 0, 0)
    extra: dict = field(default_factory=dict)

    @property
    def partition_id(self) -> str:
        return f"{self.material}/{self.cell}/{self.stem}"
