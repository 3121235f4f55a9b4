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
