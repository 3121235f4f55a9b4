"""Shared fixtures: an offline environment and a way to run pipelines into a temporary folder."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# content hashes of input files are cached per user; tests keep theirs apart
os.environ.setdefault("SDG_FACTORY_CACHE", os.path.join(tempfile.gettempdir(), "sdg-factory-tests-cache"))
# diffusers copies local custom-pipeline code (the tiny Zero123++ stand-in) into this cache:
# keep it out of the user's ~/.cache
os.environ.setdefault("HF_MODULES_CACHE", os.path.join(tempfile.gettempdir(), "sdg-factory-tests-hf-modules"))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.kedro_runner import PROJECT_ROOT, run_pipeline  # noqa: E402,F401


@pytest.fixture
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A fresh working directory: relative catalog paths (``data/dig``) resolve below it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
