"""``blender``: physically based scan-grid renders with Blender Cycles, in Blender's own Python.

``bpy`` (Blender as a Python module, from the package index) pins ``numpy < 2``, so it lives in
its own environment, ``.venv-blender/`` (``make blender``; ``make run`` / ``make test`` create
it). The render step calls it as a subprocess, as the documents call Kit:
:mod:`.blender_scan` imports the same USD, gives the prims principled materials, lights the
board with an AOI ring (or coaxial) light and renders each cell with an orthographic top-down
camera over exactly the rasterizer's cell rectangle, plus a flat-emission pass of object
indices. This side turns the picture and the index map into the same
:class:`~sdg_factory.pcb.render.RenderCell` the rasterizer makes (one palette, one box rule),
so the render folder, ``pcba_crop`` and everything downstream are unchanged.

Batching: Blender takes seconds to start and to import a board, so each process that saves
cells keeps **one Blender subprocess per board** alive and sends it one request per cell
(JSON lines over a pipe). A serial run starts Blender once; a process pool starts it once per
worker. Only the cells the render folder actually recomputes are rendered (a re-run whose
cells are all up to date starts no Blender at all). The subprocess ends with its parent.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing.util
import os
import select
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sdg_factory.fingerprints.hashing import digest
from sdg_factory.pcb.render import CellSpec, RenderCell, assemble_cell, footprints, prim_bounds, prims_in
from sdg_factory.pcb.usd_scene import Primitive
from sdg_factory.seeding import item_seed

logger = logging.getLogger(__name__)

SCRIPT = Path(__file__).with_name("blender_scan.py")
PROJECT_ROOT = Path(__file__).resolve().parents[4]
MAKE_TARGET = "make blender"
LIGHTS = ("ring", "coaxial", "ring+coaxial")
DEVICES = ("auto", "cpu", "gpu")


class BlenderRenderError(RuntimeError):
    """Blender could not be started or did not render a cell."""


def resolve_blender_python(path: str) -> Path:
    """``blender_python`` as given if absolute, else relative to the working directory or the
    project root; an error naming the make target when it is missing."""
    given = Path(os.path.expanduser(str(path)))
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, PROJECT_ROOT / given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"render_backend=blender needs Blender's Python environment, but pcba_render.blender.blender_python "
        f"({path}) does not exist (looked in {[str(c) for c in candidates]}). Run `{MAKE_TARGET}` (it creates "
        f".venv-blender/ with bpy from the package index; `make run` and `make test` do it too), or point "
        f"blender_python at a Python that has bpy 5.x"
    )


@dataclass
class BlenderBackend:
    """Blender Cycles behind the render folder. Settings: ``pcba_render.blender`` (docs/backends.md)."""

    blender_python: str = ".venv-blender/bin/python"
    samples: int = 32
    denoise: bool = True
    device: str = "auto"
    light: str = "ring"
    light_strength: float = 5.0
    ring_count: int = 12
    ring_elevation_deg: float = 35.0
    dome_strength: float = 0.5
    exposure: float = 0.0
    max_bounces: int = 6
    threads: int | None = None
    timeout_s: float = 600.0
    name: str = field(default="blender", init=False)

    def __post_init__(self) -> None:
        if str(self.light) not in LIGHTS:
            raise ValueError(f"pcba_render.blender.light is {self.light!r}; use one of {list(LIGHTS)}")
        if str(self.device) not in DEVICES:
            raise ValueError(f"pcba_render.blender.device is {self.device!r}; use one of {list(DEVICES)}")
        if int(self.samples) < 1:
            raise ValueError(f"pcba_render.blender.samples is {self.samples}; it must be 1 or more")

    def describe(self) -> str:
        return (f"Blender Cycles ({self.samples} samples, denoise {'on' if self.denoise else 'off'}, "
                f"{self.light} light, device {self.device})")

    def scene_settings(self) -> dict:
        return {"samples": int(self.samples), "denoise": bool(self.denoise), "device": str(self.device),
                "light": str(self.light), "light_strength": float(self.light_strength),
                "ring_count": int(self.ring_count), "ring_elevation_deg": float(self.ring_elevation_deg),
                "dome_strength": float(self.dome_strength), "exposure": float(self.exposure),
                "max_bounces": int(self.max_bounces)}

    def cells(self, cells: list[CellSpec], prims: list[Primitive], ids: dict[str, int],
              colors: dict[int, tuple], seed: int, stage: Any) -> dict[str, Callable]:
        python = resolve_blender_python(self.blender_python)  # fail here, before any cell is saved
        usda = stage.GetRootLayer().ExportToString()
        table = {p.path: {"index": k, "material": p.material, "label": p.labels[-1] if p.labels else "",
                          "color": [round(float(c), 6) for c in p.color]} for k, p in enumerate(prims)}
        settings = self.scene_settings()
        scene = BlenderScene(str(python), usda, table, settings, float(self.timeout_s), self.threads,
                             digest(usda, table, settings, str(python)))
        index_of = {p.path: k for k, p in enumerate(prims)}
        out, bounds = {}, prim_bounds(prims)
        for spec in cells:
            local = prims_in(prims, spec.rect, bounds)
            out[spec.cell] = partial(render_blender_cell, scene, spec, local, [index_of[p.path] for p in local],
                                     ids, colors, item_seed(int(seed), spec.cell) % (2 ** 31))
        return out


@dataclass(frozen=True)
class BlenderScene:
    """What a worker needs to start Blender on a board (picklable: the USD travels as text)."""

    python: str
    usda: str
    prims: dict
    settings: dict
    timeout_s: float
    threads: int | None
    key: str


def render_blender_cell(scene: BlenderScene, spec: CellSpec, prims: list[Primitive], global_index: list[int],
                        ids: dict[str, int], colors: dict[int, tuple], seed: int) -> RenderCell:
    """Render one cell in this process's Blender for ``scene`` and build its Replicator cell."""
    process = blender_process(scene)
    answer = process.request({"op": "render", "cell": spec.cell, "rect": list(spec.rect), "width": spec.width,
                              "height": spec.height, "out_dir": process.out_dir, "seed": int(seed)},
                             scene.timeout_s, f"rendering cell {spec.cell}")
    logger.debug("Blender rendered cell %s in %.1f s (picture %.1f s)", spec.cell, answer.get("seconds", 0.0),
                 answer.get("rgb_seconds", 0.0))
    try:
        bgra = cv2.imread(answer["rgb"], cv2.IMREAD_UNCHANGED)
        index = np.load(answer["index"])
    finally:
        for key in ("rgb", "index"):
            Path(answer[key]).unlink(missing_ok=True)
    if bgra is None or bgra.shape[:2] != (spec.height, spec.width) or index.shape != (spec.height, spec.width):
        raise BlenderRenderError(f"Blender wrote a cell {spec.cell} of the wrong size (expected "
                                 f"{spec.width}x{spec.height}); see its log {process.log_path}")
    rgba = cv2.cvtColor(bgra, cv2.COLOR_BGRA2RGBA) if bgra.ndim == 3 and bgra.shape[2] == 4 else \
        np.dstack([cv2.cvtColor(bgra, cv2.COLOR_BGR2RGB), np.full(bgra.shape[:2], 255, np.uint8)])
    # the board-wide prim index of each pixel → the index into this cell's prims (as the rasterizer's)
    lookup = np.full(len(scene.prims) + 1, -1, np.int32)
    lookup[np.asarray(global_index, np.int64)] = np.arange(len(global_index), dtype=np.int32)
    owner_map = np.where(index >= 0, lookup[np.clip(index, 0, len(scene.prims))], -1).astype(np.int32)
    return assemble_cell(spec.cell, rgba, owner_map, prims, footprints(spec, prims), ids, colors)


# --- the Blender subprocess ---------------------------------------------------------------

_PROCESSES: dict[tuple[int, str], BlenderProcess] = {}


_CLEANUP_REGISTERED: set[int] = set()


def blender_process(scene: BlenderScene) -> BlenderProcess:
    """This process's Blender for ``scene``, started (and the board imported) on first use."""
    key = (os.getpid(), scene.key)  # a forked worker starts its own, never its parent's
    process = _PROCESSES.get(key)
    if process is None or not process.alive():
        if os.getpid() not in _CLEANUP_REGISTERED:
            # a pool worker leaves through multiprocessing's exit (no atexit): close Blender there too
            multiprocessing.util.Finalize(None, close_all, exitpriority=10)
            _CLEANUP_REGISTERED.add(os.getpid())
        for other in [k for k in _PROCESSES if k[0] == os.getpid()]:
            _PROCESSES.pop(other).close()  # one board at a time per process
        process = _PROCESSES[key] = BlenderProcess.start(scene)
    return process


def close_all() -> None:
    for key in [k for k in _PROCESSES if k[0] == os.getpid()]:
        _PROCESSES.pop(key).close()


atexit.register(close_all)


class BlenderProcess:
    """One running ``blender_scan.py``: JSON requests on its stdin, answers on its stdout."""

    def __init__(self, popen: subprocess.Popen, workdir: Path) -> None:
        self.popen, self.workdir = popen, workdir
        self.out_dir = str(workdir / "cells")
        self.log_path = workdir / "blender.log"

    @classmethod
    def start(cls, scene: BlenderScene) -> BlenderProcess:
        workdir = Path(tempfile.mkdtemp(prefix="sdg-blender-"))
        usd = workdir / "scene.usda"
        usd.write_text(scene.usda)
        env = dict(os.environ)
        threads = scene.threads or int(os.environ.get("OMP_NUM_THREADS") or 0)  # a pool worker's share
        env.pop("PYTHONPATH", None)  # Blender's Python must not see the project's packages
        with open(workdir / "blender.log", "wb") as log:
            popen = subprocess.Popen([scene.python, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log, env=env, cwd=str(workdir), text=True, bufsize=1)
        process = cls(popen, workdir)
        logger.info("started Blender (%s) for a board of %d prims, pid %d", scene.python, len(scene.prims),
                    popen.pid)
        try:
            answer = process.request({"op": "scene", "usd": str(usd), "prims": scene.prims,
                                      "settings": {**scene.settings, "threads": threads}},
                                     scene.timeout_s, "importing the board")
        except BaseException:
            process.close()
            raise
        logger.info("Blender %s imported %d prims in %.1f s on %s", answer.get("blender"), answer.get("objects", 0),
                    float(answer.get("seconds", 0.0)), answer.get("device"))
        return process

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def request(self, payload: dict, timeout_s: float, what: str) -> dict:
        try:
            self.popen.stdin.write(json.dumps(payload) + "\n")
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it has exited: reported below with its log
        ready, _, _ = select.select([self.popen.stdout], [], [], float(timeout_s))
        line = self.popen.stdout.readline() if ready else ""
        if not line:
            timed_out = not ready and self.alive()
            self.close()
            tail = self._log_tail()
            hint = ""
            if "No module named 'bpy'" in tail:
                hint = f" That Python has no bpy: run `{MAKE_TARGET}`."
            if timed_out:
                raise BlenderRenderError(f"Blender did not answer within {timeout_s:.0f} s "
                                         f"(pcba_render.blender.timeout_s) while {what}.{hint} Last lines of its "
                                         f"log {self.log_path}:\n{tail}")
            raise BlenderRenderError(f"Blender exited (status {self.popen.returncode}) while {what}.{hint} Last "
                                     f"lines of its log {self.log_path}:\n{tail}")
        answer = json.loads(line)
        if not answer.get("ok"):
            error = str(answer.get("error"))
            hint = f" That Python has no bpy: run `{MAKE_TARGET}`." if "No module named 'bpy'" in error else ""
            raise BlenderRenderError(f"Blender failed while {what}: {error}.{hint} (its log: {self.log_path})")
        return answer

    def close(self) -> None:
        if self.popen.poll() is None:
            try:
                self.popen.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.popen.stdin.close()
                self.popen.wait(timeout=20)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.popen.kill()
                self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.out_dir, ignore_errors=True)
        if self.popen.returncode == 0:
            shutil.rmtree(self.workdir, ignore_errors=True)  # keep a failed run's log for the user
