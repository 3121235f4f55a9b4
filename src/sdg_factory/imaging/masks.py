"""Comparing masks: the one mask IoU of the project (annotation reports, defect evaluation).

The rule for empty masks: IoU is the overlap of two objects, so when **both** masks are empty
there is nothing to compare and :func:`mask_iou` returns ``None`` (the image is left out of a
mean IoU, neither a perfect 1.0 nor a 0.0). One empty mask against a non-empty one is 0.0.
"""

from __future__ import annotations

import numpy as np


def mask_iou(a: np.ndarray, b: np.ndarray) -> float | None:
    """Intersection over union of two masks (``> 0`` = object); ``None`` when both are empty."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    union = int(np.logical_or(a, b).sum())
    return None if union == 0 else float(np.logical_and(a, b).sum() / union)
