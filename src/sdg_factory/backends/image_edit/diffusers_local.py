"""The ``diffusers`` image-edit backend: a local image-edit pipeline (QwenImageEdit by default).

The pipeline class is named in conf (``pipeline_class``: ``QwenImageEditPipeline``,
``QwenImageEditPlusPipeline``, ``FluxKontextPipeline``, …) and loaded with
``from_pretrained(model_path)`` from a local folder — nothing is fetched from a hub. It goes
on the best available device (CUDA, then Apple MPS, then CPU) and is loaded once per process:
every editor built for the same folder, class, device and dtype shares it through a small
module-level cache; :func:`unload_pipelines` frees it between steps.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import numpy as np

from sdg_factory.backends.accelerator import ModelCache, best_device, on_device, torch_dtype
from sdg_factory.backends.image_edit.base import EditRequest, ImageEditError
from sdg_factory.backends.image_edit.sizing import ModelSizedEditor, back_to_crop, to_model_size

logger = logging.getLogger(__name__)

PIPELINES = ModelCache("image_edit.diffusers", scope="run")  # reference_object uses it in steps 1, 4 and 5


def load_pipeline(model_path: str, pipeline_class: str = "QwenImageEditPipeline",
                  device: str | None = None, dtype: str = "auto", cpu_offload: bool = False):
    """The pipeline for this folder/class/device/dtype, loaded on first use and then cached."""
    import diffusers

    device = best_device(device)  # None or "auto": CUDA, then MPS, then CPU
    key = (str(Path(model_path).resolve()), pipeline_class, device, str(dtype), bool(cpu_offload))

    def load():
        folder = Path(model_path)
        if not (folder / "model_index.json").is_file():
            raise ImageEditError(
                f"no diffusers pipeline at '{model_path}' (model_index.json not found). Download the "
                f"model into that folder first (e.g. `huggingface-cli download <model id> --local-dir "
                f"{model_path}`) or set model_path: pcba_restyle.backends.diffusers.model_path "
                "(conf/gpu/parameters_pcba_restyle.yml) or reference_object.<step>.editor.model_path "
                "(conf/gpu/parameters_reference_object.yml)."
            )
        cls = getattr(diffusers, pipeline_class, None)
        if cls is None:
            raise ValueError(
                f"pipeline_class {pipeline_class!r} is not a diffusers pipeline class "
                "(e.g. QwenImageEditPipeline, QwenImageEditPlusPipeline, FluxKontextPipeline)"
            )
        resolved = torch_dtype(dtype, device)
        logger.info("loading %s from %s on %s (%s)", pipeline_class, model_path, device, resolved)
        return on_device(cls.from_pretrained(str(folder), dtype=resolved, local_files_only=True), device, cpu_offload)

    return PIPELINES.get(key, load)


def unload_pipelines() -> int:
    """Drop every cached pipeline (and the CUDA cache); returns how many were loaded."""
    return PIPELINES.unload()


class DiffusersImageEditor(ModelSizedEditor):
    """Edits with a local diffusers image-edit pipeline.

    ``guidance`` goes to the call argument named by ``guidance_arg`` (``true_cfg_scale`` for
    Qwen-Image-Edit, ``guidance_scale`` for FLUX Kontext); arguments the pipeline's
    ``__call__`` does not take are left out, so any image-edit class named in conf works.
    """

    name = "diffusers"

    def __init__(
        self,
        model_path: str,
        pipeline_class: str = "QwenImageEditPipeline",
        device: str | None = None,
        dtype: str = "auto",
        cpu_offload: bool = False,
        steps: int = 40,
        guidance: float | None = 4.0,
        guidance_arg: str = "true_cfg_scale",
        call_kwargs: dict | None = None,
        **shared: Any,
    ) -> None:
        if not model_path:
            raise ValueError("the diffusers image-edit backend needs 'model_path' (a local model folder)")
        super().__init__(**shared)
        self.model_path = str(model_path)
        self.load = {"pipeline_class": pipeline_class, "device": device, "dtype": dtype,
                     "cpu_offload": cpu_offload}
        self.steps, self.guidance, self.guidance_arg = steps, guidance, guidance_arg
        self.call_kwargs = dict(call_kwargs or {})

    @property
    def pipeline(self):
        return load_pipeline(self.model_path, **self.load)

    def health_check(self) -> None:
        self.pipeline  # noqa: B018 - loading is the check: a bad folder fails before the batch

    def edit(self, request: EditRequest) -> np.ndarray:
        import torch
        from PIL import Image

        pipe = self.pipeline
        rgb = np.ascontiguousarray(np.asarray(request.image)[..., :3])
        width, height = self.model_size(rgb)
        device = pipe._execution_device if hasattr(pipe, "_execution_device") else "cpu"
        generator = torch.Generator(device="cpu" if str(device) == "mps" else device)
        generator.manual_seed(int(request.seed))
        guidance = request.options.get("guidance", self.guidance)
        negative = request.negative_prompt or (" " if guidance and self.guidance_arg == "true_cfg_scale" else None)
        wanted: dict[str, Any] = {
            "image": Image.fromarray(to_model_size(rgb, (width, height))),
            "prompt": request.prompt,
            "negative_prompt": negative,
            "num_inference_steps": int(request.options.get("steps", self.steps)),
            "height": height,
            "width": width,
            "generator": generator,
            "output_type": "np",
            **({self.guidance_arg: guidance} if guidance is not None else {}),
            **self.call_kwargs,
        }
        accepted = inspect.signature(pipe.__call__).parameters
        kwargs = {k: v for k, v in wanted.items() if k in accepted and v is not None}
        try:
            with torch.inference_mode():
                result = pipe(**kwargs).images
        except (RuntimeError, ValueError) as exc:
            raise ImageEditError(f"{self.load['pipeline_class']} failed on this ROI: {exc}") from exc
        image = np.asarray(result[0])
        if image.dtype != np.uint8:
            image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
        return back_to_crop(image, np.asarray(request.image))
