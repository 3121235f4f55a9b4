"""Resume and retry: a generation that fails is recorded in pipeline_state.json, and re-running the
same run_name fills only that gap (the other files are not rewritten)."""

from __future__ import annotations

import json
import uuid

import pytest

from sdg_factory.backends.image_edit import IMAGE_EDITORS, ImageEditError
from sdg_factory.backends.image_edit.classical import ClassicalImageEditor
from sdg_factory.datasets import PartitionFailuresError
from sdg_factory.seeding import item_seed
from tests.kedro_runner import run_pipeline
from tests.reference_object.conftest import run_dir

pytestmark = pytest.mark.slow
RUN_SEED = 20260224  # conf/base/parameters.yml
CALLS: list[int] = []
OUTAGE = {"on": True}  # the failure is transient: the test ends the outage between the two runs


@IMAGE_EDITORS.register("test_fails_on_seeds")
class FailsOnSeeds(ClassicalImageEditor):
    """The classical editor, except that it fails for the given seeds while the outage lasts."""

    def __init__(self, fail_seeds=(), **options):
        super().__init__(**options)
        self.fail_seeds = {int(s) for s in fail_seeds}

    def edit(self, request):
        if OUTAGE["on"] and request.seed in self.fail_seeds:
            CALLS.append(request.seed)
            raise ImageEditError("injected failure")
        return super().edit(request)


SMALL = {"perspectives": {"views": ["front/eye_level", "side_left/eye_level"]}, "num_prompts": 2,
         "enable_qwen_augmentation": False, "enable_annotation": False, "enable_cv_augmentation": False}


def test_failed_generation_is_recorded_then_only_that_gap_is_filled(tmp_path):
    name = f"test-resume-{uuid.uuid4().hex[:8]}"
    target = item_seed(RUN_SEED, "04/perspective_00_front__eye_level/prompt_01/0")
    failing = {"run_name": name, "reference_object": {
        **SMALL, "max_retries": 2, "scene": {"editor": {"backend": "test_fails_on_seeds", "fail_seeds": [target]}}}}
    with pytest.raises(PartitionFailuresError, match="1 partition"):
        run_pipeline("reference_object", env="smoke", params=failing, cwd=tmp_path)
    root = run_dir(tmp_path, name)
    assert CALLS == [target] * 3  # the first attempt and max_retries (2) retries, then recorded
    state = json.loads((root / "pipeline_state.json").read_text())
    [failed] = state["failed_operations"]
    missing = f"perspective_0_prompt_1_seed_{target % 100000:05d}.png"
    assert failed["step"] == 4 and failed["image"] == missing and failed["seed"] == target
    assert "injected failure" in failed["error"] and 4 not in state["completed_steps"]
    written = {p.name: p.stat().st_mtime_ns for p in (root / "04_dataset").glob("*.png")}
    assert len(written) == 3 and missing not in written

    OUTAGE["on"] = False  # same configuration, the server is back: only the gap is filled
    try:
        run_pipeline("reference_object", env="smoke", params=failing, cwd=tmp_path)
    finally:
        OUTAGE["on"] = True
    after = {p.name: p.stat().st_mtime_ns for p in (root / "04_dataset").glob("*.png")}
    assert set(after) == set(written) | {missing}
    assert all(after[k] == v for k, v in written.items())  # nothing else was recomputed
    state = json.loads((root / "pipeline_state.json").read_text())
    assert state["failed_operations"] == [] and 4 in state["completed_steps"]
    assert (root / "04_dataset" / "masks" / missing).is_file()
