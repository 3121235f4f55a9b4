"""The generative perspective backends through their production loading code, with tiny
random-weight models saved to temporary folders and loaded back (no hub access):

- ``qwen_multicamera``: a tiny ``QwenImageEditPipeline`` plus a tiny random multi-angle LoRA for
  its transformer, saved with ``save_lora_weights`` and given as a folder and as a file;
- ``zero123``: a tiny Zero123++-like model folder whose pipeline class diffusers loads from the
  local ``custom_pipeline`` code in ``tests/backends/tiny_zero123plus/pipeline.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdg_factory.backends.perspectives import PERSPECTIVE_GENERATORS, _models, zero123
from sdg_factory.imaging.views import ViewSpec
from tests.backends.tiny_qwen_edit import save_tiny_pipeline
from tests.backends.tiny_zero123 import PIPELINE_FOLDER, save_tiny_zero123


def object_on_white(h: int = 48, w: int = 40) -> np.ndarray:
    """A red block with a blue patch in its top-left corner (left/right is visible) on white."""
    image = np.full((h, w, 3), 255, np.uint8)
    image[8:40, 8:30] = (200, 40, 40)
    image[10:18, 10:16] = (30, 30, 200)
    return image


@pytest.fixture(autouse=True)
def fresh_model_cache():
    _models.unload_all()
    zero123._GRIDS.clear()
    yield
    _models.unload_all()
    zero123._GRIDS.clear()


# --------------------------------------------------------------------------------------
# qwen_multicamera
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def qwen_folders(tmp_path_factory):
    """(pipeline folder, LoRA folder, LoRA .safetensors file)."""
    from diffusers import QwenImageEditPipeline, QwenImageTransformer2DModel
    from peft import LoraConfig, get_peft_model_state_dict

    root = tmp_path_factory.mktemp("qwen_multicamera")
    pipe_folder = save_tiny_pipeline(root / "Qwen-Image-Edit")
    transformer = QwenImageTransformer2DModel.from_pretrained(pipe_folder / "transformer")
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # lora_B starts at zero (a no-op adapter): make it change the output
        for name, param in transformer.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    lora_folder = root / "Multiple-Angles-LoRA"
    QwenImageEditPipeline.save_lora_weights(str(lora_folder),
                                            transformer_lora_layers=get_peft_model_state_dict(transformer))
    return pipe_folder, lora_folder, lora_folder / "pytorch_lora_weights.safetensors"


def test_qwen_multicamera_loads_the_lora_once_and_edits_each_view(qwen_folders, monkeypatch):
    from diffusers import DiffusionPipeline

    pipe_folder, lora_folder, lora_file = qwen_folders
    loads = []
    original = DiffusionPipeline.from_pretrained

    def counting(*args, **kwargs):
        loads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(DiffusionPipeline, "from_pretrained", counting)
    image, view = object_on_white(), ViewSpec("front_right", "elevated")
    config = {"model_path": str(pipe_folder), "num_inference_steps": 2, "size": 32}

    def generate(lora, seed=3, v=view):
        gen = PERSPECTIVE_GENERATORS.build("qwen_multicamera", {**config, "lora_path": str(lora) if lora else None})
        return gen.generate(image, None, v, 0, seed=seed)

    with_folder = generate(lora_folder)
    assert len(loads) == 1 and loads[0]["local_files_only"] is True
    assert loads[0]["dtype"] == torch.float32  # conf's bfloat16 becomes float32 on the CPU
    pipe = next(iter(_models.MODELS.values()))
    assert pipe.get_active_adapters() == ["multi_angle"]
    calls = []
    original_call = type(pipe).__call__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original_call(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    again = generate(lora_folder)  # a new generator with the same config reuses the loaded pipeline
    other_seed = generate(lora_folder, seed=4)
    other_view = generate(lora_folder, v=ViewSpec("back_left", "low_angle", "close_up"))
    assert len(loads) == 1
    assert [c["prompt"] for c in calls] == ["<sks> front-right quarter view elevated shot medium shot"] * 2 + [
        "<sks> back-left quarter view low-angle shot close-up"]
    assert calls[0]["height"] == calls[0]["width"] == 32 and calls[0]["num_inference_steps"] == 2

    assert with_folder.shape == image.shape and with_folder.dtype == np.uint8
    assert with_folder.std() > 0
    np.testing.assert_array_equal(with_folder, again)  # seeded
    assert not np.array_equal(with_folder, other_seed)
    assert not np.array_equal(with_folder, other_view)  # the prompt reaches the model

    with_file = generate(lora_file)  # the LoRA as a .safetensors file: the same weights
    without_lora = generate(None)
    assert len(loads) == 3
    np.testing.assert_array_equal(with_file, with_folder)
    assert np.abs(without_lora.astype(int) - with_folder.astype(int)).mean() > 1.0  # the adapter acts


def test_qwen_multicamera_rejects_a_bad_dtype_and_a_missing_lora(qwen_folders, tmp_path):
    pipe_folder, _, _ = qwen_folders
    gen = PERSPECTIVE_GENERATORS.build("qwen_multicamera", {"model_path": str(pipe_folder), "dtype": "fp8"})
    with pytest.raises(ValueError, match="perspectives.qwen_multicamera.dtype"):
        gen.generate(object_on_white(), None, ViewSpec(), 0, seed=1)
    gen = PERSPECTIVE_GENERATORS.build("qwen_multicamera", {"model_path": str(pipe_folder),
                                                            "lora_path": str(tmp_path / "no_lora")})
    with pytest.raises(FileNotFoundError, match="perspectives.qwen_multicamera.lora_path"):
        gen.generate(object_on_white(), None, ViewSpec(), 0, seed=1)


# --------------------------------------------------------------------------------------
# zero123
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zero123_folder(tmp_path_factory):
    return save_tiny_zero123(tmp_path_factory.mktemp("zero123") / "zero123plus-v1.2")


SIX = ["perspective_00_front_right__elevated", "perspective_01_side_right__low_angle",
       "perspective_02_back_right__elevated", "perspective_03_back_left__low_angle",
       "perspective_04_side_left__elevated", "perspective_05_front_left__low_angle"]


def test_zero123_six_views_from_one_grid_through_the_local_custom_pipeline(zero123_folder):
    from sdg_factory.pipelines.reference_object.nodes import generate_perspectives

    image = object_on_white()
    params = {"perspective_generator": "zero123", "max_retries": 1,
              "perspectives": {"views": ["front/eye_level"],  # zero123 makes its six whatever is asked
                               "zero123": {"model_path": str(zero123_folder), "custom_pipeline": str(PIPELINE_FOLDER),
                                           "num_inference_steps": 2, "dtype": "float16"}}}
    items = generate_perspectives(image, params, seed=7)  # the step's lazy savers, as the run uses them
    assert sorted(items) == SIX
    outputs = {name: saver() for name, saver in items.items()}

    gen = PERSPECTIVE_GENERATORS.build("zero123", params["perspectives"]["zero123"])
    pipe = gen._pipeline()
    # diffusers built the pipeline class from the local custom_pipeline code, not a stand-in
    assert type(pipe).__name__ == "TinyZero123PlusPipeline"
    assert type(pipe).__module__.startswith("diffusers_modules.local")
    assert pipe.unet.dtype == torch.float32  # float16 in conf, float32 on the CPU
    assert pipe.calls == 1  # one grid for the six views of this image and seed

    for i, name in enumerate(SIX):
        rgb, mask = outputs[name]["image"], outputs[name]["mask"]
        assert rgb.shape == image.shape and rgb.dtype == np.uint8
        border = np.concatenate([rgb[:2].reshape(-1, 3), rgb[-2:].reshape(-1, 3),
                                 rgb[:, :2].reshape(-1, 3), rgb[:, -2:].reshape(-1, 3)])
        assert (border == 255).all(), name  # the grid's grey backdrop became white
        assert 0.2 < (mask > 0).mean() < 0.6, name
        # the tile keeps the object (mostly red) and left-hand poses are the mirrored tiles
        ys, xs = np.nonzero((rgb[..., 2] > 120) & (rgb[..., 0] < 120))
        assert len(xs) > 10, name
        blue_on_left = xs.mean() < image.shape[1] / 2
        assert blue_on_left == (i < 3), name

    # the same image and seed again: the same views, from the cache of the grid
    again = generate_perspectives(image, params, seed=7)[SIX[2]]()
    assert pipe.calls == 1
    np.testing.assert_array_equal(again["image"], outputs[SIX[2]]["image"])
    # a fresh process would re-run the model: same seed, same pixels; another seed, others
    zero123._GRIDS.clear()
    np.testing.assert_array_equal(gen.generate(image, None, gen.views([])[2], 2, seed=items[SIX[2]].args[5]),
                                  outputs[SIX[2]]["image"])
    assert pipe.calls == 2
    other = gen.generate(image, None, gen.views([])[2], 2, seed=1)
    assert pipe.calls == 3 and not np.array_equal(other, outputs[SIX[2]]["image"])


def test_zero123_custom_pipeline_as_a_py_file_and_missing_code(zero123_folder, tmp_path):
    image = object_on_white()
    gen = PERSPECTIVE_GENERATORS.build("zero123", {"model_path": str(zero123_folder), "num_inference_steps": 1,
                                                   "custom_pipeline": str(PIPELINE_FOLDER / "pipeline.py")})
    views = gen.views([])
    assert gen.generate(image, None, views[0], 0, seed=1).shape == image.shape
    empty = tmp_path / "zero123plus-pipeline"
    empty.mkdir()
    gen = PERSPECTIVE_GENERATORS.build("zero123", {"model_path": str(zero123_folder), "custom_pipeline": str(empty)})
    with pytest.raises(FileNotFoundError, match="perspectives.zero123.custom_pipeline.*pipeline.py"):
        gen.generate(image, None, views[0], 0, seed=1)


def test_the_perspective_model_is_freed_once_its_step_is_saved(zero123_folder):
    """``ModelMemoryHooks``: after a dataset save the single-step caches are empty, so the next
    step's model (the image editor) does not share the GPU with the perspective model."""
    from sdg_factory.backends.perspectives import _models
    from sdg_factory.hooks import ModelMemoryHooks
    from sdg_factory.settings import HOOKS

    assert any(isinstance(hook, ModelMemoryHooks) for hook in HOOKS)
    gen = PERSPECTIVE_GENERATORS.build("zero123", {"model_path": str(zero123_folder),
                                                   "custom_pipeline": str(PIPELINE_FOLDER), "num_inference_steps": 2})
    pipe = gen._pipeline()
    assert pipe in _models.MODELS.values()
    ModelMemoryHooks().after_dataset_saved("reference_object.perspectives", {}, node=None)
    assert not len(_models.MODELS)
    assert gen._pipeline() is not pipe  # loaded again on demand
    assert _models.unload_all() == 1 and _models.unload_all() == 0
