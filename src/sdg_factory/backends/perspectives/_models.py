"""Load-once model cache for the diffusers perspective backends (one pipeline per model path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdg_factory.backends.accelerator import ModelCache, best_device

MODELS = ModelCache()


def cached(key: tuple, factory: Callable[[], Any]) -> Any:
    return MODELS.get(key, factory)


def unload_all() -> int:
    """Drop every loaded pipeline and free accelerator memory (between pipeline steps); returns
    how many were dropped."""
    return MODELS.unload()


def resolve_device(device: str | None = "auto") -> str:
    """``device`` unless ``auto``: CUDA, then Apple MPS, then CPU (the project's one picker)."""
    return best_device(device)


def resolve_dtype(dtype: str | None, device: str, parameter: str = "dtype"):
    """The torch dtype for ``dtype`` on ``device``: half precision only where it runs well.

    On the CPU every half type becomes ``float32`` (bfloat16/float16 kernels there are slow or
    missing); ``auto`` is bfloat16 on CUDA when the card supports it, else float16 (also on MPS).
    """
    import torch

    name = dtype or "auto"
    if name not in ("auto", "float32", "float16", "bfloat16"):
        raise ValueError(f"{parameter} {dtype!r} is not one of auto, float32, float16, bfloat16")
    kind = device.split(":")[0]
    if kind == "cpu":
        return torch.float32
    if name == "auto":
        if kind == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16
    return getattr(torch, name)


def check_local_folder(path: str, what: str, parameter: str) -> str:
    """Model folders are local: fail with the parameter to set when one is missing."""
    if not path or not Path(path).exists():
        raise FileNotFoundError(
            f"{what} folder {path!r} does not exist. Download the weights once (e.g. with "
            f"`huggingface-cli download … --local-dir {path or '<folder>'}`) and set '{parameter}' "
            "in conf/gpu/parameters_reference_object.yml; nothing is fetched at run time."
        )
    return str(path)
