"""``qwen_multicamera``: Qwen Image Edit (diffusers) with a multi-angle camera LoRA, local files only.

The edit pipeline folder (``model_path``, e.g. Qwen-Image-Edit-2509 saved with
``save_pretrained``) is loaded with ``DiffusionPipeline.from_pretrained`` (the folder's
``model_index.json`` names the pipeline class); the LoRA (``lora_path``: a folder or a
``.safetensors`` file) is attached with ``load_lora_weights``. Each view is one edit whose
prompt is ``prompt_template`` filled with the pose's words, e.g. ``<sks> front-right quarter
view elevated shot medium shot`` for the multiple-angles LoRA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdg_factory.backends.perspectives._models import cached, check_local_folder, resolve_device, resolve_dtype
from sdg_factory.imaging.views import ViewSpec

ADAPTER = "multi_angle"  # the LoRA's adapter name in the pipeline's transformer


def load_edit_pipeline(model_path: str, lora_path: str | None, device: str, dtype: str,
                       lora_weight_name: str | None = None, lora_scale: float = 1.0):
    """The edit pipeline with the LoRA attached (adapter ``multi_angle`` at ``lora_scale``),
    loaded once per (folder, LoRA, weight name, scale, device, dtype) and then cached."""
    from diffusers import DiffusionPipeline

    check_local_folder(model_path, "Qwen Image Edit model", "perspectives.qwen_multicamera.model_path")
    if lora_path:
        check_local_folder(lora_path, "multi-angle LoRA", "perspectives.qwen_multicamera.lora_path")
    device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, device, "perspectives.qwen_multicamera.dtype")

    def load():
        pipe = DiffusionPipeline.from_pretrained(str(model_path), dtype=torch_dtype, local_files_only=True)
        if lora_path:
            path = Path(lora_path)
            folder, weight_name = (path.parent, path.name) if path.is_file() else (path, lora_weight_name)
            pipe.load_lora_weights(str(folder), weight_name=weight_name, adapter_name=ADAPTER,
                                   local_files_only=True)
            pipe.set_adapters([ADAPTER], adapter_weights=[float(lora_scale)])
        pipe.set_progress_bar_config(disable=True)
        return pipe.to(device)

    key = ("qwen_multicamera", str(model_path), str(lora_path or ""), lora_weight_name, float(lora_scale),
           device, str(torch_dtype))
    return cached(key, load), device


class QwenMultiCamera:
    name = "qwen_multicamera"
    seed_per_view = True

    def __init__(self, model_path: str = "", lora_path: str | None = None, lora_weight_name: str | None = None,
                 prompt_template: str = "<sks> {words}", num_inference_steps: int = 8,
                 true_cfg_scale: float = 1.0, lora_scale: float = 1.0, device: str = "auto",
                 dtype: str = "bfloat16", size: int | None = None) -> None:
        self.model_path, self.lora_path, self.lora_weight_name = model_path, lora_path, lora_weight_name
        self.prompt_template = prompt_template
        self.steps, self.true_cfg_scale, self.lora_scale = int(num_inference_steps), float(true_cfg_scale), lora_scale
        self.device, self.dtype, self.size = device, dtype, size

    def views(self, requested: list[ViewSpec]) -> list[ViewSpec]:
        return list(requested)

    def prompt(self, view: ViewSpec) -> str:
        return self.prompt_template.format(words=view.words, view=view.view, elevation=view.elevation,
                                           distance=view.distance)

    def generate(self, image: np.ndarray, mask: np.ndarray, view: ViewSpec, index: int, seed: int) -> np.ndarray:
        import torch
        from PIL import Image

        pipe, device = load_edit_pipeline(self.model_path, self.lora_path, self.device, self.dtype,
                                          self.lora_weight_name, self.lora_scale)
        h, w = image.shape[:2]
        kwargs = {"num_inference_steps": self.steps, "true_cfg_scale": self.true_cfg_scale}
        if self.size:
            kwargs.update(height=int(self.size), width=int(self.size))
        out = pipe(image=Image.fromarray(np.ascontiguousarray(image[..., :3])), prompt=self.prompt(view),
                   generator=torch.Generator(device="cpu").manual_seed(int(seed) % 2**63), **kwargs).images[0]
        rgb = np.asarray(out.convert("RGB"))
        if rgb.shape[:2] != (h, w):
            import cv2

            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        return rgb
