"""The ``defects`` block of ``infer_config.json`` (the document's deployment contract).

``defects_block`` exports it, ``settings_from_infer_config`` imports it back, and
``merge_settings`` applies the precedence the pipeline uses: a setting given explicitly (a
parameter that is not ``null``) wins over the input infer-config's value, which wins over
the document's default (:data:`DEFAULTS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sdg_factory.defects.extract import check_roi
from sdg_factory.defects.threshold import STRATEGIES

#: The document's defaults, in the document's key order.
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "pixel_threshold": None,
    "pixel_threshold_strategy": "normal_pixel_quantile",
    "pixel_normal_quantile": 0.999,
    "mask_format": "png",
    "roi_xyxy_norm": None,
    "min_area": 0,
    "open_ksize": 0,
    "close_ksize": 0,
    "fill_holes": False,
    "max_regions": None,
}
MASK_FORMATS = ("png", "npy")
#: Extra keys an exported block may carry besides the settings.
EXTRA_KEYS = ("pixel_threshold_provenance",)


class DefectsConfigError(ValueError):
    """A ``defects`` setting has an unknown key or a value of the wrong kind."""


def check_settings(settings: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Validate (and normalise types of) settings; ``None`` values are left as ``None``."""
    unknown = sorted(set(settings) - set(DEFAULTS) - set(EXTRA_KEYS))
    if unknown:
        raise DefectsConfigError(
            f"{source}: unknown defects setting(s) {', '.join(unknown)}; "
            f"the known ones are {', '.join(DEFAULTS)}"
        )
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key in EXTRA_KEYS or value is None:
            out[key] = value
            continue
        try:
            out[key] = _coerce(key, value)
        except (TypeError, ValueError) as exc:
            raise DefectsConfigError(f"{source}: defects setting '{key}' = {value!r} is invalid: {exc}") from exc
    return out


def _coerce(key: str, value: Any) -> Any:
    if key in ("enabled", "fill_holes"):
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if key in ("min_area", "open_ksize", "close_ksize", "max_regions"):
        if isinstance(value, bool) or int(value) != value or int(value) < 0:
            raise ValueError("expected a whole number >= 0")
        return int(value)
    if key == "pixel_threshold":
        out = float(value)
        if not math.isfinite(out):
            raise ValueError("expected a finite number")
        return out
    if key == "pixel_normal_quantile":
        out = float(value)
        if not 0.0 < out <= 1.0:
            raise ValueError("expected a number in (0, 1]")
        return out
    if key == "pixel_threshold_strategy":
        if value not in STRATEGIES:
            raise ValueError(f"expected one of {', '.join(STRATEGIES)}")
        return str(value)
    if key == "mask_format":
        if value not in MASK_FORMATS:
            raise ValueError(f"expected one of {', '.join(MASK_FORMATS)}")
        return str(value)
    if key == "roi_xyxy_norm":
        return check_roi(value)
    raise KeyError(key)


def merge_settings(params: Mapping[str, Any], infer_config: Mapping[str, Any] | None = None,
                   *, params_source: str = "parameters", infer_config_source: str = "infer_config"
                   ) -> dict[str, Any]:
    """Explicit (non-null) parameters > input infer_config ``defects`` block > :data:`DEFAULTS`.

    Only the keys of :data:`DEFAULTS` are taken from ``params`` (other pipeline parameters may
    sit beside them). ``pixel_threshold`` is merged the same way here; the threshold
    resolution keeps the explicit and infer-config values apart for its provenance.
    """
    explicit = check_settings({k: params.get(k) for k in DEFAULTS if params.get(k) is not None}, params_source)
    from_config = settings_from_infer_config(infer_config, infer_config_source) if infer_config else {}
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in from_config.items() if v is not None and k in DEFAULTS})
    merged.update(explicit)
    return merged


def settings_from_infer_config(infer_config: Mapping[str, Any], source: str = "infer_config") -> dict[str, Any]:
    """The validated ``defects`` block of an infer config (``{}`` when it has none)."""
    if not isinstance(infer_config, Mapping):
        raise DefectsConfigError(f"{source}: an infer config is a JSON object, got {type(infer_config).__name__}")
    block = infer_config.get("defects")
    if block is None:
        return {}
    if not isinstance(block, Mapping):
        raise DefectsConfigError(f"{source}: 'defects' must be a JSON object, got {type(block).__name__}")
    return check_settings(block, f"{source} (defects block)")


def defects_block(settings: Mapping[str, Any], *, pixel_threshold: float | None = None,
                  pixel_threshold_provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``defects`` block to write into ``infer_config.json``.

    ``pixel_threshold`` is the resolved value (so the exported config deploys without the
    calibration maps); the provenance travels beside it.
    """
    block = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if pixel_threshold is not None:
        block["pixel_threshold"] = float(pixel_threshold)
    block = check_settings(block, "exported defects block")
    if pixel_threshold_provenance is not None:
        block["pixel_threshold_provenance"] = dict(pixel_threshold_provenance)
    return block


def export_infer_config(settings: Mapping[str, Any], *, pixel_threshold: float | None = None,
                        pixel_threshold_provenance: Mapping[str, Any] | None = None,
                        base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``base`` (an input infer config, or ``{}``) with its ``defects`` block replaced."""
    out = dict(base or {})
    out["defects"] = defects_block(settings, pixel_threshold=pixel_threshold,
                                   pixel_threshold_provenance=pixel_threshold_provenance)
    return out
