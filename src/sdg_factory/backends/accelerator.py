"""What every local-model backend shares: the device picker, a load-once model cache, and
freeing accelerator memory after unloading models."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any


def free_accelerator_memory() -> None:
    """Collect garbage and empty the CUDA cache (a no-op without torch or a GPU)."""
    gc.collect()
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but keep unloading safe
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def best_device(requested: str | None = None) -> str:
    """``requested`` unless it is empty or ``auto``; else CUDA, then Apple MPS, then CPU."""
    if requested and requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class ModelCache:
    """Models loaded once per process, keyed by everything that makes two loads differ (folder,
    class, device, dtype…); every backend instance built for the same key shares the model.
    :meth:`unload` drops them between pipeline steps and frees the accelerator's memory."""

    def __init__(self) -> None:
        self._models: dict[tuple, Any] = {}
        self._lock = threading.RLock()  # loads happen under it: one load per key, even from threads

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._models:
                self._models[key] = load()
            return self._models[key]

    def values(self) -> list[Any]:
        with self._lock:
            return list(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def unload(self) -> int:
        """Drop every model; returns how many were loaded (0: nothing to do, nothing collected)."""
        with self._lock:
            count = len(self._models)
            self._models.clear()
        if count:
            free_accelerator_memory()
        return count
