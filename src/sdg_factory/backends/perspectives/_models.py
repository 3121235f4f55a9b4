"""Load-once model cache for the diffusers perspective backends (one pipeline per model path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdg_factory.backends.accelerator import ModelCache, best_device, torch_dtype

MODELS = ModelCache("perspectives", scope="step")  # reference_object step 2 only


def cached(key: tuple, factory: Callable[[], Any]) -> Any:
    return MODELS.get(key, factory)


def unload_all() -> int:
    """Drop every loaded pipeline and free accelerator memory (between pipeline steps); returns
    how many were dropped."""
    return MODELS.unload()


def resolve_device(device: str | None = "auto") -> str:
    """``device`` unless ``auto``: the project's one picker (``accelerator.best_device``)."""
    return best_device(device)


def resolve_dtype(dtype: str | None, device: str, parameter: str = "dtype"):
    """The project's one dtype rule (``accelerator.torch_dtype``)."""
    return torch_dtype(dtype, device, parameter)


def check_local_folder(path: str, what: str, parameter: str) -> str:
    """Model folders are local: fail with the parameter to set when one is missing."""
    if not path or not Path(path).exists():
        raise FileNotFoundError(
            f"{what} folder {path!r} does not exist. Download the weights once (e.g. with "
            f"`huggingface-cli download … --local-dir {path or '<folder>'}`) and set '{parameter}' "
            "in conf/gpu/parameters_reference_object.yml; nothing is fetched at run time."
        )
    return str(path)
