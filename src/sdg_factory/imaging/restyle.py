"""Classical photometric restyle: an ROI toward a destination lighting style, geometry kept.

The embedded stand-in for the documents' Qwen OVSL2SL image edit (Omniverse render →
structured-light camera look). Every step is a per-pixel colour operation or a small
isotropic blur, so nothing moves and ``cad_mask`` stays pixel-aligned:

1. colour-statistics transfer (Reinhard et al. 2001) in CIE L*a*b*: each channel's mean and
   spread are moved toward the style's ``lab_mean`` / ``lab_std`` by ``transfer_strength``;
2. a tone curve: gamma, then an S-curve contrast mix;
3. a specular boost on bright metal: pixels that are bright and nearly grey (solder, leads,
   terminations) are pushed toward white;
4. a camera: mild Gaussian blur and sensor noise.

The style is configuration (``style:`` in ``parameters_pcba_restyle.yml``); every random
choice (a small per-item jitter of the target and the noise) comes from the request's seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from difflib import get_close_matches
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class RestyleStyle:
    """A destination lighting style. L*a*b* values are CIE units (L 0..100, a/b about ±100)."""

    lab_mean: tuple[float, float, float] = (58.0, 4.0, 14.0)
    lab_std: tuple[float, float, float] = (20.0, 6.0, 12.0)
    transfer_strength: float = 0.85
    max_std_ratio: float = 2.5
    gamma: float = 0.9
    s_curve: float = 0.35
    specular_threshold: float = 0.72
    specular_max_saturation: float = 0.3
    specular_gain: float = 0.45
    blur_sigma: float = 0.6
    noise_sigma: float = 1.5
    mean_jitter: float = 2.0

    @classmethod
    def from_config(cls, config: dict[str, Any] | RestyleStyle | None, source: str = "style") -> RestyleStyle:
        if config is None:
            return cls()
        if isinstance(config, RestyleStyle):
            return config
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            hints = [f"'{k}'" + (f" (did you mean '{close[0]}'?)" if (close := get_close_matches(k, sorted(known), 1))
                                 else "") for k in unknown]
            raise ValueError(f"{source}: unknown key(s) {', '.join(hints)} for the classical restyle; "
                             f"the style keys are {sorted(known)}")
        values = dict(config)
        for key in ("lab_mean", "lab_std"):
            if key in values:
                values[key] = tuple(float(v) for v in values[key])
                if len(values[key]) != 3:
                    raise ValueError(f"{source}.{key} must be three numbers (L*, a*, b*), got {config[key]!r}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """``uint8`` RGB → float32 CIE L*a*b*."""
    return cv2.cvtColor(np.divide(rgb, np.float32(255.0), dtype=np.float32), cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """float32 CIE L*a*b* → float32 RGB in [0, 1] (clipped)."""
    rgb = cv2.cvtColor(lab.astype(np.float32, copy=False), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def lab_statistics(rgb: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of an RGB image in L*a*b*."""
    lab = to_lab(rgb[..., :3]).reshape(-1, 3)
    if weights is None:
        return lab.mean(axis=0), lab.std(axis=0)
    w = weights.reshape(-1).astype(np.float64)
    w = w / max(w.sum(), 1e-9)
    mean = (lab * w[:, None]).sum(axis=0)
    std = np.sqrt(((lab - mean) ** 2 * w[:, None]).sum(axis=0))
    return mean.astype(np.float32), std.astype(np.float32)


def transfer_colour_statistics(
    rgb: np.ndarray, target_mean, target_std, strength: float = 1.0, max_std_ratio: float = 2.5
) -> np.ndarray:
    """Reinhard colour transfer in L*a*b*; returns float32 RGB in [0, 1]."""
    lab = to_lab(rgb)
    mean, std = (v.reshape(3).astype(np.float32) for v in cv2.meanStdDev(lab))
    target_mean = np.asarray(target_mean, np.float32)
    target_std = np.asarray(target_std, np.float32)
    ratio = np.clip(target_std / np.maximum(std, 1e-3), 1.0 / max_std_ratio, max_std_ratio)
    scale = 1.0 + strength * (ratio - 1.0)
    shift = mean + strength * (target_mean - mean)
    lab *= scale  # in place: the float32 arithmetic of lab * scale + (shift - mean * scale)
    lab += shift - mean * scale
    return from_lab(lab)


def tone_curve(rgb01: np.ndarray, gamma: float = 1.0, s_curve: float = 0.0) -> np.ndarray:
    """Gamma, then a mix with the smoothstep S-curve (contrast) by ``s_curve`` in [0, 1].

    Applied through a 4096-entry table (finer than the 8-bit output), not per-pixel powers.
    """
    x = np.linspace(0.0, 1.0, 4096, dtype=np.float32) ** np.float32(gamma)
    table = (1.0 - s_curve) * x + s_curve * (x * x * (3.0 - 2.0 * x))
    scaled = np.clip(rgb01, 0.0, 1.0)
    scaled *= np.float32(4095)
    scaled += np.float32(0.5)
    return table.astype(np.float32).take(scaled.astype(np.int32))


def specular_mask(rgb01: np.ndarray, threshold: float, max_saturation: float) -> np.ndarray:
    """Soft mask of bright, nearly grey pixels (metal highlights), in [0, 1]."""
    r, g, b = cv2.split(rgb01)
    value = cv2.max(cv2.max(r, g), b)
    saturation = (value - cv2.min(cv2.min(r, g), b)) / np.maximum(value, 1e-6)
    bright = np.clip((value - threshold) / max(1.0 - threshold, 1e-6), 0.0, 1.0)
    grey = np.clip(1.0 - saturation / max(max_saturation, 1e-6), 0.0, 1.0)
    return (bright * grey).astype(np.float32)


def specular_boost(rgb01: np.ndarray, threshold: float, max_saturation: float, gain: float) -> np.ndarray:
    """Push bright metal toward white: ``x + gain·m·(1 - x)``."""
    mask = specular_mask(rgb01, threshold, max_saturation)[..., None]
    return rgb01 + gain * mask * (1.0 - rgb01)


def camera(rgb01: np.ndarray, blur_sigma: float, noise_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Mild lens blur and sensor noise (``noise_sigma`` in 8-bit levels); returns ``uint8``."""
    out = rgb01 * 255.0
    if blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=blur_sigma, borderType=cv2.BORDER_REFLECT)
    if noise_sigma > 0:
        noise = rng.standard_normal(out.shape, dtype=np.float32)
        noise *= np.float32(noise_sigma)
        out += noise  # in place, as the rest: the same float32 values, fewer full-image copies
    np.rint(out, out=out)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def restyle_image(image: np.ndarray, style: RestyleStyle | dict | None = None, seed: int = 0) -> np.ndarray:
    """Restyle an RGB/RGBA ``uint8`` image; alpha (if any) is passed through unchanged."""
    style = RestyleStyle.from_config(style)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"restyle expects an RGB or RGBA uint8 image, got {image.dtype} {image.shape}")
    rng = np.random.default_rng(seed)
    rgb = image[..., :3]
    jitter = rng.normal(0.0, style.mean_jitter, 3) if style.mean_jitter > 0 else np.zeros(3)
    out = transfer_colour_statistics(
        rgb, np.asarray(style.lab_mean) + jitter, style.lab_std,
        style.transfer_strength, style.max_std_ratio,
    )
    out = tone_curve(out, style.gamma, style.s_curve)
    out = specular_boost(out, style.specular_threshold, style.specular_max_saturation, style.specular_gain)
    out = camera(out, style.blur_sigma, style.noise_sigma, rng)
    if image.shape[2] == 4:
        out = np.dstack([out, image[..., 3]])
    return out
