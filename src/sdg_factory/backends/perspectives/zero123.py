"""``zero123``: Zero123++ six-view generation via diffusers ``custom_pipeline``, local files only.

``model_path`` is the Zero123++ model folder (e.g. ``zero123plus-v1.2`` saved locally) and
``custom_pipeline`` the folder (or ``.py`` file) of its pipeline code (``zero123plus-pipeline``);
both are local. One call renders the six fixed poses as a 3×2 grid; the grid is cut into views
(azimuth 30°…330°, elevation alternating +20°/−10°) and each view's grey backdrop is replaced by
white.
"""

from __future__ import annotations

import numpy as np

from sdg_factory.backends.perspectives._models import cached, check_local_folder, resolve_device, resolve_dtype
from sdg_factory.imaging.views import ViewSpec

# (azimuth, elevation) of the six Zero123++ v1.2 tiles, row-major in the 3×2 grid
FIXED_POSES = [(30, 20), (90, -10), (150, 20), (210, -10), (270, 20), (330, -10)]
_VIEW_OF_AZIMUTH = {30: "front_right", 90: "side_right", 150: "back_right", 210: "back_left",
                    270: "side_left", 330: "front_left"}
_ELEVATION_NAME = {20: "elevated", -10: "low_angle"}

_GRIDS: dict[tuple, list[np.ndarray]] = {}


def zero123_views() -> list[ViewSpec]:
    return [ViewSpec(_VIEW_OF_AZIMUTH[a], _ELEVATION_NAME[e]) for a, e in FIXED_POSES]


def split_grid(grid: np.ndarray, rows: int = 3, cols: int = 2) -> list[np.ndarray]:
    """Cut a Zero123++ output grid into its tiles, row-major."""
    h, w = grid.shape[0] // rows, grid.shape[1] // cols
    return [grid[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(rows) for c in range(cols)]


def on_white(tile: np.ndarray) -> np.ndarray:
    """Replace a tile's flat backdrop by white (the object's mask from the border colours)."""
    from sdg_factory.imaging.placement import cutout_on_white
    from sdg_factory.imaging.segmentation import reference_mask_classical

    return cutout_on_white(tile, reference_mask_classical(tile))


def check_custom_pipeline(path: str) -> str:
    """The ``custom_pipeline`` code must be local: a ``.py`` file or a folder with ``pipeline.py``
    (otherwise diffusers would look the name up on the Hub)."""
    from pathlib import Path

    parameter = "perspectives.zero123.custom_pipeline"
    check_local_folder(path, "Zero123++ custom pipeline", parameter)
    code = Path(path)
    if not (code.is_file() and code.suffix == ".py") and not (code / "pipeline.py").is_file():
        raise FileNotFoundError(
            f"'{parameter}' is {path!r}: give the .py file of the Zero123++ pipeline code, or a folder "
            "holding it as pipeline.py (e.g. the zero123plus-pipeline folder of sudo-ai/zero123plus-v1.2)."
        )
    return str(code)


class Zero123PlusPlus:
    """Six fixed views from one grid call, cached per (model, image, seed).

    The ``custom_pipeline`` code is executed (``trust_remote_code=True``): it is a local file the
    user named in conf, never one fetched from the Hub.
    """

    name = "zero123"
    seed_per_view = False  # one grid gives all six views: the step gives every view the same seed

    def __init__(self, model_path: str = "", custom_pipeline: str = "", num_inference_steps: int = 28,
                 device: str = "auto", dtype: str = "float16") -> None:
        self.model_path, self.custom_pipeline = model_path, custom_pipeline
        self.steps, self.device, self.dtype = int(num_inference_steps), device, dtype

    def views(self, requested: list[ViewSpec]) -> list[ViewSpec]:
        return zero123_views()  # fixed by the model, whatever was requested

    def _pipeline(self):
        from diffusers import DiffusionPipeline

        check_local_folder(self.model_path, "Zero123++ model", "perspectives.zero123.model_path")
        code = check_custom_pipeline(self.custom_pipeline)
        device = resolve_device(self.device)
        torch_dtype = resolve_dtype(self.dtype, device, "perspectives.zero123.dtype")

        def load():
            pipe = DiffusionPipeline.from_pretrained(str(self.model_path), custom_pipeline=code,
                                                     trust_remote_code=True, dtype=torch_dtype,
                                                     local_files_only=True)
            pipe.set_progress_bar_config(disable=True)
            return pipe.to(device)

        return cached(("zero123", str(self.model_path), code, device, str(torch_dtype)), load)

    def grid(self, image: np.ndarray, seed: int) -> list[np.ndarray]:
        """The six views on white for this image and seed; the model runs once for all six."""
        import hashlib

        digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).hexdigest()
        key = (str(self.model_path), str(self.custom_pipeline), self.steps, self.device, self.dtype,
               image.shape, digest, int(seed))
        if key not in _GRIDS:
            import torch
            from PIL import Image

            pipe = self._pipeline()
            out = pipe(Image.fromarray(np.ascontiguousarray(image[..., :3])), num_inference_steps=self.steps,
                       generator=torch.Generator(device="cpu").manual_seed(int(seed) % 2**63)).images[0]
            _GRIDS.clear()  # one image's grid at a time: the six views of a run share one seed
            _GRIDS[key] = [on_white(t) for t in split_grid(np.asarray(out.convert("RGB")))]
        return _GRIDS[key]

    def generate(self, image: np.ndarray, mask: np.ndarray, view: ViewSpec, index: int, seed: int) -> np.ndarray:
        import cv2

        tile = self.grid(image, seed)[index % len(FIXED_POSES)]
        h, w = image.shape[:2]
        return cv2.resize(tile, (w, h), interpolation=cv2.INTER_LINEAR) if tile.shape[:2] != (h, w) else tile
