"""What a node's outputs are fingerprinted with, and how nodes declare what their items read.

A :class:`NodeFingerprint` is computed by the hooks before a node runs and bound to each of
its output datasets; a dataset asks it for the fingerprint of every item it is about to write.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial, update_wrapper
from typing import Any

from sdg_factory.fingerprints.hashing import digest

DEFAULT_VERSION = 1


class _Unchanged:
    """What a skipped node hands each output: "the data on disk is already what I would write"."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"

    def __reduce__(self):
        return (_Unchanged, ())


UNCHANGED = _Unchanged()

#: names of the nodes whose outputs are all fresh in the current run (set by the hooks)
FRESH_NODES: set[str] = set()


class SkippableNodeFunction:
    """A node's function that returns :data:`UNCHANGED` for every output, without running,
    when the hooks found all of the node's outputs fresh (same fingerprint, files intact)."""

    def __init__(self, func: Callable, node_name: str, outputs: Any) -> None:
        self.func, self.node_name, self.outputs = func, node_name, outputs
        update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.node_name not in FRESH_NODES:
            return self.func(*args, **kwargs)
        if isinstance(self.outputs, str):
            return UNCHANGED
        if isinstance(self.outputs, dict):
            return {key: UNCHANGED for key in self.outputs}
        return [UNCHANGED] * len(self.outputs or [])


def skippable(node: Any) -> Any:
    """The node with its function wrapped in :class:`SkippableNodeFunction` (name, inputs,
    outputs, namespace and tags unchanged; kedro-viz still shows the original function)."""
    if node._outputs is None or isinstance(node.func, SkippableNodeFunction):  # noqa: SLF001
        return node
    return node._copy(func=SkippableNodeFunction(node.func, node.name, node._outputs))  # noqa: SLF001


def per_item(*arguments: str) -> Callable:
    """Declare that each output item of a node depends only on the items of these inputs it
    is given (a lazy saver ``partial(fn, loader, …)`` holding the input item's loader).

    Without it an output item depends on the whole of every input, which is always correct
    but recomputes everything when one input item changes::

        @per_item("render_cells")
        def crop_rois(render_cells, day0_crop, semantic_labels): ...
    """
    def mark(func: Callable) -> Callable:
        func.__sdg_per_item__ = frozenset(arguments)
        return func
    return mark


def algorithm_version(version: int | str) -> Callable:
    """The version of what a node computes: bump it when its behaviour changes, so outputs
    written by the old code are recomputed on the next run."""
    def mark(func: Callable) -> Callable:
        func.__sdg_version__ = version
        return func
    return mark


def reads_parameters(**views: Callable[[dict[str, Any]], Any]) -> Callable:
    """Declare which part of a parameter a node reads where that depends on its other
    parameters: ``views[argument](values)`` (``values``: the node's parameters by argument name)
    returns the part of that argument's value the node reads, and only that part enters the
    node's fingerprint and provenance. Without it a node depends on every key of a section::

        @reads_parameters(pcba_render=chosen_render_settings)   # only the chosen backend's keys
        def render_scan_grid(..., render_backend, pcba_render): ...
    """
    def mark(func: Callable) -> Callable:
        func.__sdg_reads_parameters__ = dict(views)
        return func
    return mark


def only_keys(argument: str, *keys: str) -> Callable[[dict[str, Any]], Any]:
    """A :func:`reads_parameters` view: only these keys of the section given as ``argument``
    count for the node (``None`` for one that is absent)::

        @reads_parameters(params=only_keys("params", "scene", "num_iterations"))
    """
    def view(values: dict[str, Any]) -> Any:
        section = values[argument]
        return {k: section.get(k) for k in keys} if isinstance(section, dict) else section
    return view


def all_keys_but(argument: str, *keys: str) -> Callable[[dict[str, Any]], Any]:
    """A :func:`reads_parameters` view: every key of the section given as ``argument`` except
    these (a key added later counts by default)."""
    def view(values: dict[str, Any]) -> Any:
        section = values[argument]
        return {k: v for k, v in section.items() if k not in keys} if isinstance(section, dict) else section
    return view


def parameters_read(func: Callable, parameters: dict[str, Any], arguments: dict[str, str]) -> dict[str, Any]:
    """``parameters`` (``{"params:<key>": value}`` of a node) with the node's declared views
    applied; ``arguments`` maps the function's arguments to its input names."""
    views = getattr(_unwrap(func), "__sdg_reads_parameters__", None)
    if not views:
        return parameters
    values = {arg: parameters[name] for arg, name in arguments.items() if name in parameters}
    out = dict(parameters)
    for arg, view in views.items():
        if arguments.get(arg) in out:
            out[arguments[arg]] = view(values)
    return out


def _unwrap(func: Callable) -> Callable:
    while isinstance(func, (partial, SkippableNodeFunction)):
        func = func.func
    return func


def node_version(func: Callable) -> int | str:
    func = _unwrap(func)
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    return getattr(func, "__sdg_version__", None) or getattr(module, "ALGORITHM_VERSION", DEFAULT_VERSION)


def per_item_arguments(func: Callable) -> frozenset[str]:
    func = _unwrap(func)
    return getattr(func, "__sdg_per_item__", frozenset())


def _loaders_in(value: Any, depth: int = 0) -> Iterable[Any]:
    """Input-item loaders held by a lazy saver (its arguments, one level into containers)."""
    if getattr(value, "item_fingerprint", None) is not None and hasattr(value, "source"):
        yield value
        return
    if depth > 2:
        return
    if isinstance(value, partial):
        for arg in (*value.args, *value.keywords.values()):
            yield from _loaders_in(arg, depth + 1)
    elif isinstance(value, (list, tuple)):
        for arg in value:
            yield from _loaders_in(arg, depth + 1)
    elif isinstance(value, dict):
        for arg in value.values():
            yield from _loaders_in(arg, depth + 1)


@dataclass
class NodeFingerprint:
    """The fingerprint of one node run.

    ``static`` covers the node, its algorithm version, its parameters and every input that is
    not per-item; ``whole`` adds the per-item inputs as wholes. ``made_by`` is the provenance
    record stored with each output (parameters redacted)."""

    node: str
    static: str
    whole: str
    per_item_sources: tuple = ()
    made_by: dict = field(default_factory=dict)
    forced: bool = False

    def item_fingerprint(self, pid: str, value: Any = None) -> str:
        """The fingerprint of output item ``pid`` made from the lazy saver ``value``."""
        if self.per_item_sources:
            deps = sorted(loader.item_fingerprint for loader in _loaders_in(value)
                          if any(loader.source is s for s in self.per_item_sources))
            if deps:
                return digest(self.static, pid, deps)
        return digest(self.whole, pid)
