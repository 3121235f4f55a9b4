"""Run a registered pipeline in-process against a copy of the project's configuration.

Kedro resolves relative catalog paths against the project folder, so a test copies
``conf/`` into its own folder, points ``dig_url_root`` (and ``model_root``) there, and runs
the real project configuration with ``conf_source`` set to the copy. Outputs land in
``<cwd>/data/dig``. Also usable as a script, for tests that must kill a run:
``python -m tests.kedro_runner --cwd DIR --pipeline NAME --env smoke --params k=v,k2=v2``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _ignore_local_secrets(folder: str, names: list[str]) -> list[str]:
    """The user's own ``conf/local/credentials*.yml`` never reaches a test; the committed
    ``conf/cloud/credentials.yml`` (environment-variable references only) does."""
    if Path(folder).name != "local":
        return []
    return [name for name in names if name.startswith("credentials")]


def prepare_conf(cwd: str | Path) -> Path:
    """Copy ``conf/`` below ``cwd`` (once) with the roots pointing inside ``cwd``.

    Only ``conf/base/globals.yml`` is rewritten, so an environment that sets its own
    ``dig_url_root`` (``conf/cloud/globals.yml``: ``s3://…``) still wins over it."""
    cwd = Path(cwd).resolve()
    conf = cwd / "conf"
    if not conf.exists():
        shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=_ignore_local_secrets)
        globals_file = conf / "base" / "globals.yml"
        doc = yaml.safe_load(globals_file.read_text())
        doc["dig_url_root"] = str(cwd / "data" / "dig")
        doc["model_root"] = str(cwd / "data" / "models")
        globals_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    return conf


def project_copy(cwd: str | Path) -> Path:
    """A runnable copy of the project below ``cwd`` (``pyproject.toml``, ``src/``, ``conf/`` as
    :func:`prepare_conf` makes it), for tools that find the project from their working folder
    (``kedro viz``, a notebook's ``bootstrap_project``)."""
    project = Path(cwd).resolve()
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project)
    if not (project / "src").exists():
        shutil.copytree(PROJECT_ROOT / "src", project / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    prepare_conf(project)
    return project


def run_pipeline(pipeline: str = "__default__", env: str | None = "smoke",
                 params: dict[str, Any] | None = None, cwd: str | Path | None = None) -> dict:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    conf = prepare_conf(cwd) if cwd is not None else PROJECT_ROOT / "conf"
    with KedroSession.create(project_path=PROJECT_ROOT, env=env, runtime_params=params or {},
                             conf_source=str(conf)) as session:
        return session.run(pipeline_names=[pipeline])


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
