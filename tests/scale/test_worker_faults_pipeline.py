"""Worker faults on a real ``kedro run`` (smoke size, in a subprocess of a project copy): a killed
pool worker costs its item only, workers never outlive a killed run, and a run_name is written by
one run at a time.

Faults come from :mod:`tests.scale.faults`, whose hooks the copy's ``settings.py`` adds when a
``SDG_TEST_*`` variable asks for them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.kedro_runner import PROJECT_ROOT, project_copy, run_pipeline
from tests.scale import faults

RUN = "w"
VICTIM = "x2_y0"  # one of the four render cells of the smoke good_image
KEDRO = str(Path(sys.executable).with_name("kedro"))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """pcba_setup's demo boards, published once for the module."""
    root = tmp_path_factory.mktemp("published")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    return root / "data" / "dig" / "datasets"


@pytest.fixture
def project(tmp_path, published) -> Path:
    """A project copy whose settings add the fault hooks, with the demo boards published."""
    import shutil

    project = project_copy(tmp_path / "project")
    settings = project / "src" / "sdg_factory" / "settings.py"
    settings.write_text(settings.read_text() + faults.SETTINGS_PATCH)
    shutil.copytree(published, project / "data" / "dig" / "datasets")
    return project


def _kedro(project: Path, pipeline: str = "pcba_render", **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "KEDRO_DISABLE_TELEMETRY": "1",
                   "COLUMNS": "400", **env}
    return subprocess.Popen([KEDRO, "run", "--pipeline", pipeline, "--env", "smoke", "--params",
                             f"run_name={RUN}"], cwd=project, env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, " ".join(out.split())  # rich wraps long lines: compare on single spaces


def _run_folder(project: Path) -> Path:
    return project / "data" / "dig" / "runs" / RUN


def test_a_killed_worker_fails_its_item_the_run_ends_non_zero_and_the_rest_is_written(project):
    code, out = _finish(_kedro(project, "good_image", **{faults.KILL_ITEM_ENV: VICTIM}))
    assert code != 0, out
    assert "1 partition(s) failed; everything else was written." in out
    assert (f"{VICTIM}: worker process died (signal 9, SIGKILL — often the out-of-memory killer) "
            "while computing this item") in out
    assert "BrokenProcessPool" not in out
    cells = _run_folder(project) / "usd2roi-components" / "trigger_0000"
    assert sorted(p.name for p in cells.glob("rgb_*.png")) == ["rgb_x0_y0.png", "rgb_x1_y0.png", "rgb_x3_y0.png"]
    manifest = json.loads((cells / ".sdg_manifest.json").read_text())
    assert [f["partition"] for f in manifest["failed"]] == [VICTIM]
    crops = _run_folder(project) / "usd2roi-components" / "crop"
    assert list(crops.glob("*/*/normal_img/*.png")), "the steps after the render did not run"
    assert not (_run_folder(project) / ".sdg_run.lock").exists()  # released on the way out

    code, out = _finish(_kedro(project))  # the fault gone, a re-run of the render finishes the cell
    assert code == 0, out
    assert (cells / f"rgb_{VICTIM}.png").exists()
    assert json.loads((cells / ".sdg_manifest.json").read_text())["failed"] == []


def test_two_runs_on_one_run_name_one_is_refused_with_one_line_the_other_completes(project, tmp_path):
    go = tmp_path / "go"
    first = _kedro(project, **{faults.PAUSE_ENV: str(go)})
    try:
        deadline = time.monotonic() + 120
        while not Path(f"{go}.waiting").exists():  # the first run holds the lock and waits
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        code, out = _finish(_kedro(project))
    finally:
        go.touch()
    assert code == 1, out
    lock = _run_folder(project) / ".sdg_run.lock"
    assert (f"Error: run_name '{RUN}' is being written by another run (pid {first.pid} on host "
            in out), out
    assert f"its lock is {lock}." in out
    assert "Traceback" not in out
    code, out = _finish(first)
    assert code == 0, out
    assert len(list((_run_folder(project) / "usd2roi-components" / "trigger_0000").glob("rgb_*.png"))) == 4
    assert not lock.exists()


def test_a_stale_lock_of_a_dead_run_is_taken_over(project):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = _run_folder(project)
    folder.mkdir(parents=True)
    import socket

    (folder / ".sdg_run.lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                                      "start": 1, "started_at": "earlier"}))
    code, out = _finish(_kedro(project))
    assert code == 0, out
    assert (f"taking over the lock {folder / '.sdg_run.lock'} left by a run that ended without releasing it "
            f"(pid {dead.pid}") in out
    assert not (folder / ".sdg_run.lock").exists()


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(children - out)
            out |= children
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended


def _assert_all_end_within_10_s(pids: set[int]) -> None:
    for _ in range(100):
        if not any(_alive(p) for p in pids):
            return
        time.sleep(0.1)
    survivors = {p for p in pids if _alive(p)}
    for p in survivors:
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"processes outlived their killed parent by 10 s: {survivors}"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads process trees from /proc")
def test_killing_the_kedro_run_leaves_no_worker_running(project, tmp_path):
    hung = tmp_path / "hung"
    hung.mkdir()
    run = _kedro(project, **{faults.HANG_ITEM_ENV: f"{VICTIM}:{hung}"})
    try:
        deadline = time.monotonic() + 120
        while not list(hung.iterdir()):  # a worker is in the middle of its item
            assert run.poll() is None, run.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        children = _descendants(run.pid)
        worker = int(next(hung.iterdir()).name)
        assert worker in children
    finally:
        run.send_signal(signal.SIGKILL)  # the parent only, as the OOM killer or `kill -9` would
        run.communicate()
    _assert_all_end_within_10_s(children)


_DASK_PARENT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from sdg_factory.datasets.dask_executor import DaskExecutor

    def work(pid, folder):
        Path(folder, str(os.getpid())).write_text(pid)
        time.sleep(300)

    if __name__ == "__main__":
        for _ in DaskExecutor(n_workers=1).run(work, [("a", sys.argv[1])]):
            pass
""")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads process trees from /proc")
def test_the_dask_local_clusters_workers_end_with_their_parent(tmp_path):
    """Dask's own worker processes watch a pipe to their parent and exit when it closes."""
    script = tmp_path / "parent.py"
    script.write_text(_DASK_PARENT)
    marks = tmp_path / "workers"
    marks.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(marks)], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(marks.iterdir()):
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        children = _descendants(parent.pid)
        assert int(next(marks.iterdir()).name) in children
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    _assert_all_end_within_10_s(children)
