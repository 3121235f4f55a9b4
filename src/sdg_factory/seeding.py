"""Per-item seeds.

Every random choice in a pipeline is drawn from a generator seeded by the run seed and the
item's partition id, so any subset of items re-computes identically, in any order, on any
worker: a resumed run writes the same bytes an uninterrupted one would.
"""

from __future__ import annotations

import hashlib

import numpy as np


def item_seed(run_seed: int, partition_id: str) -> int:
    """A 63-bit seed derived from ``run_seed`` and ``partition_id`` (stable across processes)."""
    digest = hashlib.blake2b(f"{int(run_seed)}:{partition_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def item_rng(run_seed: int, partition_id: str) -> np.random.Generator:
    """A numpy generator for one item; see :func:`item_seed`."""
    return np.random.default_rng(item_seed(run_seed, partition_id))
