"""Any pyimgano detector that produces anomaly maps, behind the same interface.

``{"backend": "pyimgano", "model": "vision_pixel_gaussian_map", "model_kwargs": {...}}``
builds ``pyimgano.models.create_model(model, **model_kwargs)``; ``fit`` passes the RGB arrays,
``anomaly_maps`` calls the model's ``get_anomaly_map`` per image and resizes each map back to
its image. pyimgano's deep models (PatchCore, PaDiM, anomalib checkpoints, …) load weights
from local paths given in ``model_kwargs`` — nothing is downloaded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from sdg_factory.backends.anomaly_detection.base import as_rgb


class PyImgAnoDetector:
    def __init__(self, model: str = "vision_pixel_gaussian_map", model_kwargs: dict[str, Any] | None = None) -> None:
        try:
            from pyimgano.models import create_model
        except ImportError as exc:
            raise ValueError(
                "anomaly-detection backend 'pyimgano' needs the pyimgano package "
                "(pip install 'sdg_factory[bench]' or pip install pyimgano); or use backend: patch_stats"
            ) from exc
        self.name = f"pyimgano:{model}"
        self.backend = "pyimgano"
        self.model_name = model
        self.model_kwargs = dict(model_kwargs or {})
        self.model = create_model(model, **(model_kwargs or {}))
        if not hasattr(self.model, "get_anomaly_map"):
            raise ValueError(f"pyimgano model {model!r} gives no anomaly maps; pick one tagged 'pixel_map' "
                             "(pyimgano.models.list_models(tags=['pixel_map']))")

    def settings(self) -> dict[str, Any]:
        """What a saved detector records; the fitted model itself is not saved (it is a pickle)."""
        return {"model": self.model_name, "model_kwargs": self.model_kwargs}

    def fit(self, images: Sequence[np.ndarray]) -> PyImgAnoDetector:
        images = [np.ascontiguousarray(as_rgb(im)) for im in images]
        if not images:
            raise ValueError(f"{self.name}: no good images to fit on")
        self.model.fit(images)
        return self

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        maps = []
        for image in images:
            amap = np.asarray(self.model.get_anomaly_map(np.ascontiguousarray(as_rgb(image))), dtype=np.float32)
            h, w = np.asarray(image).shape[:2]
            if amap.shape != (h, w):
                amap = cv2.resize(amap, (w, h), interpolation=cv2.INTER_LINEAR)
            maps.append(amap)
        return maps
