"""Small helpers shared by pipeline tests: decoding trees, comparing them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np


def decode(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} does not decode"
    return image


def is_manifest(rel: str) -> bool:
    """Fingerprint manifests record mtimes and run-specific fingerprints, not data."""
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".sdg_manifest") or name.endswith(".sdg.json") or "/.sdg_manifest/" in f"/{rel}"


def tree_digest(root: Path, skip_hidden: bool = False) -> dict[str, str]:
    """``relative path -> sha256`` of every data file below ``root`` (fingerprint manifests left
    out); the text of ``root`` itself (which resolved cookbooks record) is replaced by a
    placeholder first."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            if is_manifest(rel) or (skip_hidden and any(part.startswith(".") for part in rel.split("/"))):
                continue
            data = path.read_bytes().replace(str(root).encode(), b"<ROOT>")
            out[rel] = hashlib.sha256(data).hexdigest()
    return out
