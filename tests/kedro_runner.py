"""Run a registered pipeline in-process, with relative outputs below a chosen folder.

Kedro resolves the catalog's relative paths (``data/dig``) against the working directory,
so a test chdirs into a temporary folder and runs the real project configuration there.
Also usable as a script (for tests that must kill a run): ``python -m tests.kedro_runner
--cwd DIR --pipeline NAME --env smoke --params k=v,k2=v2``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_pipeline(pipeline: str = "__default__", env: str | None = "smoke",
                 params: dict[str, Any] | None = None, cwd: str | Path | None = None) -> dict:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        bootstrap_project(PROJECT_ROOT)
        with KedroSession.create(project_path=PROJECT_ROOT, env=env, runtime_params=params or {}) as session:
            return session.run(pipeline_names=[pipeline])
    finally:
        os.chdir(old)


def _parse_params(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--pipeline", default="__default__")
    parser.add_argument("--env", default="smoke")
    parser.add_argument("--params", default="")
    args = parser.parse_args()
    run_pipeline(args.pipeline, args.env, _parse_params(args.params), args.cwd)
