"""What every local-model backend shares: the device, the dtype, and named model caches.

- :func:`best_device` — ``auto`` is CUDA, then Apple MPS, then the CPU.
- :func:`torch_dtype` — the one ``dtype`` rule of every backend (the settings key is ``dtype``
  everywhere): ``auto`` is bfloat16 on a CUDA card that supports it, else float16 (also on
  MPS); on the CPU every dtype runs as float32 (half-precision kernels there are slow or
  missing); explicit names are ``float32``, ``float16``, ``bfloat16``.
- :class:`ModelCache` — models loaded once per process, in a named cache with a *scope*:
  ``step`` caches serve one pipeline step (perspectives, scene images) and are emptied once a
  dataset is saved; ``run`` caches (an image editor used in several steps, an LLM, SAM2) are
  emptied when the run ends. :func:`unload_models` is what the hooks call; a cache exists only
  once its backend module is imported, so nothing here imports a model library.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

DTYPES = ("auto", "float32", "float16", "bfloat16")
SCOPES = ("step", "run")


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


def torch_dtype(dtype: str | None, device: str, parameter: str = "dtype"):
    """The torch dtype for the ``dtype`` setting on ``device`` (the rule in the module docstring)."""
    import torch

    name = dtype or "auto"
    if name not in DTYPES:
        raise ValueError(f"{parameter} {dtype!r} is not one of auto, float32, float16, bfloat16")
    kind = str(device).split(":")[0]
    if kind == "cpu":
        return torch.float32
    if name == "auto":
        if kind == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16
    return getattr(torch, name)


_CACHES: dict[str, ModelCache] = {}


def on_device(pipe: Any, device: str, cpu_offload: bool = False) -> Any:
    """A loaded diffusers pipeline made ready to call: moved to ``device`` (with ``cpu_offload``
    on CUDA, each submodule moves to the GPU only while it runs), its progress bars off."""
    if cpu_offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload()
    else:
        pipe = pipe.to(device)
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    return pipe


class ModelCache:
    """Models loaded once per process, keyed by everything that makes two loads differ (folder,
    class, device, dtype…); every backend instance built for the same key shares the model.
    ``name`` identifies the cache (one per backend module), ``scope`` says when the hooks empty
    it (``step`` or ``run``); :meth:`unload` drops the models and frees the accelerator's memory."""

    def __init__(self, name: str, scope: str = "run") -> None:
        if scope not in SCOPES:
            raise ValueError(f"model cache {name!r}: scope {scope!r} is not one of {SCOPES}")
        self.name, self.scope = name, scope
        self._models: dict[tuple, Any] = {}
        self._lock = threading.RLock()  # loads happen under it: one load per key, even from threads
        _CACHES[name] = self

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


def model_caches(scope: str | None = None) -> list[ModelCache]:
    """The caches created so far (by imported backend modules), of ``scope`` if given."""
    return [cache for cache in _CACHES.values() if scope is None or cache.scope == scope]


def unload_models(scope: str) -> dict[str, int]:
    """Empty every cache of ``scope`` (and, for ``run``, the ``step`` ones too); returns
    ``{cache name: models dropped}`` for the caches that held any."""
    scopes = SCOPES[: SCOPES.index(scope) + 1]
    dropped = {cache.name: cache.unload() for cache in model_caches() if cache.scope in scopes}
    return {name: count for name, count in dropped.items() if count}
