"""``diffusers``: an inpainting pipeline from a local checkpoint folder, masked to the placement.

The folder is any diffusers inpainting pipeline saved with ``save_pretrained`` (its
``model_index.json`` names the class: StableDiffusionInpaintPipeline, SDXL inpaint, Flux
fill, …) — the shipped ``<dig_url_root>/models/pcb`` or the fresh ``runs/<run>/finetune``
checkpoint. It is loaded once per process (:func:`load_inpaint_pipeline`) and can be unloaded
between steps (:func:`unload`). Each ROI is resized to ``resolution``², inpainted inside the
placement mask with the defect's prompt, resized back and composited through the mask.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from sdg_factory.backends.accelerator import ModelCache, best_device, on_device, torch_dtype
from sdg_factory.backends.anomaly_generation.base import (
    AnomalyGenerationError,
    AnomalyRequest,
    finish,
)

PIPELINES = ModelCache("anomaly_generation.diffusers", scope="run")


def resolve_device(device: str = "auto") -> str:
    """``device`` unless ``auto``: the project's one picker (``accelerator.best_device``)."""
    return best_device(device)


def resolve_dtype(dtype: str, device: str):
    """The project's one dtype rule (``accelerator.torch_dtype``)."""
    return torch_dtype(dtype, device, "texture_defect_day0.diffusers.dtype")


def checkpoint_path(checkpoint: Any) -> str:
    """A local folder from a ``ModelFolder`` (downloaded if remote) or a plain path."""
    if checkpoint is None:
        raise AnomalyGenerationError("the diffusers backend needs a checkpoint folder "
                                     "(a diffusers inpainting pipeline saved with save_pretrained)")
    if hasattr(checkpoint, "local_path"):
        if not checkpoint.is_diffusers:
            raise AnomalyGenerationError(
                f"{checkpoint.url} holds no diffusers pipeline (model_index.json missing); put an "
                "inpainting pipeline there or run texture_defect_day0_finetune")
        return checkpoint.local_path()
    return str(checkpoint)


def load_inpaint_pipeline(path: str, device: str = "auto", dtype: str = "auto"):
    """The inpainting pipeline in ``path``, loaded once per process and device."""
    import os

    device = resolve_device(device)
    index = os.path.join(str(path), "model_index.json")
    stamp = os.path.getmtime(index) if os.path.exists(index) else 0.0  # a re-trained folder reloads
    key = (str(path), stamp, device, str(dtype))

    def load():
        from diffusers import DiffusionPipeline

        try:
            pipe = DiffusionPipeline.from_pretrained(str(path), dtype=resolve_dtype(dtype, device),
                                                     local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AnomalyGenerationError(f"cannot load a diffusers pipeline from {path}: {exc}") from exc
        return on_device(pipe, device)

    return PIPELINES.get(key, load)


def unload() -> int:
    """Drop every cached pipeline (and free GPU memory); returns how many were loaded."""
    return PIPELINES.unload()


class DiffusersInpaintGenerator:
    name = "diffusers"

    def __init__(self, checkpoint: Any = None, resolution: int = 512, num_inference_steps: int = 30,
                 guidance_scale: float = 7.5, strength: float = 1.0, device: str = "auto",
                 dtype: str = "auto", mask_dilate: int = 0) -> None:
        self.path = checkpoint_path(checkpoint)
        self.resolution = int(resolution)
        self.steps = int(num_inference_steps)
        self.guidance_scale = float(guidance_scale)
        self.strength = float(strength)
        self.device = device
        self.dtype = dtype
        self.mask_dilate = int(mask_dilate)

    def generate(self, request: AnomalyRequest) -> np.ndarray:
        import torch
        from PIL import Image

        pipe = load_inpaint_pipeline(self.path, self.device, self.dtype)
        h, w = request.image.shape[:2]
        size = (self.resolution, self.resolution)
        image = cv2.resize(request.image[..., :3], size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(request.mask, size, interpolation=cv2.INTER_NEAREST)
        if self.mask_dilate:
            mask = cv2.dilate(mask, np.ones((2 * self.mask_dilate + 1,) * 2, np.uint8))
        generator = torch.Generator(device="cpu").manual_seed(int(request.seed) % (2**63))
        out = pipe(prompt=request.prompt, negative_prompt=request.negative_prompt or None,
                   image=Image.fromarray(image), mask_image=Image.fromarray(mask),
                   height=self.resolution, width=self.resolution, strength=self.strength,
                   num_inference_steps=self.steps, guidance_scale=self.guidance_scale,
                   generator=generator, output_type="np").images[0]
        if not np.isfinite(np.asarray(out)).all():
            raise AnomalyGenerationError("the inpainting pipeline returned non-finite pixels")
        painted = np.clip(np.asarray(out) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        painted = cv2.resize(painted, (w, h), interpolation=cv2.INTER_CUBIC)
        return finish(request, painted)
