"""Load-once model cache for the diffusers perspective backends (one pipeline per model path)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from sdg_factory.backends.accelerator import free_accelerator_memory

_MODELS: dict[tuple, Any] = {}


def cached(key: tuple, factory: Callable[[], Any]) -> Any:
    if key not in _MODELS:
        _MODELS[key] = factory()
    return _MODELS[key]


def unload_all() -> None:
    """Drop every loaded pipeline and free accelerator memory (between pipeline steps)."""
    _MODELS.clear()
    gc.collect()
    free_accelerator_memory()


def resolve_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str):
    import torch

    if device == "cpu" and dtype in ("float16", "bfloat16", "auto"):
        return torch.float32
    if dtype == "auto":
        return torch.bfloat16
    return getattr(torch, dtype)


def check_local_folder(path: str, what: str, parameter: str) -> str:
    """Model folders are local: fail with the parameter to set when one is missing."""
    from pathlib import Path

    if not path or not Path(path).exists():
        raise FileNotFoundError(
            f"{what} folder {path!r} does not exist. Download the weights once (e.g. with "
            f"`huggingface-cli download … --local-dir {path or '<folder>'}`) and set '{parameter}' "
            "in conf/gpu/parameters_reference_object.yml; nothing is fetched at run time."
        )
    return str(path)
