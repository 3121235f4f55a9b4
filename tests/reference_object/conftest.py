"""Shared fixtures: one smoke run of the reference-object pipeline for the whole module set."""

from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.kedro_runner import PROJECT_ROOT, run_pipeline

SAMPLES = PROJECT_ROOT / "src" / "sdg_factory" / "pipelines" / "reference_object" / "samples"


def run_dir(cwd: Path, run_name: str) -> Path:
    """A run's output folder (the test runner points ``dig_url_root`` at ``<cwd>/data/dig``)."""
    candidate = Path(cwd) / "data" / "dig" / "runs" / run_name
    assert candidate.is_dir(), f"no outputs for run {run_name!r} in {candidate}"
    return candidate


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} does not decode"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert image is not None, f"{path} does not decode"
    return image


@pytest.fixture(scope="session")
def sample_image() -> np.ndarray:
    return read_rgb(SAMPLES / "toy_robot.png")


@pytest.fixture(scope="session")
def sample_mask() -> np.ndarray:
    return read_gray(SAMPLES / "toy_robot_mask.png")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """The whole pipeline on the shipped sample, smoke sizes; yields the run folder."""
    cwd = tmp_path_factory.mktemp("refobj")
    name = f"test-refobj-{uuid.uuid4().hex[:8]}"
    run_pipeline("reference_object", env="smoke", params={"run_name": name}, cwd=cwd)
    return run_dir(cwd, name)
