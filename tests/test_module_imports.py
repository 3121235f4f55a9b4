"""Every pipeline's module imports on its own, as the first import of a fresh interpreter.

A circular import between two pipelines only shows when one of them is imported first (a user's
notebook, ``python -m``, or a single test file), never in a suite that imported the registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src/sdg_factory/pipelines"
PIPELINES = sorted(p.parent.name for p in PACKAGE.glob("*/pipeline.py"))


def test_the_pipelines_are_found():
    assert {"anomaly_detection", "defects_export", "defects_infer", "good_image"} <= set(PIPELINES)


@pytest.mark.parametrize("module", ["pipeline", "nodes"])
def test_each_pipeline_module_imports_first_in_a_fresh_interpreter(module):
    src = str(Path(__file__).parents[1] / "src")
    procs = {name: subprocess.Popen([sys.executable, "-c", f"import sdg_factory.pipelines.{name}.{module}"],
                                    env={"PYTHONPATH": src, "KEDRO_DISABLE_TELEMETRY": "1", "PATH": ""},
                                    stderr=subprocess.PIPE, text=True)
             for name in PIPELINES if (Path(src) / f"sdg_factory/pipelines/{name}/{module}.py").exists()}
    failures = {name: p.communicate(timeout=300)[1].strip().splitlines()[-1:] for name, p in procs.items()}
    assert {name: err for name, err in failures.items() if procs[name].returncode} == {}
