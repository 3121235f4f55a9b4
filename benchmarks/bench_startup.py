"""Start-up: what a CPU default pays before its first node, this tree vs an earlier commit.

ours = this working tree; peer = the tree at ``SDG_STARTUP_BASELINE`` (a git revision, default
the commit before the backend registry and lazy imports), unpacked with ``git archive`` into a
temporary folder and run with the same interpreter, alternately, in the same session. Measured:
the wall of ``kedro run --pipeline=pcba_setup --env smoke`` (warm file cache: one unmeasured run
of each first), and of ``bootstrap_project`` + ``register_pipelines()`` alone; plus which heavy
libraries the run imports (``sys.modules`` at the end of the start-up script).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = os.environ.get("SDG_STARTUP_BASELINE", "2b0b647")
REPEAT = int(os.environ.get("SDG_STARTUP_REPEAT", "5"))
HEAVY = ("torch", "diffusers", "transformers", "ultralytics", "sam2", "peft", "pyimgano", "pandas",
         "sqlalchemy", "scipy", "pxr")
REGISTER = ("import sys\nfrom pathlib import Path\nfrom kedro.framework.startup import bootstrap_project\n"
            "bootstrap_project(Path.cwd())\nfrom sdg_factory.pipeline_registry import register_pipelines\n"
            "register_pipelines()\nprint(','.join(m for m in {heavy!r} if m in sys.modules))\n")


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "KEDRO_DISABLE_TELEMETRY": "1",
            "HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1", "MPLBACKEND": "Agg"}


def _wall(args: list[str], tree: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=tree, env=_env(tree), capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _kedro(tree: Path) -> float:
    return _wall([sys.executable, "-m", "kedro", "run", "--pipeline=pcba_setup", "--env", "smoke"], tree)[0]


def _register(tree: Path) -> tuple[float, str]:
    return _wall([sys.executable, "-c", REGISTER.format(heavy=HEAVY)], tree)


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="sdg-startup-") as tmp:
        peer_tree = Path(tmp)
        archive = subprocess.run(["git", "archive", BASELINE], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(peer_tree)], input=archive, check=True)
        trees = {"ours": ROOT, "peer": peer_tree}
        runs: dict[str, list[float]] = {"ours": [], "peer": []}
        registers: dict[str, list[float]] = {"ours": [], "peer": []}
        loaded: dict[str, str] = {}
        for tree in trees.values():  # warm-up: file cache, .pyc files
            _kedro(tree)
            _register(tree)
        for _ in range(REPEAT):
            for side, tree in trees.items():
                runs[side].append(_kedro(tree))
                seconds, loaded[side] = _register(tree)
                registers[side].append(seconds)
    kedro = {side: statistics.median(v) for side, v in runs.items()}
    register = {side: statistics.median(v) for side, v in registers.items()}
    return {
        "title": "Start-up (kedro run --pipeline=pcba_setup --env smoke)",
        "what": ("Wall seconds of a whole `kedro run --pipeline=pcba_setup --env smoke` (warm cache) and of "
                 "`bootstrap_project` + `register_pipelines()` alone; ours = this tree, peer = the tree at "
                 f"`{BASELINE}` (before the backend registry and lazy imports), same interpreter, alternating, "
                 f"median of {REPEAT}. Ratio = ours / peer (lower is better)."),
        "rows": [
            {"case": "kedro run --pipeline=pcba_setup --env smoke", "ours": kedro["ours"], "peer": kedro["peer"],
             "unit": "s", "ratio": round(kedro["ours"] / kedro["peer"], 3), "target": "< 1"},
            {"case": "bootstrap_project + register_pipelines()", "ours": register["ours"],
             "peer": register["peer"], "unit": "s", "ratio": round(register["ours"] / register["peer"], 3),
             "target": "< 1"},
        ],
        "notes": [
            f"heavy modules loaded by register_pipelines(): ours [{loaded['ours']}], peer [{loaded['peer']}]; "
            "torch, diffusers, transformers, ultralytics, sam2, peft and pyimgano import only when a backend "
            "that needs them is built (backends/registry.py).",
            "all runs: " + "; ".join(f"{side} kedro {[round(v, 2) for v in runs[side]]}" for side in runs),
            "Measured while the machine's 2 cores were shared with other jobs: absolute figures vary; "
            "both columns come from the same session, alternating.",
        ],
    }
