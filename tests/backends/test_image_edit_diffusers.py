"""The diffusers backend through its production loading code, with a tiny random-weight
QwenImageEditPipeline built from configs, saved to a temporary folder and loaded back."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.backends.image_edit import IMAGE_EDITORS, EditRequest, ImageEditError, diffusers_local
from tests.backends.tiny_qwen_edit import save_tiny_pipeline
from tests.restyle_fixtures import synthetic_roi


@pytest.fixture(scope="module")
def tiny_qwen_folder(tmp_path_factory):
    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "tiny-qwen-image-edit")


def test_tiny_qwen_image_edit_loads_once_and_edits_a_crop(tiny_qwen_folder, monkeypatch):
    diffusers_local.unload_pipelines()
    loads = []
    import diffusers

    original = diffusers.QwenImageEditPipeline.from_pretrained

    def counting(*args, **kwargs):
        loads.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(diffusers.QwenImageEditPipeline, "from_pretrained", counting)
    config = {"backend": "diffusers", "model_path": str(tiny_qwen_folder), "steps": 2, "guidance": 1.0,
              "min_side": 32, "max_side": 64}
    editor = IMAGE_EDITORS.build_from(config)
    editor.health_check()  # loads the pipeline from the folder
    roi = synthetic_roi(0, size=(24, 40))
    request = EditRequest(image=roi.normal_img[..., :3], prompt="OV to SL", task="restyle", seed=11)
    out = editor.edit(request)
    again = IMAGE_EDITORS.build_from(config).edit(request)  # a second editor reuses the loaded pipeline

    assert len(loads) == 1
    assert loads[0][1]["local_files_only"] is True and loads[0][0][0] == str(tiny_qwen_folder)
    assert editor.pipeline.device.type == diffusers_local.best_device()
    assert out.shape == (24, 40, 3) and out.dtype == np.uint8
    assert out.std() > 0  # a real (random-weight) decode, not a blank
    np.testing.assert_array_equal(out, again)  # seeded
    assert diffusers_local.unload_pipelines() == 1


def test_missing_model_folder_says_how_to_get_it(tmp_path):
    editor = IMAGE_EDITORS.build_from({"backend": "diffusers", "model_path": str(tmp_path / "nope")})
    with pytest.raises(ImageEditError, match="model_index.json.*huggingface-cli download"):
        editor.health_check()


def test_unknown_pipeline_class_is_named(tiny_qwen_folder):
    editor = IMAGE_EDITORS.build_from({"backend": "diffusers", "model_path": str(tiny_qwen_folder),
                                       "pipeline_class": "NoSuchPipeline"})
    with pytest.raises(ValueError, match="NoSuchPipeline"):
        editor.health_check()


def test_device_auto_picks_the_best_device(tiny_qwen_folder):
    """``device: auto`` in conf means the best device, as for the other diffusers backends."""
    editor = IMAGE_EDITORS.build_from({"backend": "diffusers", "model_path": str(tiny_qwen_folder), "device": "auto"})
    assert editor.pipeline.device.type == diffusers_local.best_device()
    diffusers_local.unload_pipelines()
