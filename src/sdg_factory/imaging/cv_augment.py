"""Step 7's traditional CV augmentation: the document's cascade, fast and exactly reproducible.

The chain (each link applied independently with its probability, in this order):

==================  ===========================  ==============================================
link                probability parameter        range parameter (document default)
==================  ===========================  ==============================================
black & white       ``bw_probability``           —
saturation          ``saturation_probability``   ``saturation_range`` 0.1–2.5 (×, 1 = unchanged)
contrast            ``contrast_probability``     ``contrast_range`` 0.2–0.8 (×, around the mean)
brightness          ``brightness_probability``   ``brightness_range`` 0.4–1.5 (×)
motion blur         ``motion_blur_probability``  ``motion_blur_range`` 20–55 px (odd kernel)
JPEG noise          ``compression_noise_…``      ``compression_iterations_range`` 10–30 passes,
                                                 ``compression_quality_range`` 10–40
==================  ===========================  ==============================================

The colour links follow torchvision's (and albumentations') definitions: saturation blends
with the grey image, contrast scales around the mean grey level, brightness multiplies. The
motion-blur kernel is the digital line albumentations' ``MotionBlur`` draws (centred,
symmetric), applied as a sum of shifted row-runs (box sums) instead of a dense 2-D
convolution. Repeated JPEG compression stops as soon as the encoded bytes repeat: from then on
every pass reproduces an earlier state, so the result is byte-identical to running all passes
(:func:`repeated_jpeg_every_pass` is the plain loop the tests compare against).

Geometry never changes, so the YOLO labels of an augmented image are its source's, verbatim.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

# --------------------------------------------------------------------------------------
# configuration (the document's parameter names)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CvAugmentConfig:
    bw_probability: float = 0.5
    saturation_probability: float = 0.7
    contrast_probability: float = 0.5
    brightness_probability: float = 0.3
    motion_blur_probability: float = 0.8
    compression_noise_probability: float = 1.0
    saturation_range: tuple[float, float] = (0.1, 2.5)
    contrast_range: tuple[float, float] = (0.2, 0.8)
    brightness_range: tuple[float, float] = (0.4, 1.5)
    motion_blur_range: tuple[int, int] = (20, 55)
    compression_iterations_range: tuple[int, int] = (10, 30)
    compression_quality_range: tuple[int, int] = (10, 40)

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """The parameter keys :meth:`from_params` reads."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_params(cls, params: dict) -> CvAugmentConfig:
        """Build from a parameters dict (unknown keys ignored; every value checked)."""
        values = {}
        for name, default in asdict(cls()).items():
            value = params.get(name, default)
            if name.endswith("_probability"):
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"parameter '{name}' must be a probability in [0, 1]; got {value}")
            else:
                if not isinstance(value, (list, tuple)) or len(value) != 2 or float(value[0]) > float(value[1]):
                    raise ValueError(f"parameter '{name}' must be a [low, high] pair with low <= high; got {value!r}")
                cast = int if isinstance(default[0], int) else float
                value = (cast(value[0]), cast(value[1]))
            values[name] = value
        if values["compression_quality_range"][0] < 1 or values["compression_quality_range"][1] > 100:
            raise ValueError("parameter 'compression_quality_range' must lie within [1, 100]")
        if values["motion_blur_range"][0] < 1:
            raise ValueError("parameter 'motion_blur_range' must start at 1 pixel or more")
        return cls(**values)


def _odd_in(rng: np.random.Generator, low: int, high: int) -> int:
    low = low if low % 2 else low + 1
    high = high if high % 2 else high - 1
    if high < low:
        return low
    return int(low + 2 * rng.integers(0, (high - low) // 2 + 1))


def sample_ops(config: CvAugmentConfig, rng: np.random.Generator) -> list[dict]:
    """Draw which links apply and their values, in chain order (a JSON-able record)."""
    ops: list[dict] = []
    draws = rng.random(6)
    if draws[0] < config.bw_probability:
        ops.append({"op": "black_white"})
    if draws[1] < config.saturation_probability:
        ops.append({"op": "saturation", "factor": round(float(rng.uniform(*config.saturation_range)), 4)})
    if draws[2] < config.contrast_probability:
        ops.append({"op": "contrast", "factor": round(float(rng.uniform(*config.contrast_range)), 4)})
    if draws[3] < config.brightness_probability:
        ops.append({"op": "brightness", "factor": round(float(rng.uniform(*config.brightness_range)), 4)})
    if draws[4] < config.motion_blur_probability:
        ops.append({"op": "motion_blur", "kernel": _odd_in(rng, *config.motion_blur_range),
                    "angle": round(float(rng.uniform(0.0, 360.0)), 3)})
    if draws[5] < config.compression_noise_probability:
        lo, hi = config.compression_iterations_range
        qlo, qhi = config.compression_quality_range
        ops.append({"op": "jpeg", "iterations": int(rng.integers(lo, hi + 1)),
                    "quality": int(rng.integers(qlo, qhi + 1))})
    return ops


# --------------------------------------------------------------------------------------
# the links
# --------------------------------------------------------------------------------------

def _gray3(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def black_white(image: np.ndarray) -> np.ndarray:
    return _gray3(image)


def saturation(image: np.ndarray, factor: float) -> np.ndarray:
    """Blend with the grey image: 0 = grey, 1 = unchanged, >1 = more saturated."""
    if factor == 1:
        return image
    return cv2.addWeighted(image, factor, _gray3(image), 1 - factor, 0)


def _lut(image: np.ndarray, scale: float, offset: float) -> np.ndarray:
    table = np.clip(np.arange(256, dtype=np.float32) * scale + offset, 0, 255)
    return cv2.LUT(image, np.rint(table).astype(np.uint8))


def contrast(image: np.ndarray, factor: float) -> np.ndarray:
    """Scale around the mean grey level (one lookup table for the whole image)."""
    if factor == 1:
        return image
    mean = float(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).mean())
    return _lut(image, factor, mean * (1 - factor))


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    return image if factor == 1 else _lut(image, factor, 0.0)


def motion_kernel_taps(kernel: int, angle: float) -> np.ndarray:
    """``(row, col)`` taps of the centred motion-blur line (albumentations' digital line)."""
    centre = kernel // 2
    rad = np.deg2rad(angle)
    t = np.linspace(-float(centre), float(centre), kernel)
    x = np.clip(np.round(centre + np.cos(rad) * t), 0, kernel - 1).astype(int)
    y = np.clip(np.round(centre + np.sin(rad) * t), 0, kernel - 1).astype(int)
    return np.unique(np.column_stack([y, x]), axis=0)


def motion_kernel(kernel: int, angle: float) -> np.ndarray:
    """The dense normalised kernel of :func:`motion_kernel_taps` (for comparison)."""
    dense = np.zeros((kernel, kernel), np.float32)
    taps = motion_kernel_taps(kernel, angle)
    dense[taps[:, 0], taps[:, 1]] = 1.0
    return dense / dense.sum()


def _runs(taps: np.ndarray, axis: int) -> list[tuple[int, int, int]]:
    """Group taps into runs of consecutive positions along ``axis`` (1 = rows, 0 = columns).

    Returns ``(fixed, start, length)``: for axis 1 ``fixed`` is the row and the run spans
    columns ``start … start+length-1``.
    """
    fixed, moving = (taps[:, 0], taps[:, 1]) if axis == 1 else (taps[:, 1], taps[:, 0])
    runs = []
    for f in np.unique(fixed):
        pos = np.sort(moving[fixed == f])
        start = prev = pos[0]
        for p in pos[1:]:
            if p != prev + 1:
                runs.append((int(f), int(start), int(prev - start + 1)))
                start = p
            prev = p
        runs.append((int(f), int(start), int(prev - start + 1)))
    return runs


def motion_blur(image: np.ndarray, kernel: int, angle: float) -> np.ndarray:
    """Motion blur along ``angle`` with a ``kernel``-pixel line (borders reflected, 101).

    The line's taps are grouped into runs along the line's major axis; each run is one
    shifted read of an unnormalised box sum of that run's length, accumulated in ``uint16``
    and rounded once — the same sums as a dense ``filter2D`` with the line kernel.
    """
    taps = motion_kernel_taps(kernel, angle)
    count = len(taps)
    if count == 1:
        return image
    h, w = image.shape[:2]
    c = kernel // 2
    padded = cv2.copyMakeBorder(image, c, c, c, c, cv2.BORDER_REFLECT_101)
    padded16 = None
    rows = _runs(taps, axis=1)
    cols = _runs(taps, axis=0)
    horizontal = len(rows) <= len(cols)
    runs = rows if horizontal else cols
    sums: dict[int, np.ndarray] = {}
    acc = np.zeros(image.shape, np.uint16)
    for fixed, start, length in runs:
        if length == 1:
            if padded16 is None:  # same-type adds are the fast (SIMD) path
                padded16 = padded.astype(np.uint16)
            src = padded16
        else:
            if length not in sums:
                size = (length, 1) if horizontal else (1, length)
                # anchor at the box's first pixel, so entry (y, x) sums x … x+length-1
                sums[length] = cv2.boxFilter(padded, cv2.CV_16U, size, anchor=(0, 0), normalize=False,
                                             borderType=cv2.BORDER_CONSTANT)
            src = sums[length]
        if horizontal:
            view = src[fixed:fixed + h, start:start + w]
        else:
            view = src[start:start + h, fixed:fixed + w]
        cv2.add(acc, view, dst=acc, dtype=cv2.CV_16U)
    return cv2.convertScaleAbs(acc, alpha=1.0 / count)


def _jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("OpenCV could not JPEG-encode the image")
    return buf.tobytes()


def _jpeg_decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def repeated_jpeg(image: np.ndarray, quality: int, iterations: int) -> tuple[np.ndarray, int]:
    """``iterations`` JPEG encode/decode passes; returns ``(image, passes actually run)``.

    Stops early only when the encoded bytes repeat an earlier pass's: the states then cycle,
    and the state after ``iterations`` passes is read off the cycle — byte-identical to
    running every pass.
    """
    seen: dict[bytes, int] = {}
    states: list[np.ndarray] = [image]
    for done in range(iterations):
        data = _jpeg_bytes(states[-1], quality)
        if data in seen:
            first = seen[data]                # encode(state[first]) == encode(state[done])
            period = done - first
            index = first + 1 + (iterations - 1 - first) % period
            return states[index], done
        seen[data] = done
        states.append(_jpeg_decode(data))
    return states[-1], iterations


def repeated_jpeg_every_pass(image: np.ndarray, quality: int, iterations: int) -> np.ndarray:
    """The plain loop (reference for :func:`repeated_jpeg`)."""
    for _ in range(iterations):
        image = _jpeg_decode(_jpeg_bytes(image, quality))
    return image


def apply_ops(image: np.ndarray, ops: list[dict]) -> np.ndarray:
    """Run a sampled chain (see :func:`sample_ops`) on an RGB ``uint8`` image."""
    out = np.ascontiguousarray(image[..., :3])
    for op in ops:
        kind = op["op"]
        if kind == "black_white":
            out = black_white(out)
        elif kind == "saturation":
            out = saturation(out, op["factor"])
        elif kind == "contrast":
            out = contrast(out, op["factor"])
        elif kind == "brightness":
            out = brightness(out, op["factor"])
        elif kind == "motion_blur":
            out = motion_blur(out, op["kernel"], op["angle"])
        elif kind == "jpeg":
            out, _ = repeated_jpeg(out, op["quality"], op["iterations"])
        else:
            raise ValueError(f"unknown CV augmentation op {kind!r}")
    return out


def augment(image: np.ndarray, config: CvAugmentConfig, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Sample the chain with ``rng`` and apply it; returns ``(image, ops)``."""
    ops = sample_ops(config, rng)
    return apply_ops(image, ops), ops
