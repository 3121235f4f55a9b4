"""The layers of docs/architecture.md, read from the imports (``ast`` over ``src/sdg_factory``).

pipelines (and the Kedro glue: hooks, settings, parameter checks, provenance) → backends /
datasets → pcb / defects / fingerprints → imaging → the small shared modules. An import may only
point down (or stay inside its own package); backends and datasets do not import each other;
no two modules import each other, directly or round a loop, even through a deferred import
inside a function. And importing a dataset loads neither usd-core nor torch.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "sdg_factory"

LAYERS = {
    4: {"pipelines", "pipeline_registry", "settings", "config_loader", "hooks", "rerun_hooks", "run_lock_hooks",
        "parameter_checks", "provenance", "__main__"},
    3: {"backends", "datasets"},
    2: {"pcb", "defects", "fingerprints"},
    1: {"imaging"},
    0: {"", "paths", "seeding", "redaction", "cookbooks", "listing", "allocator"},  # "": the package's own __init__
}
RANK = {part: rank for rank, parts in LAYERS.items() for part in parts}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The ``sdg_factory`` modules a file imports, anywhere in it (deferred imports included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "sdg_factory"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "sdg_factory":
            names = [f"{node.module}.{a.name}" for a in node.names]
            submodules = [n for n in names if n in MODULES]
            out |= set(submodules) if len(submodules) == len(names) else {node.module, *submodules}
    return {m for m in out if m in MODULES}


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_of_the_package_has_a_layer():
    unknown = sorted({_part(m) for m in MODULES} - set(RANK))
    assert not unknown, f"give these parts of src/sdg_factory a layer in LAYERS (and docs/architecture.md): {unknown}"


def test_imports_point_down_only():
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        source = _part(module)
        for target in sorted(targets):
            part = _part(target)
            if part == source or RANK[part] < RANK[source] or RANK[part] == RANK[source] == 4:
                continue
            wrong.append(f"{module} imports {target} ({source}: layer {RANK[source]}, {part}: layer {RANK[part]})")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_the_checks_can_fail():
    """The rule above sees an upward import (imaging importing a backend) when there is one."""
    assert RANK[_part("sdg_factory.backends.image_edit.base")] > RANK[_part("sdg_factory.imaging.restyle")]
    assert "sdg_factory.imaging.restyle" in GRAPH["sdg_factory.backends.image_edit.classical"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_cycles():
    assert not _cycles(GRAPH), "modules that import each other (round a loop):\n" + "\n".join(
        " <-> ".join(c) for c in _cycles(GRAPH))


@pytest.mark.parametrize("statement", [
    "import sdg_factory.datasets",
    "import sdg_factory.datasets.image",
    "from sdg_factory.datasets import ImageDataset",
    "import sdg_factory.backends.image_edit, sdg_factory.backends.text_to_image",
])
def test_importing_a_dataset_or_a_backend_interface_loads_neither_usd_nor_torch(statement):
    code = (f"import sys\n{statement}\n"
            "heavy = [m for m in ('pxr', 'torch') if m in sys.modules]\nassert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={"PYTHONPATH": str(SRC), "PATH": ""},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
