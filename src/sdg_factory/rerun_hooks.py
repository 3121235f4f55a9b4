"""Hooks that make a re-run right: fingerprints bound to every node's outputs, execution modes.

Before a node runs, :class:`FingerprintHooks` computes its fingerprint — the node, its algorithm
version, the resolved parameters it reads and the fingerprints of its inputs — and binds it to
each output dataset that keeps fingerprints; the dataset then skips what matches, recomputes
what differs and removes what the configuration no longer makes (``docs/reruns.md``).

Runtime parameters:

- ``execution_mode``: ``by_name`` (default: the run named ``run_name``), ``new`` (a fresh
  ``YYYYMMDD_HHMMSS`` run), ``last`` (the most recently written run);
- ``recompute``: node names (with or without their namespace), dataset names or namespaces,
  joined by ``+`` (``all`` for every node): their outputs are recomputed even when nothing changed;
- ``start_from_step``: for ``reference_object``, steps N… recompute even when nothing changed.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import uuid
from datetime import datetime
from typing import Any

from kedro.framework.hooks import hook_impl

from sdg_factory.datasets.partitions import check_one_manifest_each
from sdg_factory.fingerprints.context import (
    FRESH_NODES,
    NodeFingerprint,
    node_version,
    parameters_read,
    per_item_arguments,
)
from sdg_factory.fingerprints.context import _unwrap as unwrap
from sdg_factory.fingerprints.hashing import digest, tree_fingerprint
from sdg_factory.provenance import redact

logger = logging.getLogger(__name__)

EXECUTION_MODES = ("by_name", "new", "last")
# run options that limit a run to some nodes of its pipelines
NODE_FILTERS = ("from_nodes", "to_nodes", "node_names", "from_inputs", "to_outputs", "tags", "namespaces")
_STEP = re.compile(r"(?:^|\.)step(\d+)_")


class RerunConfigError(ValueError):
    """A re-run parameter (execution_mode, recompute, start_from_step) has a bad value."""


def _dataset(catalog: Any, name: str) -> Any:
    try:
        return catalog.get(name)
    except Exception:  # noqa: BLE001 - a catalog without this dataset: nothing to fingerprint
        return None


def _function_id(func: Any) -> str:
    inner = unwrap(func)
    return f"{getattr(inner, '__module__', '?')}.{getattr(inner, '__qualname__', type(inner).__name__)}"


def _argument_datasets(node: Any) -> dict[str, str]:
    """``{function argument: dataset name}`` for the node's inputs."""
    import inspect

    raw = node._inputs  # noqa: SLF001 - a list, a str or a dict, as the node was declared
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    names = [raw] if isinstance(raw, str) else list(raw or [])
    try:
        arguments = list(inspect.signature(node.func).parameters)
    except (TypeError, ValueError):
        return {}
    return dict(zip(arguments, names, strict=False))


def _last_run(dig_url_root: str) -> str:
    """The run under ``<dig_url_root>/runs`` written most recently (by its provenance files)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(posixpath.join(str(dig_url_root), "runs"))
    best: tuple[float, str] | None = None
    if fs.exists(root):
        for folder in fs.ls(root, detail=False):
            name = posixpath.basename(folder.rstrip("/"))
            if name.startswith("."):
                continue
            stamps = [info.get("mtime") or 0 for info in fs.find(posixpath.join(folder, "provenance"),
                                                                   detail=True).values()]
            stamp = max(stamps or [fs.info(folder).get("mtime") or 0])
            if hasattr(stamp, "timestamp"):
                stamp = stamp.timestamp()
            if best is None or float(stamp) > best[0]:
                best = (float(stamp), name)
    if best is None:
        raise RerunConfigError("execution_mode=last: there is no run under "
                               f"{posixpath.join(str(dig_url_root), 'runs')} yet; "
                               "run once with a run_name (or execution_mode=new) first")
    return best[1]


def resolve_run_name(mode: str, run_name: str | None, dig_url_root: str, now: datetime | None = None) -> str | None:
    """The run a pipeline writes, from the documents' execution modes."""
    if mode in (None, "", "by_name"):
        return run_name
    if mode == "new":
        return (now or datetime.now()).strftime("%Y%m%d_%H%M%S")
    if mode == "last":
        return _last_run(dig_url_root)
    raise RerunConfigError(f"execution_mode={mode!r} is not one of {list(EXECUTION_MODES)} "
                           "(by_name: the run named run_name; new: a fresh timestamped run; last: the newest run)")


def short_name(node: Any) -> str:
    """A node's name without its namespace (``crop_rois`` for ``pcba.crop.crop_rois``): what
    ``recompute`` also accepts, as before the pipelines had namespaces."""
    return node.name.rsplit(".", 1)[-1]


def forced_names(recompute: Any, start_from_step: Any) -> tuple[set[str], int | None]:
    """What ``recompute`` and ``start_from_step`` force, validated."""
    names: set[str] = set()
    if recompute not in (None, "", False):
        items = recompute if isinstance(recompute, (list, tuple)) else str(recompute).split("+")
        names = {str(item).strip() for item in items if str(item).strip()}
    step = None
    if start_from_step not in (None, ""):
        try:
            step = int(start_from_step)
        except (TypeError, ValueError):
            step = -1
        if step < 1:
            raise RerunConfigError(f"start_from_step={start_from_step!r} must be a step number >= 1 "
                                   "(reference_object steps are 1 … 7)")
    return names, step


def fingerprints_enabled() -> bool:
    """``SDG_FACTORY_FINGERPRINTS=0`` turns fingerprints off (a benchmark's baseline, debugging):
    saves then fall back to keeping the items that exist, whatever made them."""
    return os.environ.get("SDG_FACTORY_FINGERPRINTS", "1").strip().lower() not in ("0", "off", "false", "no")


class FingerprintHooks:
    """Computes each node's fingerprint and binds it to the node's output datasets."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}
        self._content: dict[str, str] = {}  # content fingerprints of datasets read in this run
        self._current: dict[str, NodeFingerprint] = {}
        self._forced: set[str] = set()
        self._from_step: int | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        loader = context.config_loader
        runtime = dict(getattr(loader, "runtime_params", None) or {})
        mode = runtime.get("execution_mode")
        if mode in (None, "", "by_name"):
            return
        root = str(loader["globals"].get("dig_url_root", "data/dig"))
        if "://" not in root and not posixpath.isabs(root):
            root = posixpath.join(str(context.project_path), root)
        name = resolve_run_name(str(mode), runtime.get("run_name"), root)
        logger.info("execution_mode=%s: this run writes run_name=%s", mode, name)
        loader.runtime_params = {**runtime, "run_name": name}
        loader._runtime_params_oc = None  # noqa: SLF001 - the resolver's cache of runtime params
        context._runtime_params = {**(context._runtime_params or {}), "run_name": name}  # noqa: SLF001

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        FRESH_NODES.clear()
        self._memory.clear()
        self._content.clear()
        self._current.clear()
        parameters = catalog.load("parameters") if "parameters" in catalog else {}
        self._forced, self._from_step = forced_names(parameters.get("recompute"), parameters.get("start_from_step"))
        if self._forced:
            logger.info("recompute: forcing %s", sorted(self._forced))
        check_one_manifest_each({name: _dataset(catalog, name) for name in pipeline.all_outputs()})
        if any(run_params.get(key) for key in NODE_FILTERS):
            self._refuse_stale_upstream(pipeline, catalog)

    def _refuse_stale_upstream(self, pipeline: Any, catalog: Any) -> None:
        """A run limited to some nodes (``--from-nodes``, ``--to-nodes``, ``--nodes``, …) must not
        read an input that a node left out of it would now make differently: that input is
        stale (changed parameters or inputs), and the run would silently build on it."""
        from kedro.framework.project import pipelines as registered

        producers: dict[str, Any] = {}
        for name in registered:
            for node in registered[name].nodes:
                for output in node.outputs:
                    producers.setdefault(output, node)
        ran = {node.name for node in pipeline.nodes}
        stale = []
        for name in sorted(pipeline.inputs()):
            producer = producers.get(name)
            dataset = _dataset(catalog, name)
            if producer is None or producer.name in ran or not hasattr(dataset, "made_by"):
                continue
            stored = dataset.made_by().get("fingerprint")
            inputs = {n: catalog.load(n) for n in producer.inputs if n == "parameters" or n.startswith("params:")}
            if stored != self.node_fingerprint(producer, catalog, inputs).whole:
                stale.append(f"{name} (made by {producer.name})")
        if stale:
            raise RerunConfigError(
                f"this run reads {', '.join(stale)}, which the left-out node(s) would now make differently "
                "(their parameters or inputs changed since). Include them, e.g. --from-nodes="
                f"{stale[0].split('made by ')[1].rstrip(')')}, or run the whole pipeline"
            )

    def _is_forced(self, node: Any) -> bool:
        if "all" in self._forced or self._forced & {node.name, short_name(node)} or self._forced & set(node.outputs):
            return True
        if node.namespace and any(node.namespace == f or node.namespace.startswith(f + ".") for f in self._forced):
            return True
        if self._from_step is not None and (node.namespace or "").split(".")[0] == "reference_object":
            match = _STEP.search(node.name)
            return node.name.endswith("pipeline_state") or bool(match and int(match.group(1)) >= self._from_step)
        return False

    def input_fingerprint(self, name: str, catalog: Any) -> str:
        dataset = _dataset(catalog, name)
        if hasattr(dataset, "content_fingerprint"):
            # an input read by several nodes is fingerprinted once per run; a node that writes it
            # forgets it (after_node_run), so its readers see what that node wrote
            if name not in self._content:
                self._content[name] = dataset.content_fingerprint()
            return self._content[name]
        if name in self._memory:
            return self._memory[name]
        path = getattr(dataset, "_filepath", None) or getattr(dataset, "_path", None)
        fs = getattr(dataset, "_fs", None)
        if path is not None and fs is not None:  # any fsspec file dataset: its bytes
            return tree_fingerprint(fs, str(path), str(path))
        # a value no fingerprint can describe (a dataset type without one): always recompute
        return digest("unknown", name, uuid.uuid4().hex)

    def node_fingerprint(self, node: Any, catalog: Any, inputs: dict[str, Any]) -> NodeFingerprint:
        per_item_args = per_item_arguments(node.func)
        per_item = ({ds for arg, ds in _argument_datasets(node).items() if arg in per_item_args}
                    if per_item_args else set())
        parameters: dict[str, Any] = {}
        fingerprints: dict[str, str] = {}
        for name in node.inputs:
            if name == "parameters" or name.startswith("params:"):
                parameters[name] = inputs.get(name)
            else:
                fingerprints[name] = self.input_fingerprint(name, catalog)
        parameters = parameters_read(node.func, parameters, _argument_datasets(node))  # @reads_parameters
        version = node_version(node.func)
        function = _function_id(node.func)
        static = digest(node.name, function, version, parameters,
                        {k: v for k, v in fingerprints.items() if k not in per_item})
        whole = digest(static, {k: v for k, v in fingerprints.items() if k in per_item})
        made_by = {"node": node.name, "function": function, "algorithm_version": version, "fingerprint": whole,
                   "parameters": redact(parameters), "inputs": fingerprints}
        sources = tuple(ds for ds in (_dataset(catalog, n) for n in sorted(per_item)) if ds is not None)
        return NodeFingerprint(node.name, static, whole, sources, made_by, forced=self._is_forced(node))

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any]) -> None:
        if not fingerprints_enabled():
            return
        fingerprint = self.node_fingerprint(node, catalog, inputs)
        if fingerprint.forced:
            logger.info("%s: recomputing (forced by recompute / start_from_step)", node.name)
        self._current[node.name] = fingerprint
        outputs = [_dataset(catalog, name) for name in node.outputs]
        FRESH_NODES.discard(node.name)
        if not fingerprint.forced and outputs and all(
                hasattr(dataset, "is_fresh") and dataset.is_fresh(fingerprint) for dataset in outputs):
            FRESH_NODES.add(node.name)  # the node's function returns UNCHANGED without running
            logger.info("%s: unchanged (same fingerprint, outputs intact); not run", node.name)
        for dataset in outputs:
            if hasattr(dataset, "bind_fingerprint"):
                dataset.bind_fingerprint(fingerprint)

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        FRESH_NODES.discard(node.name)
        for name in node.outputs:
            self._content.pop(name, None)
        fingerprint = self._current.pop(node.name, None)
        if fingerprint is not None:
            for name in node.outputs:
                self._memory[name] = digest(fingerprint.whole, name)
