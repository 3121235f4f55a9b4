"""Each preflight error of the document's Troubleshooting section, reproduced."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.datasets.model_folder import ModelFolder
from sdg_factory.pipelines.texture_defect_day0.nodes import (
    DEFAULT_TAXONOMY,
    PreflightError,
    parse_taxonomy,
    preflight_urls,
)
from tests.kedro_runner import run_pipeline

SPEC = [{"material": m, "defect_type": d, "spatial_dependency": "cad", "mask_dir": f"{m}/mask/{d}", "count": 3}
        for m, d in DEFAULT_TAXONOMY]
DIFFUSERS = ModelFolder("/x/models/pretrained/inpainting", ("model_index.json", "unet/config.json"))
EMPTY = ModelFolder("/x/models/pcb")


def _blob():
    mask = np.zeros((16, 16), np.uint8)
    mask[4:12, 4:12] = 255
    return mask


def _inputs(**change):
    submasks = {f"{m}/mask/{d}/{k:04d}": _blob for m, d in DEFAULT_TAXONOMY for k in range(3)}
    args = {"usd_assets": {"0603_H100/spark_lighting.usd": lambda: None},
            "raw_spec_files": {"defect_spec": lambda: SPEC}, "raw_submasks": submasks, "checkpoint": EMPTY,
            "anomaly_types_json": DEFAULT_TAXONOMY, "params": {"backend": "procedural"}, "board": "0603_H100",
            "dig_url_root": "/x", "mode": "passthrough"}
    args.update(change)
    return args


def test_a_complete_contract_passes_and_lists_the_taxonomy():
    report = preflight_urls(**_inputs())
    assert [(e["material"], e["defect_type"]) for e in report["taxonomy"]] == [tuple(e) for e in DEFAULT_TAXONOMY]
    assert preflight_urls(**_inputs(mode="finetune", checkpoint=DIFFUSERS))["mode"] == "finetune"


def test_no_usd():
    with pytest.raises(PreflightError, match=r"ERROR: no USD found under /x/datasets/pcb/assets/0603_H100"):
        preflight_urls(**_inputs(usd_assets={"1152819000/spark_lighting.usd": lambda: None}))


def test_defect_spec_missing():
    with pytest.raises(PreflightError,
                       match=r"ERROR: /x/datasets/pcb/raw/defect_spec.jsonl missing in raw dataset"):
        preflight_urls(**_inputs(raw_spec_files={}))


def test_submask_dir_not_found_for_a_taxonomy_entry():
    args = _inputs(anomaly_types_json='[["IC","bridge"],["passive_component","scratch"]]')
    with pytest.raises(PreflightError,
                       match=r"submask dir not found: /x/datasets/pcb/raw/passive_component/mask/scratch/"):
        preflight_urls(**args)


def test_empty_validation_set():
    blank = {pid: (lambda: np.zeros((16, 16), np.uint8)) for pid in _inputs()["raw_submasks"]}
    with pytest.raises(PreflightError, match=r"empty validation set"):
        preflight_urls(**_inputs(mode="finetune", checkpoint=DIFFUSERS, raw_submasks=blank))
    one_each = {pid: f for pid, f in _inputs()["raw_submasks"].items() if pid.endswith("0000")}
    with pytest.raises(PreflightError, match=r"empty validation set"):
        preflight_urls(**_inputs(mode="finetune", checkpoint=DIFFUSERS, raw_submasks=one_each))


def test_missing_checkpoints():
    with pytest.raises(PreflightError, match=r"no checkpoint found at /x/models/pcb"):
        preflight_urls(**_inputs(params={"backend": "diffusers"}))
    with pytest.raises(PreflightError, match=r"no pretrained inpainting pipeline"):
        preflight_urls(**_inputs(mode="finetune"))


def test_taxonomy_forms():
    expected = [("IC", "bridge"), ("passive_component", "missing")]
    assert parse_taxonomy('[["IC","bridge"],["passive_component","missing"]]') == expected
    assert parse_taxonomy("IC:bridge;passive_component:missing") == expected
    assert parse_taxonomy([["IC", "bridge"], ["passive_component", "missing"]]) == expected
    with pytest.raises(PreflightError, match="unknown defect type"):
        parse_taxonomy('[["IC","tombstone"]]')
    with pytest.raises(PreflightError, match="not a list of"):
        parse_taxonomy('[["IC"]]')


def test_the_pipeline_stops_at_preflight_before_rendering(tmp_path):
    with pytest.raises(PreflightError, match="ERROR: no USD found under"):
        run_pipeline("texture_defect_day0", env="smoke", cwd=tmp_path)
    assert not (tmp_path / "data" / "dig" / "runs" / "demo" / "usd2roi-components" / "trigger_0000").exists()
