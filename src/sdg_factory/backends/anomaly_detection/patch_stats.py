"""The embedded default: an aligned patch-statistics detector (no weights, CPU, milliseconds).

Good ROIs of one material are roughly aligned crops of the same kind of part. Each image is
resized to a ``grid × grid`` lattice; every lattice position gets a small feature vector —
CIE L*a*b* colour and the gradient magnitude of L*, smoothed over a patch (``patch_sigma``).
Fitting keeps, per position, the mean vector and a covariance shrunk toward the covariance
pooled over all positions (``shrinkage`` pseudo-images; few good images are enough). The
anomaly map is the Mahalanobis distance to those statistics divided by √C (≈ 1 on normal
pixels), taking the best match within ``shift`` lattice positions to tolerate small
misalignment, lightly smoothed and resized back to the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from sdg_factory.backends.anomaly_detection.base import as_rgb


def patch_features(image: np.ndarray, grid: int, patch_sigma: float) -> np.ndarray:
    """``grid×grid×4`` features: L*, a*, b*, |∇L*| of the image resized to the lattice."""
    rgb = cv2.resize(as_rgb(image), (grid, grid), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    gx = cv2.Sobel(lab[:, :, 0], cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lab[:, :, 0], cv2.CV_32F, 0, 1, ksize=3)
    feats = np.dstack([lab, np.sqrt(gx * gx + gy * gy) / 4.0])
    if patch_sigma > 0:
        feats = cv2.GaussianBlur(feats, (0, 0), patch_sigma, borderType=cv2.BORDER_REFLECT)
    return feats.astype(np.float64)


@dataclass
class PatchStatsDetector:
    """See the module docstring. All lengths are in lattice positions."""

    grid: int = 64
    patch_sigma: float = 1.0
    shift: int = 1
    shrinkage: float = 4.0
    ridge: float = 1e-2
    map_sigma: float = 1.0
    name: str = field(default="patch_stats", init=False)
    mean_: np.ndarray | None = field(default=None, init=False, repr=False)
    precision_: np.ndarray | None = field(default=None, init=False, repr=False)
    n_fit_: int = field(default=0, init=False)

    def fit(self, images: Sequence[np.ndarray]) -> PatchStatsDetector:
        images = list(images)
        if not images:
            raise ValueError("patch_stats: no good images to fit on; the material needs at least one good ROI")
        feats = np.stack([patch_features(im, self.grid, self.patch_sigma) for im in images])
        n, c = feats.shape[0], feats.shape[-1]
        mean = feats.mean(axis=0)
        centred = feats - mean
        dof = max(n - 1, 0)
        cov = np.einsum("nhwc,nhwd->hwcd", centred, centred) / max(dof, 1)
        pooled = cov.mean(axis=(0, 1)) if dof else np.diag(np.maximum(feats.reshape(-1, c).var(axis=0), 1.0))
        cov = (dof * cov + self.shrinkage * pooled) / (dof + self.shrinkage)
        cov += np.eye(c) * (self.ridge * np.trace(pooled) / c + 1e-6)
        self.mean_, self.precision_, self.n_fit_ = mean, np.linalg.inv(cov), n
        return self

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.anomaly_map(im) for im in images]

    # saved detectors (backends.anomaly_detection.base.detector_state): settings + plain arrays
    def settings(self) -> dict:
        return {"grid": int(self.grid), "patch_sigma": float(self.patch_sigma), "shift": int(self.shift),
                "shrinkage": float(self.shrinkage), "ridge": float(self.ridge), "map_sigma": float(self.map_sigma)}

    def state_arrays(self) -> dict[str, np.ndarray]:
        if self.mean_ is None:
            raise RuntimeError("patch_stats: call fit() on good images before saving the detector")
        return {"mean": self.mean_, "precision": self.precision_, "n_fit": np.array(self.n_fit_, np.int64)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> PatchStatsDetector:
        g = self.grid
        mean, precision = np.asarray(arrays["mean"], np.float64), np.asarray(arrays["precision"], np.float64)
        if mean.shape != (g, g, 4) or precision.shape != (g, g, 4, 4):
            raise ValueError(f"saved patch_stats arrays have shapes {mean.shape} / {precision.shape}, "
                             f"not those of grid {g}; the saved model file does not match its settings")
        self.mean_, self.precision_, self.n_fit_ = mean, precision, int(arrays["n_fit"])
        return self

    def anomaly_map(self, image: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("patch_stats: call fit() on good images before asking for anomaly maps")
        h, w = np.asarray(image).shape[:2]
        f = patch_features(image, self.grid, self.patch_sigma)
        c, s, g = f.shape[-1], int(self.shift), self.grid
        mean = np.pad(self.mean_, ((s, s), (s, s), (0, 0)), mode="edge")
        prec = np.pad(self.precision_, ((s, s), (s, s), (0, 0), (0, 0)), mode="edge")
        best = np.full((g, g), np.inf)
        for dy in range(2 * s + 1):
            for dx in range(2 * s + 1):
                d = f - mean[dy:dy + g, dx:dx + g]
                m2 = np.einsum("hwc,hwcd,hwd->hw", d, prec[dy:dy + g, dx:dx + g], d)
                np.minimum(best, m2, out=best)
        amap = np.sqrt(np.maximum(best, 0.0) / c).astype(np.float32)
        if self.map_sigma > 0:
            amap = cv2.GaussianBlur(amap, (0, 0), self.map_sigma, borderType=cv2.BORDER_REFLECT)
        return cv2.resize(amap, (w, h), interpolation=cv2.INTER_LINEAR)
