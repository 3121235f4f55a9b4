"""A detector whose fitted model is not saved (pyimgano's pickles) is fitted once per run: the nodes
after prepare_detector reuse its fit instead of fitting again each."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.backends.accelerator import unload_models
from sdg_factory.backends.anomaly_detection.base import ANOMALY_DETECTORS
from sdg_factory.pipelines.defects_infer import nodes

FITS: list[int] = []


class _Unsaved:
    """Learns the mean good image; like pyimgano it has no ``state_arrays`` (nothing to save)."""

    name = backend = "unsaved_for_test"

    def __init__(self, offset: float = 0.0) -> None:
        self.offset, self.mean = offset, None

    def settings(self) -> dict:
        return {"offset": self.offset}

    def fit(self, images):
        FITS.append(len(images))
        self.mean = np.mean([im.astype(np.float32) for im in images], axis=0)
        return self

    def anomaly_maps(self, images):
        return [np.abs(im.astype(np.float32) - self.mean).mean(axis=2) + self.offset for im in images]


@pytest.fixture
def unsaved_backend():
    ANOMALY_DETECTORS.register("unsaved_for_test")(_Unsaved)
    FITS.clear()
    yield
    ANOMALY_DETECTORS.unregister("unsaved_for_test")
    unload_models("run")


def _calibration(n: int = 5) -> dict:
    images = np.random.default_rng(0).integers(0, 255, (n, 8, 8, 3), dtype=np.uint8)
    good = {f"g{i}": (lambda im=im: im) for i, im in enumerate(images)}
    return {"root": "/calib", "good": good, "images": {}, "golden": {}, "boxes": {}, "masks": {}, "problems": []}


def test_unsaved_detector_is_fitted_once_per_run(unsaved_backend):
    params = {"detector": "unsaved_for_test", "detectors": {"unsaved_for_test": {"offset": 0.5}},
              "holdout_fraction": 0.4}
    calibration = _calibration()
    state, split, failures = nodes.prepare_detector(params, None, calibration, 7)
    assert not state["fitted_state_saved"] and failures == [] and len(FITS) == 1
    first = nodes.detector_from(state, calibration, split)
    second = nodes.detector_from(state, calibration, split)
    assert first is second and len(FITS) == 1  # prepare_detector's fit, reused
    assert first.mean.shape == (8, 8, 3) and first.offset == 0.5

    unload_models("run")  # the next run (or a re-run of the nodes after a skipped fit) fits again, once
    again = nodes.detector_from(state, calibration, split)
    nodes.detector_from(state, calibration, split)
    assert len(FITS) == 2 and FITS[1] == len(split["fit"]) == 3
    np.testing.assert_array_equal(again.mean, first.mean)
