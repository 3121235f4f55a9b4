"""Pixel-threshold resolution with provenance (the document's "Pixel threshold resolution rules").

Order:

1. an explicit value (``pixel_threshold``) → ``{"method": "fixed", "source": "explicit"}``;
2. the infer-config value ``infer_config["defects"]["pixel_threshold"]`` →
   ``{"method": "fixed", "source": "infer_config"}``;
3. with strategy ``normal_pixel_quantile``: the ``q`` quantile (default 0.999) of the finite
   pixels of anomaly maps of *normal* images (inside the ROI when one is given) →
   ``{"method": "normal_pixel_quantile", "source": ..., "q", "calibration_map_count",
   "calibration_pixel_count", "roi_xyxy_norm"}``;
4. otherwise a :class:`PixelThresholdError` that says which of the three to provide. There is
   no silent fallback.

Strategies ``fixed`` and ``infer_config`` never calibrate: they need a value from 1 or 2.
Strategy ``labelled_f1`` calibrates on labelled images instead of normal ones (pixel threshold
and ``min_area`` that maximise region F1, :mod:`sdg_factory.defects.labelled_f1`); the caller
that has such images runs it, so here it only accepts a value from 1 or 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from sdg_factory.defects.extract import roi_rect

STRATEGIES = ("normal_pixel_quantile", "fixed", "infer_config", "labelled_f1")
DEFAULT_QUANTILE = 0.999


class PixelThresholdError(ValueError):
    """No pixel threshold can be resolved from what was given."""


class ResolvedPixelThreshold(NamedTuple):
    pixel_threshold: float
    pixel_threshold_provenance: dict[str, Any]


_HOW_TO_GIVE = (
    "Give one of: (1) an explicit value — parameter `defects_export.pixel_threshold` "
    "(e.g. `kedro run --pipeline=defects_export --params defects_export.pixel_threshold=3.5`); "
    "(2) an infer_config.json whose `defects.pixel_threshold` is set "
    "(`--params defects_infer_config=path/to/infer_config.json`); or "
    "(3) `pixel_threshold_strategy: normal_pixel_quantile` with anomaly maps of normal images "
    "to calibrate on (run `kedro run --pipeline=anomaly_detection` first, which writes them)."
)


def infer_config_pixel_threshold(infer_config: Mapping[str, Any] | None) -> float | None:
    """``infer_config["defects"]["pixel_threshold"]`` or ``None``."""
    if not infer_config:
        return None
    block = infer_config.get("defects") or {}
    value = block.get("pixel_threshold") if isinstance(block, Mapping) else None
    return None if value is None else float(value)


def resolve_pixel_threshold(
    *,
    pixel_threshold: float | None = None,
    pixel_threshold_strategy: str = "normal_pixel_quantile",
    infer_config: Mapping[str, Any] | None = None,
    calibration_maps: Iterable[np.ndarray] | None = None,
    pixel_normal_quantile: float = DEFAULT_QUANTILE,
    roi_xyxy_norm: Sequence[float] | None = None,
    infer_config_source: str = "infer_config",
    calibration_source: str = "normal_maps",
) -> ResolvedPixelThreshold:
    """Resolve the pixel threshold and its ``pixel_threshold_provenance`` (see module doc).

    ``calibration_maps`` are anomaly maps of normal images (any shapes); they are only read
    when calibration is the rule that applies.
    """
    strategy = str(pixel_threshold_strategy or "normal_pixel_quantile")
    if strategy not in STRATEGIES:
        raise PixelThresholdError(
            f"pixel_threshold_strategy {strategy!r} is not one of {', '.join(STRATEGIES)}; "
            "set `defects_export.pixel_threshold_strategy` to one of them."
        )
    if pixel_threshold is not None:
        value = _finite(pixel_threshold, "pixel_threshold")
        return ResolvedPixelThreshold(value, {"method": "fixed", "source": "explicit", "value": value})
    from_config = infer_config_pixel_threshold(infer_config)
    if from_config is not None:
        value = _finite(from_config, "infer_config defects.pixel_threshold")
        return ResolvedPixelThreshold(value, {"method": "fixed", "source": infer_config_source, "value": value})
    if strategy == "labelled_f1":
        raise PixelThresholdError(
            "pixel_threshold_strategy=labelled_f1 needs labelled calibration images (a calib_dir with boxes/ "
            f"or masks/ beside images/), and none were given. {_HOW_TO_GIVE}"
        )
    if strategy != "normal_pixel_quantile":
        raise PixelThresholdError(
            f"pixel_threshold_strategy={strategy} needs a threshold value, and neither an explicit "
            f"pixel_threshold nor an infer_config defects.pixel_threshold was given. {_HOW_TO_GIVE}"
        )
    q = float(pixel_normal_quantile)
    if not 0.0 < q <= 1.0:
        raise PixelThresholdError(f"pixel_normal_quantile must be in (0, 1], got {pixel_normal_quantile!r}")
    pixels, n_maps, n_non_finite = _calibration_pixels(calibration_maps, roi_xyxy_norm)
    if pixels.size == 0:
        what = "no calibration maps" if n_maps == 0 else f"{n_maps} calibration map(s) without a finite pixel"
        raise PixelThresholdError(f"cannot calibrate the pixel threshold: {what}. {_HOW_TO_GIVE}")
    value = float(np.quantile(pixels, q))
    provenance = {
        "method": "normal_pixel_quantile",
        "source": calibration_source,
        "q": q,
        "calibration_map_count": n_maps,
        "calibration_pixel_count": int(pixels.size),
        "roi_xyxy_norm": None if roi_xyxy_norm is None else [float(v) for v in roi_xyxy_norm],
    }
    if n_non_finite:
        provenance["non_finite_pixel_count"] = n_non_finite
    return ResolvedPixelThreshold(value, provenance)


def _finite(value: Any, what: str) -> float:
    out = float(value)
    if not np.isfinite(out):
        raise PixelThresholdError(f"{what} must be a finite number, got {value!r}")
    return out


def _calibration_pixels(maps: Iterable[np.ndarray] | None, roi: Sequence[float] | None
                        ) -> tuple[np.ndarray, int, int]:
    chunks, n_maps, n_non_finite = [], 0, 0
    for amap in maps or ():
        amap = np.asarray(amap, dtype=np.float32)
        if amap.ndim != 2:
            raise PixelThresholdError(f"calibration maps must be 2-D (H, W), got shape {amap.shape}")
        x0, y0, x1, y1 = roi_rect(amap.shape, roi)
        values = amap[y0:y1, x0:x1].ravel()
        finite = np.isfinite(values)
        n_non_finite += int(values.size - finite.sum())
        chunks.append(values[finite])
        n_maps += 1
    return (np.concatenate(chunks) if chunks else np.empty(0, np.float32)), n_maps, n_non_finite
