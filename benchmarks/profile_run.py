"""One profiled ``kedro run`` in this process; the child process of ``bench_profile``.

Usage: ``python -m benchmarks.profile_run PROJECT_COPY OUT.json [PIPELINE]``.

Measures, as a user's ``kedro run`` pays them: the imports and project bootstrap, the session,
the catalog and pipeline registry, the project's ``before_pipeline_run`` hooks, then every node
(wall, CPU of this process and of the worker processes it reaped, loads, saves, and the files it
wrote under the run's folder), then ``after_pipeline_run``. The node timer is a Kedro hook
registered here only: the product's ``settings.HOOKS`` are untouched.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from kedro.framework.hooks import hook_impl  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU of this process and of every child it has reaped (pool workers are
    reaped when a save's pool shuts down, so a node's workers count in that node)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """``{path: (size, mtime_ns)}`` of every file below ``root``."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            try:
                st = os.stat(path)
            except FileNotFoundError:  # a temporary renamed meanwhile
                continue
            out[path] = (st.st_size, st.st_mtime_ns)
    return out


class NodeTimer:
    """before/after node and dataset hooks that time each node (loads, eager call, saves)."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root
        self.nodes: list[dict] = []
        self.marks: dict[str, float] = {}
        self._files = snapshot(data_root)
        self._current: dict | None = None
        self.first_start = 0.0
        self._t = 0.0

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        self.marks["before_pipeline_run"] = time.perf_counter()

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        self._start_node(node)
        self._t = time.perf_counter()

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        self._current["load_s"] += time.perf_counter() - self._t

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):
        self._start_node(node)
        self._current["call_start"] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):
        self._current["call_s"] = time.perf_counter() - self._current.pop("call_start")

    @hook_impl
    def before_dataset_saved(self, dataset_name, data, node):
        self._t = time.perf_counter()

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        self._current["save_s"] += time.perf_counter() - self._t

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        self._finish_node()
        self.marks["after_pipeline_run"] = time.perf_counter()

    def _start_node(self, node) -> None:
        if self._current is not None and self._current["node"] == node.name:
            return
        self._finish_node()
        now = time.perf_counter()
        self.first_start = self.first_start or now
        self._current = {"node": node.name, "start": now, "cpu0": cpu_seconds(),
                         "load_s": 0.0, "call_s": 0.0, "save_s": 0.0}

    def _finish_node(self) -> None:
        """Close the running node at the next node's first hook (or the pipeline's end), so its
        wall includes the project's own after-node and dataset hooks (fingerprints, manifests)."""
        node, self._current = self._current, None
        if node is None:
            return
        node["wall_s"] = time.perf_counter() - node.pop("start")
        node["cpu_s"] = cpu_seconds() - node.pop("cpu0")
        files = snapshot(self.data_root)
        written = {p: v for p, v in files.items() if self._files.get(p) != v}
        self._files = files
        node["files"] = sorted(os.path.relpath(p, self.data_root) for p in written)
        node["bytes"] = sum(size for size, _ in written.values())
        # high-water marks so far (ru_maxrss never falls): the node where one rises is the one that made it
        node["maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        node["maxrss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        self.nodes.append(node)


def main(project: str, out: str, pipeline: str = "__default__") -> None:
    project_path = Path(project)
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    t_imports = time.perf_counter()
    bootstrap_project(project_path)
    import kedro.framework.context.context as kedro_context

    t_bootstrap = time.perf_counter()
    catalog_s = []
    original = kedro_context.KedroContext._get_catalog

    def timed_catalog(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            catalog_s.append(time.perf_counter() - start)

    kedro_context.KedroContext._get_catalog = timed_catalog
    timer = NodeTimer(project_path / "data")
    cpu_start = cpu_seconds()
    with KedroSession.create(project_path=project_path, env=None) as session:
        t_session = time.perf_counter()
        session._hook_manager.register(timer)
        session.run(pipeline_names=[pipeline])
        t_run = time.perf_counter()
    t_end = time.perf_counter()
    pipelines = {}
    from kedro.framework.project import pipelines as registry

    for name in registry.keys():
        if name == "__default__":
            continue
        for node in registry[name].nodes:
            pipelines.setdefault(node.name, []).append(name)
    result = {
        "phases": {
            "imports (kedro, interpreter warm)": t_imports - T0,
            "bootstrap_project (settings, hooks' imports)": t_bootstrap - t_imports,
            "KedroSession.create": t_session - t_bootstrap,
            "context, catalog and pipeline registry": timer.marks["before_pipeline_run"] - t_session,
            "of which catalog (KedroContext._get_catalog)": sum(catalog_s),
            "before_pipeline_run hooks, runner start-up": timer.first_start - timer.marks["before_pipeline_run"],
            "after_pipeline_run hooks, session close": t_end - timer.marks["after_pipeline_run"],
        },
        "nodes": timer.nodes,
        "pipelines_of": pipelines,
        "cpu_s": cpu_seconds() - cpu_start,
        # the largest process of this run: this one or a pool worker it reaped (ru_maxrss is in KiB)
        "peak_rss_mb": max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024,
        "wall_s": t_end - T0,
        "run_s": t_run - t_session,
    }
    Path(out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
