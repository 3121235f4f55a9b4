"""Sizes for generative edits: small crops go up to the model's working size and come back.

Image-edit models work at hundreds of pixels per side; an ROI crop is often a few dozen. The
crop is upscaled (aspect kept, each side a multiple of ``multiple_of``) before the call and
the model's answer is resized to the crop size after it, once :func:`answer_size_problem` has
checked that it has the aspect ratio asked for (an HTTP answer of another shape is refused).
"""

from __future__ import annotations

import cv2
import numpy as np


def model_size(width: int, height: int, min_side: int = 512, max_side: int = 1024,
               multiple_of: int = 16) -> tuple[int, int]:
    """The ``(width, height)`` to send: shortest side ≥ ``min_side``, longest ≤ ``max_side``."""
    scale = max(min_side / min(width, height), 1.0)
    scale = min(scale, max_side / max(width, height)) if max(width, height) * scale > max_side else scale
    m = max(int(multiple_of), 1)
    return (max(m, int(round(width * scale / m)) * m), max(m, int(round(height * scale / m)) * m))


class ModelSizedEditor:
    """What every model-backed editor (HTTP routes, diffusers) takes alike: the ``model`` it names
    and the size it sends an image at (:func:`model_size`'s ``min_side``, ``max_side``,
    ``multiple_of``). A backend's ``__init__`` passes these keys on (``**shared``)."""

    def __init__(self, model: str = "", min_side: int = 512, max_side: int = 1024, multiple_of: int = 16) -> None:
        self.model = model
        self.sizing = {"min_side": min_side, "max_side": max_side, "multiple_of": multiple_of}

    def model_size(self, image: np.ndarray) -> tuple[int, int]:
        """The ``(width, height)`` ``image`` is sent at."""
        return model_size(image.shape[1], image.shape[0], **self.sizing)


def to_model_size(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` (cubic when enlarging, area when shrinking)."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    enlarge = size[0] * size[1] > image.shape[0] * image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC if enlarge else cv2.INTER_AREA)


def back_to_crop(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The model's answer at the crop's size and channel count (alpha taken from ``like``)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    image = to_model_size(np.ascontiguousarray(image[..., :3]), (like.shape[1], like.shape[0]))
    if like.ndim == 3 and like.shape[2] == 4:
        image = np.dstack([image, like[..., 3]])
    return image


ASPECT_TOLERANCE = 0.05  # relative difference of width/height ratios an answer may have
MIN_ANSWER_SCALE = 0.25  # an answer smaller than a quarter of the asked size per side is refused


def answer_size_problem(got: tuple[int, int], expected: tuple[int, int],
                        min_scale: float = MIN_ANSWER_SCALE) -> str | None:
    """Why an answer image of ``got`` ``(width, height)`` cannot stand for a request of
    ``expected`` (another aspect ratio: the edit would come back distorted; far smaller: it
    would come back blurred; ``min_scale=0`` skips that check), or ``None`` when it can (it is
    then resized as usual)."""
    (gw, gh), (ew, eh) = got, expected
    if min(gw, gh, ew, eh) <= 0:
        return f"the answer image is {gw}x{gh}"
    ratio = (gw / gh) / (ew / eh)
    if abs(ratio - 1.0) > ASPECT_TOLERANCE:
        return (f"the answer image is {gw}x{gh} for a {ew}x{eh} request: another aspect ratio "
                f"(more than {ASPECT_TOLERANCE:.0%} off), so it would be distorted")
    if gw < ew * min_scale or gh < eh * min_scale:
        return (f"the answer image is {gw}x{gh} for a {ew}x{eh} request: less than "
                f"{min_scale:.0%} of the size asked for")
    return None


def parse_size(text: str | None) -> tuple[int, int] | None:
    """``"1024x768"`` → ``(1024, 768)``; anything else (``None``, ``"auto"``) → ``None``."""
    width, sep, height = str(text or "").lower().partition("x")
    return (int(width), int(height)) if sep and width.isdigit() and height.isdigit() else None
