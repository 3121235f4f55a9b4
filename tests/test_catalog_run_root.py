"""The run root ``<dig_url_root>/runs/<run_name>`` is written once (``_run_root`` in
conf/base/catalog_common.yml) and every entry that names it resolves under the run that
``--params run_name=…`` chooses, in every environment."""

from __future__ import annotations

import re

import pytest
from kedro.config import OmegaConfigLoader

from sdg_factory.settings import CONFIG_LOADER_ARGS
from tests.kedro_runner import PROJECT_ROOT

CONF = PROJECT_ROOT / "conf"
SPELLED_OUT = re.compile(r"/runs/\$\{runtime_params:run_name")
# the defects pipelines' catalog files are being rewritten on their own branch; they adopt
# ${_run_root} with that rewrite


def _catalog(env: str, **runtime) -> dict:
    return OmegaConfigLoader(str(CONF), env=env, runtime_params=runtime, **CONFIG_LOADER_ARGS)["catalog"]


def test_the_run_root_is_spelled_out_once():
    spelled = {f"{p.parent.name}/{p.name}": len(SPELLED_OUT.findall(p.read_text()))
               for p in sorted(CONF.glob("*/catalog*.yml"))}
    assert {name: n for name, n in spelled.items() if n} == {"base/catalog_common.yml": 1}


@pytest.mark.parametrize("env", ["base", "smoke", "gpu", "cloud", "dask_local"])
def test_entries_resolve_under_the_chosen_run(env):
    default, chosen = _catalog(env), _catalog(env, run_name="r42")
    dig = "s3://sdg-factory/dig" if env == "cloud" else "data/dig"  # conf/<env>/globals.yml
    expected = {"roi_crops": "usd2roi-components/crop", "augmented_crops": "augment/crop",
                "structural_plan": "structural_defect/plan.jsonl", "bare_board_images": "bare_board/images",
                "anomaly_images": "anomaly/images", "run_provenance": "provenance",
                "reference_object.white_background": "01_white_background.png",
                "defects.infer_config": "defects/infer_config.json"}
    for name, tail in expected.items():
        for catalog, run in ((default, "demo"), (chosen, "r42")):
            entry = catalog[name]
            assert entry.get("path", entry.get("filepath")) == f"{dig}/runs/{run}/{tail}", (env, name)
    assert not any(k.startswith("_") for k in chosen)  # the variable itself is no dataset
    if env == "gpu":  # the override names only what it changes
        assert chosen["anomaly_images"]["executor"] == "serial"
        assert chosen["anomaly_images"]["type"] == "sdg_factory.datasets.PartitionedDataset"
