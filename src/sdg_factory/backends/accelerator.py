"""What every local-model backend shares: freeing accelerator memory after unloading models."""

from __future__ import annotations

import gc


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
