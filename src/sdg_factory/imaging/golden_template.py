"""Golden-template comparison: an inspected image against its golden reference, pixel by pixel.

What an AOI line does with a board and its golden board:

1. **Intensity**: both images to ``float32`` in ``[0, 1]`` (8- or 16-bit, gray or colour; alpha
   dropped; when one of the two is gray, both are compared in gray).
2. **Registration**: the golden is aligned onto the inspected image with the restyle stage's
   rigid registration (:func:`sdg_factory.imaging.registration.register`: rotation grid + NCC
   shift, refined by ECC on gradient maps), within ``max_shift_px`` and ``max_rotation_deg``.
   Pixels whose golden counterpart falls outside the golden image are not compared. The ECC
   refinement runs on maps reduced to ``ecc_max_side`` (320: a 640² crop at half size).
3. **Photometric normalisation**: per channel, the inspected image's 1st and 99th percentiles
   (over the compared pixels) are mapped linearly onto the aligned golden's, so a global
   exposure or gain change is not a defect.
4. **Envelope**: the golden's morphological min/max envelope over a disc of radius
   ``jitter_px`` — ``lo = erode(golden)``, ``hi = dilate(golden)``. A line 1–2 px wider or
   narrower, an edge that moved by a pixel, a sub-pixel registration residue all stay inside it.
5. **Anomaly map**: how far each pixel lies outside ``[lo, hi]``,
   ``max(lo - x, x - hi, 0)``, the largest over the channels (intensity units, 0..1), optionally
   smoothed by ``map_sigma``. A pin hole inside copper falls below ``lo``; spurious copper in a
   gap rises above ``hi``.
6. **Extent recovery** (``recover_extent``): the envelope hides the first ``jitter_px`` of a
   defect that touches an edge (a mouse bite is seen only where it is deeper than the jitter),
   which would shrink its region. Within ``jitter_px`` of a detection, a pixel takes the plain
   difference ``|x - golden|``, capped by the neighbouring detection's value — so a region grows
   back to the defect's true extent, never by more than ``jitter_px``, and only where the image
   really differs from its golden.

Works on binarised line-scan crops (0/255) and on colour photos alike; the map is in the
inspected image's own pixel grid (``H×W``), ready for :func:`sdg_factory.defects.extract_defects`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sdg_factory.imaging.registration import Registration, register, warp_to_reference


class GoldenTemplateError(ValueError):
    """An image and its golden cannot be compared (different sizes, unsupported pixels)."""


def to_unit_float(image: np.ndarray) -> np.ndarray:
    """``float32`` in ``[0, 1]``: ``H×W`` (gray) or ``H×W×3`` (colour; alpha dropped)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        scale = 255.0
    elif image.dtype == np.uint16:
        scale = 65535.0
    elif image.dtype in (np.float32, np.float64):
        scale = 1.0
    else:
        raise GoldenTemplateError(f"golden_template: {image.dtype} images are not supported; use 8- or 16-bit")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] >= 3:
        image = image[:, :, :3]
    elif image.ndim != 2:
        raise GoldenTemplateError(f"golden_template: expected a gray, RGB or RGBA image, got shape {image.shape}")
    return (image.astype(np.float32) / np.float32(scale)).astype(np.float32)


def to_gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def envelope(golden: np.ndarray, jitter_px: int) -> tuple[np.ndarray, np.ndarray]:
    """``(erode(golden), dilate(golden))`` over a disc of radius ``jitter_px`` (0: the golden itself)."""
    r = int(jitter_px)
    if r <= 0:
        return golden, golden
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return (cv2.erode(golden, disc, borderType=cv2.BORDER_REPLICATE),
            cv2.dilate(golden, disc, borderType=cv2.BORDER_REPLICATE))


def match_photometry(image: np.ndarray, reference: np.ndarray, valid: np.ndarray,
                     low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """``image`` with each channel's ``low``/``high`` percentiles over ``valid`` mapped linearly onto
    ``reference``'s. Percentiles, not mean and std: a line 2 px wider changes the share of copper,
    and with it the mean, but not the dark and bright levels (a binarised pair is left as it is)."""
    img = image if image.ndim == 3 else image[:, :, None]
    ref = reference if reference.ndim == 3 else reference[:, :, None]
    step = max(1, int(np.sqrt(valid.size / 65536)))  # percentiles of a regular subsample: fast, exact enough
    sub = valid[::step, ::step]
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        a0, a1 = np.percentile(img[::step, ::step, c][sub], (low, high))
        b0, b1 = np.percentile(ref[::step, ::step, c][sub], (low, high))
        gain = (b1 - b0) / (a1 - a0) if a1 - a0 > 1e-6 and b1 - b0 > 1e-6 else 1.0
        out[:, :, c] = (img[:, :, c] - a0) * np.float32(gain) + np.float32(b0)
    return out if image.ndim == 3 else out[:, :, 0]


def outside_envelope(image: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per pixel, how far ``image`` lies outside ``[lo, hi]`` (largest over the channels)."""
    dist = np.maximum(np.maximum(lo - image, image - hi), 0.0)
    return dist.max(axis=2) if dist.ndim == 3 else dist


@dataclass
class GoldenTemplateSettings:
    """How an image is compared with its golden, step by step (the module docstring).

    Registration search (step 2): ``max_shift_px``, ``max_rotation_deg``, ``rotation_step_deg``
    and ``ecc_max_side``, handed to :func:`~sdg_factory.imaging.registration.register`;
    ``smooth_sigma`` blurs both images first. ``photometric`` (step 3), ``jitter_px`` (step 4),
    ``map_sigma`` and ``border_px`` (step 5: pixels this close to an edge are not compared),
    ``recover_extent`` (step 6). The ``golden_template`` detector takes exactly these settings.
    """

    max_shift_px: float = 4.0
    max_rotation_deg: float = 1.0
    rotation_step_deg: float = 0.5
    jitter_px: int = 2
    photometric: bool = True
    smooth_sigma: float = 0.0
    map_sigma: float = 0.0
    border_px: int = 1
    recover_extent: bool = True
    ecc_max_side: int | None = 320


def golden_template_map(image: np.ndarray, golden: np.ndarray, settings: GoldenTemplateSettings | None = None
                        ) -> tuple[np.ndarray, Registration]:
    """The anomaly map of ``image`` against ``golden`` (see the module docstring) and the
    registration that aligned them. Same size required; the map is ``float32``, ``H×W``."""
    s = settings or GoldenTemplateSettings()
    if np.asarray(image).shape[:2] != np.asarray(golden).shape[:2]:
        h, w = np.asarray(image).shape[:2]
        gh, gw = np.asarray(golden).shape[:2]
        raise GoldenTemplateError(f"golden_template: the image is {w}x{h} but its golden is {gw}x{gh}; "
                                  "a golden must have the size of the image it is compared with")
    test, gold = to_unit_float(image), to_unit_float(golden)
    if test.ndim != gold.ndim:  # one of them is gray: compare in gray
        test, gold = to_gray(test), to_gray(gold)
    if s.smooth_sigma > 0:
        test = cv2.GaussianBlur(test, (0, 0), s.smooth_sigma)
        gold = cv2.GaussianBlur(gold, (0, 0), s.smooth_sigma)
    h, w = test.shape[:2]
    aligned, reg = register(gold, test, max_shift_px=s.max_shift_px, max_rotation_deg=s.max_rotation_deg,
                            rotation_step_deg=s.rotation_step_deg, ecc_max_side=s.ecc_max_side)
    if reg.method == "identity":
        valid = np.ones((h, w), bool)
    else:
        ones = np.ones((h, w), np.float32)
        valid = warp_to_reference(ones, np.asarray(reg.matrix, np.float32), (w, h),
                                  border=cv2.BORDER_CONSTANT) > 0.999
    if s.border_px > 0:  # the image's own edge, and the edge of the aligned golden's footprint
        valid = cv2.erode(valid.view(np.uint8), np.ones((3, 3), np.uint8), iterations=int(s.border_px),
                          borderType=cv2.BORDER_CONSTANT, borderValue=0).view(bool)
    if s.photometric and valid.any():
        test = match_photometry(test, aligned, valid)
    lo, hi = envelope(aligned, s.jitter_px)
    amap = outside_envelope(test, lo, hi).astype(np.float32)
    amap[~valid] = 0.0
    if s.recover_extent and s.jitter_px > 0:
        _, near = envelope(amap, s.jitter_px)
        diff = np.abs(test - aligned)
        diff = diff.max(axis=2) if diff.ndim == 3 else diff
        amap = np.maximum(amap, np.minimum(diff, near))
        amap[~valid] = 0.0
    if s.map_sigma > 0:
        amap = cv2.GaussianBlur(amap, (0, 0), s.map_sigma)
    return np.ascontiguousarray(amap, dtype=np.float32), reg
