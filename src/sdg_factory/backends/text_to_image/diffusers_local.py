"""``diffusers``: any diffusers text-to-image pipeline (FLUX, SDXL, SD3…) from a local folder.

The pipeline class is named in conf (``pipeline_class: FluxPipeline``; the default
``AutoPipelineForText2Image`` reads ``model_index.json``) and loaded once per process with
``from_pretrained(model_path)`` — never from a hub. :func:`unload_pipelines` frees the GPU
between steps.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

import numpy as np

from sdg_factory.backends.accelerator import ModelCache, best_device, on_device, torch_dtype
from sdg_factory.backends.text_to_image.base import (
    TextToImageError,
    TextToImageRequest,
    as_rgb_uint8,
)

logger = logging.getLogger(__name__)

PIPELINES = ModelCache("text_to_image.diffusers", scope="step")  # the scene images step only


def load_pipeline(model_path: str, pipeline_class: str = "AutoPipelineForText2Image", device: str = "auto",
                  dtype: str | None = "auto", variant: str | None = None, cpu_offload: bool = False):
    """The pipeline at ``model_path``, loaded once per process (keyed by path, class, device, dtype)."""
    import diffusers

    device = best_device(device)
    key = (os.path.abspath(model_path), pipeline_class, device, str(dtype), variant, bool(cpu_offload))

    def load():
        cls = getattr(diffusers, pipeline_class, None)
        if cls is None:
            raise TextToImageError(
                f"diffusers has no pipeline class {pipeline_class!r} (scene_generation.image.pipeline_class); "
                "use e.g. FluxPipeline, StableDiffusionXLPipeline or AutoPipelineForText2Image")
        logger.info("loading %s from %s on %s", pipeline_class, model_path, device)
        kwargs: dict[str, Any] = {"dtype": torch_dtype(dtype, device, "scene_generation.image.dtype")}
        if variant:
            kwargs["variant"] = variant
        return on_device(cls.from_pretrained(model_path, local_files_only=True, **kwargs), device, cpu_offload)

    return PIPELINES.get(key, load)


def unload_pipelines() -> int:
    """Drop every cached pipeline (and free CUDA memory); returns how many were dropped."""
    return PIPELINES.unload()


class DiffusersTextToImage:
    name = "diffusers"

    def __init__(self, model_path: str, pipeline_class: str = "AutoPipelineForText2Image",
                 device: str = "auto", dtype: str | None = "auto", variant: str | None = None,
                 cpu_offload: bool = False, num_inference_steps: int = 28, guidance_scale: float | None = 3.5,
                 size_multiple: int = 16, call_args: dict[str, Any] | None = None) -> None:
        self.model_path = str(model_path)
        self.load_args = {"pipeline_class": pipeline_class, "device": device, "dtype": dtype,
                          "variant": variant, "cpu_offload": cpu_offload}
        self.num_inference_steps = int(num_inference_steps)
        self.guidance_scale = guidance_scale
        self.size_multiple = max(1, int(size_multiple))
        self.call_args = dict(call_args or {})

    def health_check(self) -> None:
        index = os.path.join(self.model_path, "model_index.json")
        if not os.path.isfile(index):
            raise TextToImageError(
                f"no diffusers pipeline at {self.model_path!r} (model_index.json missing). Put the model "
                "folder there (e.g. `huggingface-cli download black-forest-labs/FLUX.1-dev --local-dir ...` "
                "on a machine with network) or point scene_generation.image.model_path at it.")

    def _size(self, value: int) -> int:
        return max(self.size_multiple, int(value) // self.size_multiple * self.size_multiple)

    def generate(self, request: TextToImageRequest) -> np.ndarray:
        import torch

        self.health_check()
        pipe = load_pipeline(self.model_path, **self.load_args)
        accepted = inspect.signature(pipe.__call__).parameters
        device = best_device(self.load_args["device"])
        generator = torch.Generator(device="cpu" if device.startswith("mps") else device)
        generator.manual_seed(int(request.seed) % 2**63)
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "width": self._size(request.width),
            "height": self._size(request.height),
            "num_inference_steps": self.num_inference_steps,
            "generator": generator,
            "output_type": "np",
            **self.call_args,
        }
        if self.guidance_scale is not None:
            kwargs["guidance_scale"] = self.guidance_scale
        if request.negative_prompt:
            kwargs["negative_prompt"] = request.negative_prompt
        dropped = sorted(k for k in kwargs if k not in accepted)
        if dropped and "kwargs" not in accepted:
            logger.debug("%s does not take %s; not passed", type(pipe).__name__, dropped)
            kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        with torch.inference_mode():
            output = pipe(**kwargs)
        return as_rgb_uint8(output.images[0], f"{type(pipe).__name__} at {self.model_path}")
