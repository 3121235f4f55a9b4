"""``good_image`` (smoke size) computed by Dask workers: the same bytes as the serial executor,
and a worker killed in the middle of a render cell costs nothing but a retry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kedro_runner import prepare_conf, run_pipeline
from tests.pipelines.helpers import decode, tree_digest
from tests.scale import faults
from tests.scale.conftest import write_executor_env

PARAMS = {"run_name": "d", "render_patches": "4", "crop_max_emit": "2"}


def _digest(root: Path) -> dict[str, str]:
    digest = tree_digest(root / "data" / "dig", skip_hidden=True)  # the root's own text is masked
    return {k: v for k, v in digest.items() if k.startswith("runs/") and "/provenance/" not in k}


def _outputs(root: Path) -> list[Path]:
    components = root / "data" / "dig" / "runs" / "d" / "usd2roi-components"
    return sorted(components.glob("trigger_0000/*.png")) + sorted(components.glob("crop/*/*/*/*.png"))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """pcba_setup's demo boards, published once for the module."""
    root = tmp_path_factory.mktemp("published")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    return root / "data" / "dig" / "datasets"


def _project(root: Path, published: Path) -> Path:
    """A project folder below ``root`` with the published boards in its dig root; its conf."""
    conf = prepare_conf(root)
    shutil.copytree(published, root / "data" / "dig" / "datasets")
    return conf


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory, published) -> dict[str, str]:
    root = tmp_path_factory.mktemp("serial")
    conf = _project(root, published)
    env = write_executor_env(conf, "serial_test", "serial")
    run_pipeline("good_image", env=env, params=PARAMS, cwd=root)
    digest = _digest(root)
    assert any(k.endswith("normal_img/0000.png") for k in digest) and any("rgb_x" in k for k in digest)
    return digest


def test_good_image_on_a_2_worker_local_cluster_writes_the_serial_bytes(
        tmp_path, published, serial_reference, dask_cluster):
    conf = _project(tmp_path, published)
    env = write_executor_env(conf, "dask_test", {"type": "dask", "address": dask_cluster.scheduler.address})
    assert len(dask_cluster.scheduler_info()["workers"]) == 2
    run_pipeline("good_image", env=env, params=PARAMS, cwd=tmp_path)
    assert _digest(tmp_path) == serial_reference
    for path in _outputs(tmp_path):
        decode(path)


def test_rerun_on_dask_after_a_change_equals_the_serial_bytes(tmp_path, published, serial_reference, dask_cluster):
    conf = _project(tmp_path, published)
    env = write_executor_env(conf, "dask_test", {"type": "dask", "address": dask_cluster.scheduler.address})
    run_pipeline("good_image", env=env, params={**PARAMS, "crop_max_emit": "1"}, cwd=tmp_path)
    assert _digest(tmp_path) != serial_reference
    run_pipeline("good_image", env=env, params=PARAMS, cwd=tmp_path)  # crop_max_emit 1 -> 2
    assert _digest(tmp_path) == serial_reference


def test_the_dask_local_environment_moves_every_process_pool_to_a_2_worker_local_cluster(project_root):
    """``--env dask_local`` as shipped (its LocalCluster-per-save path runs in test_dask_executor):
    every partitioned folder that conf/base computes in a process pool, in every pipeline."""
    from kedro.config import OmegaConfigLoader

    from sdg_factory.datasets.executors import make_executor
    from sdg_factory.settings import CONFIG_LOADER_ARGS

    def executors(env):
        catalog = OmegaConfigLoader(str(project_root / "conf"), env=env, **CONFIG_LOADER_ARGS)["catalog"]
        return {name: make_executor(entry["executor"]) for name, entry in catalog.items()
                if isinstance(entry, dict) and "executor" in entry}

    pooled = {name for name, executor in executors("base").items() if executor.name == "processes"}
    assert {"render_cells", "roi_crops", "anomaly_images", "structural_crops", "scene_generation.images",
            "reference_object.cv_augmented_dataset"} <= pooled
    on_dask = executors("dask_local")
    for name in pooled:
        assert on_dask[name].name == "dask" and on_dask[name].n_workers == 2, name
        assert on_dask[name].address is None, name


def test_worker_killed_mid_render_cell_then_the_run_completes_with_serial_bytes(
        tmp_path, published, serial_reference, dask_cluster):
    conf = _project(tmp_path, published)
    env = write_executor_env(conf, "dask_test", {"type": "dask", "address": dask_cluster.scheduler.address})
    marker = tmp_path / "died"
    before = set(dask_cluster.scheduler_info()["workers"])
    plugin = faults.DieMidWrite(str(marker), after=2)  # the 3rd file a worker writes: mid-cell
    dask_cluster.register_plugin(plugin, name=plugin.name)
    try:
        run_pipeline("good_image", env=env, params=PARAMS, cwd=tmp_path)
    finally:
        dask_cluster.unregister_worker_plugin(plugin.name)
    assert "trigger_0000" in marker.read_text(), "no worker died while writing a render cell"
    assert set(dask_cluster.scheduler_info()["workers"]) != before, "the killed worker is still listed"
    assert _digest(tmp_path) == serial_reference
    for path in _outputs(tmp_path):
        decode(path)
    assert list((tmp_path / "data").rglob(".sdg-tmp-*")) == []
    # the re-run has nothing left to do and changes nothing
    run_pipeline("good_image", env=env, params=PARAMS, cwd=tmp_path)
    assert _digest(tmp_path) == serial_reference
