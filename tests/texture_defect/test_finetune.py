"""texture_defect_day0_finetune on CPU with a tiny random-weight inpainting pipeline, through the
same code a GPU user runs: the loss is finite, the checkpoint is written (save_pretrained layout)
and inference loads it."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np

from tests.kedro_runner import run_pipeline
from tests.texture_defect.tiny_inpaint import build_tiny_inpaint_pipeline


def test_finetune_then_inference_with_the_fresh_checkpoint(tmp_path):
    run_pipeline("pcba_setup", env="smoke", cwd=tmp_path)
    dig = tmp_path / "data" / "dig"
    build_tiny_inpaint_pipeline(dig / "models" / "pretrained" / "inpainting")
    run_pipeline("texture_defect_day0_finetune", env="smoke", cwd=tmp_path,
                 params={"run_name": "ft",
                         "anomaly_types_json": "passive_component:excess_solder;passive_component:missing"})
    finetune = dig / "runs" / "ft" / "finetune"
    metrics = json.loads((finetune / "metrics.json").read_text())
    assert len(metrics["train_loss"]) == 2 and all(math.isfinite(v) for v in metrics["train_loss"])
    assert math.isfinite(metrics["validation_loss_after"]) and metrics["validation_examples"] >= 2
    validation = (finetune / "validation.jsonl").read_text().splitlines()
    assert validation and all(json.loads(line)["split"] == "validation" for line in validation)
    checkpoint = finetune / "checkpoint"
    assert (checkpoint / "model_index.json").exists() and any((checkpoint / "unet").glob("*.safetensors"))
    assert json.loads((checkpoint / "sdg_model.json").read_text())["backend"] == "diffusers"
    # the merged LoRA weights differ from the base weights
    from safetensors.numpy import load_file

    base = load_file(next((dig / "models/pretrained/inpainting/unet").glob("*.safetensors")))
    tuned = load_file(next((checkpoint / "unet").glob("*.safetensors")))
    assert set(base) == set(tuned) and any(not np.array_equal(base[k], tuned[k]) for k in base)

    labels = [json.loads(line) for line in (dig / "runs/ft/anomaly/labels.jsonl").read_text().splitlines()]
    assert {r["defect_type"] for r in labels} == {"excess_solder", "missing"}
    for r in labels:
        assert r["backend"] == "diffusers" and r["checkpoint"] == str(checkpoint)
        image = cv2.imread(str(dig / "runs/ft/anomaly" / r["image"]))
        clean = cv2.imread(str(dig / "runs/ft" / r["source_image"]))
        mask = cv2.imread(str(dig / "runs/ft/anomaly" / r["mask"]), cv2.IMREAD_UNCHANGED)
        diff = np.abs(image.astype(int) - clean.astype(int)).mean(axis=2)
        assert diff[mask == 0].max() == 0 and diff[mask > 0].mean() > 1
