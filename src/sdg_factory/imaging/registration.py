"""Register an edited ROI back onto its input crop, so ``cad_mask`` stays pixel-aligned.

A generative edit may move the picture by a few pixels or turn it slightly. The edited
output (``moving``) is aligned to the input crop (``reference``) with a rigid transform
(rotation + shift) found coarse to fine:

1. coarse: for each rotation on a grid in ``±max_rotation_deg``, the best integer shift
   within ``±max_shift_px`` by normalised cross-correlation (``cv2.matchTemplate``);
2. fine: ``cv2.findTransformECC`` (Euclidean motion) started from the coarse estimate.

Both steps compare gradient-magnitude images, not colours: the edit changes the style on
purpose, the edges of the parts stay where they are. The transform is kept only when it
scores better than doing nothing, so an edit that did not move leaves the image untouched.

The transform follows OpenCV's ECC convention: ``W`` (2×3) maps a pixel of the reference
frame to where that content lies in ``moving``; the aligned image is
``warpAffine(moving, W, flags=WARP_INVERSE_MAP)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

#: how far above 1 float32 rounding could take a computed NCC (far above the ~1e-5 it can)
NCC_ROUNDING = 1e-3


class RegistrationError(RuntimeError):
    """An edited ROI could not be aligned with its input crop."""


@dataclass
class Registration:
    """The recovered transform of one ROI and how well it fits."""

    matrix: list[list[float]]  # 2×3, reference → moving (OpenCV ECC convention)
    shift_x: float  # where the reference centre lies in the edited output, minus the centre
    shift_y: float
    rotation_deg: float  # how the edit turned the content (cv2.getRotationMatrix2D convention)
    score: float  # normalised cross-correlation of gradient maps after alignment (-1..1)
    score_identity: float  # the same score without any transform
    method: str  # "identity", "coarse" or "ecc"

    def to_record(self) -> dict:
        return asdict(self)


@dataclass
class RegisteredEdit:
    """An edit aligned with its crop, or the reason it was not (``image`` is then ``None``),
    with its registration ``record`` (partition, transform, score): what one registration task
    hands to the dataset that writes ``augment/crop`` and its per-ROI records."""

    image: np.ndarray | None
    record: dict
    rejected: str | None = None
    #: ``image`` as PNG bytes, when the task already has them (the edit it wrote, unmoved)
    encoded: bytes | None = None


def gradient_map(image: np.ndarray, blur_sigma: float = 1.0) -> np.ndarray:
    """Smoothed gradient magnitude of the image's luminance, float32, zero-mean unit-std."""
    image = np.asarray(image)
    if image.ndim == 3:
        gray = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY)
    else:
        gray = image
    gray = gray.astype(np.float32)
    if blur_sigma > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), blur_sigma)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    # numpy, not cv2.magnitude: OpenCV's (IPP) magnitude differs in the last bit from one process
    # to the next, which made a re-run (or a reloaded detector) not reproduce its maps byte for byte
    mag = cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), max(blur_sigma, 0.5))
    mean, std = mag.mean(), max(float(mag.std()), 1e-6)
    mag -= mean  # in place: the same float32 arithmetic as (mag - mean) / std, no copies
    mag /= std
    return mag


def rotation_about_centre(angle_deg: float, width: int, height: int) -> np.ndarray:
    """2×3 matrix rotating by ``angle_deg`` about the image centre (reference → moving)."""
    return cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), angle_deg, 1.0).astype(np.float32)


def warp_to_reference(moving: np.ndarray, matrix: np.ndarray, size: tuple[int, int],
                      border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """Resample ``moving`` into the reference frame (``size`` = (width, height))."""
    return cv2.warpAffine(moving, np.asarray(matrix, np.float32), size,
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)


def alignment_score(reference_map: np.ndarray, moving_map: np.ndarray, matrix: np.ndarray) -> float:
    """NCC of two gradient maps over the pixels the transform keeps inside ``moving``."""
    h, w = reference_map.shape
    warped = warp_to_reference(moving_map, matrix, (w, h), border=cv2.BORDER_CONSTANT)
    valid = warp_to_reference(np.ones_like(moving_map), matrix, (w, h), border=cv2.BORDER_CONSTANT) > 0.999
    if valid.sum() < 16:
        return -1.0
    a = reference_map[valid] - reference_map[valid].mean()
    b = warped[valid] - warped[valid].mean()
    return float((a * b).sum() / max(math.sqrt(float((a * a).sum() * (b * b).sum())), 1e-9))


def _coarse(reference_map: np.ndarray, moving_map: np.ndarray, max_shift: int,
            angles: np.ndarray, max_side: int = 96) -> np.ndarray:
    """Best rotation on the grid and integer shift by NCC, on maps reduced to ``max_side``."""
    h, w = reference_map.shape
    scale = min(1.0, max_side / min(h, w))
    if scale < 1.0:
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        reference_map = cv2.resize(reference_map, size, interpolation=cv2.INTER_AREA)
        moving_map = cv2.resize(moving_map, size, interpolation=cv2.INTER_AREA)
        h, w = reference_map.shape
        max_shift = max(1, int(math.ceil(max_shift * scale)))
    best, best_score = np.eye(2, 3, dtype=np.float32), -np.inf
    for angle in angles:
        rot = rotation_about_centre(float(angle), w, h)
        rotated = warp_to_reference(moving_map, rot, (w, h), border=cv2.BORDER_REFLECT)
        inner = rotated[max_shift:h - max_shift, max_shift:w - max_shift]
        result = cv2.matchTemplate(reference_map, inner, cv2.TM_CCOEFF_NORMED)
        _, score, _, (u, v) = cv2.minMaxLoc(result)
        if score > best_score:
            d = np.array([max_shift - u, max_shift - v], np.float32)
            matrix = rot.copy()
            matrix[:, 2] += rot[:, :2] @ d
            best, best_score = matrix, score
    best[:, 2] /= scale  # back to full-resolution pixels (ECC refines the rest)
    return best


def register(
    moving: np.ndarray,
    reference: np.ndarray,
    max_shift_px: float = 8,
    max_rotation_deg: float = 3.0,
    rotation_step_deg: float = 1.0,
    ecc_iterations: int = 60,
    min_gain: float = 0.01,
    ecc_max_side: int | None = None,
) -> tuple[np.ndarray, Registration]:
    """Align ``moving`` (edited output) to ``reference`` (input crop), same size.

    Returns the aligned image (borders replicated) and the recovered :class:`Registration`.
    ``ecc_max_side`` runs the ECC refinement on gradient maps reduced to that shorter side (a
    640² line-scan crop at 320: a quarter of the pixels, sub-pixel all the same); None: full size.
    """
    moving = np.asarray(moving)
    reference = np.asarray(reference)
    if moving.shape[:2] != reference.shape[:2]:
        raise RegistrationError(
            f"edited output is {moving.shape[1]}x{moving.shape[0]} but the crop is "
            f"{reference.shape[1]}x{reference.shape[0]}; resize the output to the crop first"
        )
    h, w = reference.shape[:2]
    ref_map, mov_map = gradient_map(reference), gradient_map(moving)
    identity = np.eye(2, 3, dtype=np.float32)
    score_identity = alignment_score(ref_map, mov_map, identity)
    candidates = [("identity", identity, score_identity)]

    max_shift = int(min(round(max_shift_px), (min(h, w) - 8) // 4))
    # a transform is kept only when it beats doing nothing by min_gain, and no score (an NCC) is
    # above 1: when doing nothing already scores within min_gain of 1 the search cannot change
    # the outcome, and is not run (an edit that kept the geometry, e.g. the classical restyle)
    searched = score_identity + min_gain <= 1.0 + NCC_ROUNDING
    if searched and (max_shift >= 1 or max_rotation_deg > 0):
        steps = max(int(round(max_rotation_deg / max(rotation_step_deg, 1e-3))), 0)
        angles = np.linspace(-max_rotation_deg, max_rotation_deg, 2 * steps + 1) if steps else np.zeros(1)
        coarse = _coarse(ref_map, mov_map, max(max_shift, 0), angles)
        candidates.append(("coarse", coarse, alignment_score(ref_map, mov_map, coarse)))
        scale = min(1.0, ecc_max_side / min(h, w)) if ecc_max_side else 1.0
        ecc_ref, ecc_mov = ref_map, mov_map
        if scale < 1.0:
            size = (max(8, round(w * scale)), max(8, round(h * scale)))
            ecc_ref = cv2.resize(ref_map, size, interpolation=cv2.INTER_AREA)
            ecc_mov = cv2.resize(mov_map, size, interpolation=cv2.INTER_AREA)
        try:
            _, ecc = cv2.findTransformECC(
                ecc_ref, ecc_mov, _rescale(coarse, scale), cv2.MOTION_EUCLIDEAN,
                (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ecc_iterations, 1e-5), None, 1,
            )
            ecc = _rescale(ecc, 1.0 / scale)
        except cv2.error:
            ecc = None
        if ecc is not None and _within(ecc, w, h, max_shift_px, max_rotation_deg):
            candidates.append(("ecc", ecc.astype(np.float32), alignment_score(ref_map, mov_map, ecc)))

    method, matrix, score = max(candidates, key=lambda c: c[2])
    if method != "identity" and score < score_identity + min_gain:
        method, matrix, score = candidates[0]
    aligned = moving if method == "identity" else warp_to_reference(moving, matrix, (w, h))
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0], np.float32)
    shift = matrix @ centre - centre[:2]
    record = Registration(
        matrix=[[round(float(v), 6) for v in row] for row in matrix],
        shift_x=round(float(shift[0]), 3) + 0.0,
        shift_y=round(float(shift[1]), 3) + 0.0,
        rotation_deg=round(math.degrees(math.atan2(-float(matrix[1, 0]), float(matrix[0, 0]))), 3) + 0.0,
        score=round(float(score), 4),
        score_identity=round(float(score_identity), 4),
        method=method,
    )
    return aligned, record


def _rescale(matrix: np.ndarray, scale: float) -> np.ndarray:
    """The same rigid motion on images resized by ``scale`` (pixel centres at ``(i + 0.5)·scale - 0.5``)."""
    out = np.asarray(matrix, np.float32).copy()
    if scale == 1.0:
        return out
    c = np.full(2, 0.5 - 0.5 * scale, np.float32)
    out[:, 2] = scale * out[:, 2] + (out[:, :2] - np.eye(2, dtype=np.float32)) @ c
    return out


def _within(matrix: np.ndarray, w: int, h: int, max_shift_px: float, max_rotation_deg: float) -> bool:
    """ECC may wander off on flat images: keep it inside the searched range (with slack)."""
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0], np.float32)
    shift = matrix @ centre - centre[:2]
    angle = abs(math.degrees(math.atan2(float(matrix[1, 0]), float(matrix[0, 0]))))
    return bool(np.all(np.abs(shift) <= max_shift_px + 1.5) and angle <= max_rotation_deg + 0.5)
