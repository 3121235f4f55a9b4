"""Shared runs for the texture-defect tests: pcba_setup once, then texture_defect_day0 on both
demo boards (passive components and ICs) in one folder."""

from __future__ import annotations

import json

import pytest

from tests.kedro_runner import run_pipeline

DEFAULT_TEXT = "IC:bridge;passive_component:excess_solder;passive_component:missing"
ALL_ENTRIES = [[m, d] for m in ("IC", "passive_component")
               for d in ("bridge", "excess_solder", "missing", "scratch", "discoloration")]


@pytest.fixture(scope="session")
def texture_runs(tmp_path_factory):
    """``{run_name: run folder}``: ``passive`` (board 0603_H100, every entry given as JSON text, as
    the document passes it), ``ic`` (board 1152819000, the IC entries and the default taxonomy
    in the comma-free command-line form) and ``default`` (the default board and taxonomy, as a
    new user runs it). Both boards mix ICs and passives."""
    cwd = tmp_path_factory.mktemp("texture")
    run_pipeline("pcba_setup", env="smoke", cwd=cwd)
    run_pipeline("texture_defect_day0", env="smoke", cwd=cwd,
                 params={"run_name": "passive", "anomaly_types_json": json.dumps(ALL_ENTRIES)})
    run_pipeline("texture_defect_day0", env="smoke", cwd=cwd,
                 params={"run_name": "ic", "board": "1152819000", "anomaly_types_json": "IC:excess_solder;"
                         "IC:missing;IC:scratch;IC:discoloration;" + DEFAULT_TEXT})
    run_pipeline("texture_defect_day0", env="smoke", cwd=cwd, params={"run_name": "default"})
    dig = cwd / "data" / "dig"
    return {"passive": dig / "runs" / "passive", "ic": dig / "runs" / "ic", "default": dig / "runs" / "default",
            "dig": dig, "cwd": cwd}
