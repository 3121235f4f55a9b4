"""The anomaly-detector interface, its registry, and the image score of a map.

A detector is fitted on images of good parts and then returns, for each image, an anomaly
map: ``float32``, the image's own ``H×W``, higher = more anomalous. Images are RGB ``uint8``
arrays (an alpha channel is dropped, gray is expanded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.registry import Registry


@runtime_checkable
class AnomalyDetector(Protocol):
    name: str

    def fit(self, images: Sequence[np.ndarray]) -> AnomalyDetector:
        """Learn what good looks like from images of good parts."""

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One ``float32`` map per image, at that image's height and width."""


ANOMALY_DETECTORS: Registry[AnomalyDetector] = Registry("anomaly-detection", {
    "patch_stats": "sdg_factory.backends.anomaly_detection.patch_stats:PatchStatsDetector",
    "golden_template": "sdg_factory.backends.anomaly_detection.golden_template:GoldenTemplateDetector",
    "pyimgano": "sdg_factory.backends.anomaly_detection.pyimgano_adapter:PyImgAnoDetector",
}, parameter="anomaly_detection.detector.backend", section="anomaly_detection.detector.{name}")


def build_anomaly_detector(config: dict[str, Any]) -> AnomalyDetector:
    """Build the backend named by ``config['backend']`` (default ``patch_stats``) with the rest.

    Settings may be flat (``{"backend": "patch_stats", "grid": 32}``) or in one section per
    backend (``{"backend": "pyimgano", "patch_stats": {...}, "pyimgano": {"model": ...}}``): only
    the chosen backend's section is used, so switching ``backend`` in an environment or with
    ``--params`` does not hand the other backend's settings to this one. Keys are checked.
    """
    name, settings = ANOMALY_DETECTORS.split(config, "patch_stats")
    settings = ANOMALY_DETECTORS.check(name, settings)
    try:
        return ANOMALY_DETECTORS.factory(name)(**settings)
    except TypeError as exc:
        raise ValueError(f"anomaly-detection backend {name!r}: bad settings {settings} ({exc}); fix "
                         "anomaly_detection.detector in parameters_anomaly_detection.yml") from exc


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An ``H×W×3`` ``uint8`` view of an RGB, RGBA or gray image (16-bit scaled to 8-bit)."""
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 or uint16 image, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return image[:, :, :3]
    raise ValueError(f"expected an H×W, H×W×3 or H×W×4 image, got shape {image.shape}")


def needs_fit(detector: AnomalyDetector) -> bool:
    """Whether the detector learns from good images (``golden_template`` does not)."""
    return bool(getattr(detector, "needs_fit", True))


def needs_golden(detector: AnomalyDetector) -> bool:
    """Whether ``anomaly_maps`` takes a golden reference per image."""
    return bool(getattr(detector, "needs_golden", False))


# --- saved detectors: settings + arrays (npz / JSON), never a pickle ----------------------------
def detector_state(detector: AnomalyDetector) -> dict[str, Any]:
    """What reproduces a fitted detector: ``{"backend", "settings", "arrays", "fitted_state_saved",
    "algorithm_version", "code_version", "sha256"}``. ``arrays`` are plain numeric numpy arrays
    (saved as ``.npz``); ``sha256`` digests the rest, so an ``infer_config.json`` names exactly
    this state. A backend without ``state_arrays()`` (pyimgano: its models are pickles) keeps
    only its settings, ``fitted_state_saved`` false: it cannot be reloaded without refitting."""
    import sdg_factory

    savable = callable(getattr(detector, "state_arrays", None))
    settings = detector.settings() if callable(getattr(detector, "settings", None)) else {}
    state = {
        "backend": str(getattr(detector, "backend", detector.name)),
        "settings": settings,
        "arrays": {k: np.asarray(v) for k, v in detector.state_arrays().items()} if savable else {},
        "fitted_state_saved": savable,
        "algorithm_version": int(getattr(detector, "algorithm_version", 1)),
        "code_version": sdg_factory.__version__,
    }
    state["sha256"] = state_digest(state)
    return state


def state_digest(state: dict[str, Any]) -> str:
    """sha256 of a detector state's backend, settings, algorithm version and arrays."""
    import hashlib
    import json

    h = hashlib.sha256()
    head = {k: state.get(k) for k in ("backend", "settings", "algorithm_version", "fitted_state_saved")}
    h.update(json.dumps(head, sort_keys=True).encode())
    for name in sorted(state["arrays"]):
        arr = np.asarray(state["arrays"][name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def detector_from_state(state: dict[str, Any]) -> AnomalyDetector:
    """Rebuild a saved detector (its settings and fitted arrays) without refitting."""
    detector = build_anomaly_detector({"backend": state["backend"], **dict(state.get("settings") or {})})
    if not state.get("fitted_state_saved", True) and needs_fit(detector):
        raise ValueError(f"the saved {state['backend']!r} detector holds its settings only (its fitted model is "
                         "not saved: it would be a pickle); re-run defects_infer with calib_dir to fit it again")
    saved, current = int(state.get("algorithm_version", 1)), int(getattr(detector, "algorithm_version", 1))
    if saved != current:
        raise ValueError(f"saved detector {state['backend']!r} was made by algorithm version {saved}, this code "
                         f"runs version {current}; re-run defects_infer with calib_dir to fit and calibrate again")
    return detector.load_state_arrays(dict(state.get("arrays") or {}))


def image_score(anomaly_map: np.ndarray, top_fraction: float = 0.01) -> float:
    """Image-level score of a map: the mean of its highest ``top_fraction`` of finite pixels.

    ``top_fraction`` of 0 (or one pixel's worth) is the maximum; it is robust to a single hot
    pixel for larger fractions.
    """
    values = np.asarray(anomaly_map, dtype=np.float32).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan")
    k = min(values.size, max(1, int(np.ceil(float(top_fraction) * values.size))))
    return float(np.partition(values, values.size - k)[values.size - k:].mean(dtype=np.float64))
