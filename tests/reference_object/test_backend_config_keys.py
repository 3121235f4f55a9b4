"""Every backend key of the reference-object parameters, as the ``gpu`` environment resolves them
(base + gpu soft-merged by Kedro's OmegaConfigLoader), is a real constructor parameter of its
backend; a misspelt key is an error naming the key and its section, never silently ignored."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from sdg_factory.backends.annotation.base import annotator_options
from sdg_factory.backends.annotation.sam2_models import sam2_options
from sdg_factory.backends.image_edit import IMAGE_EDITORS
from sdg_factory.backends.perspectives import PERSPECTIVE_GENERATORS
from sdg_factory.backends.text import TEXT_GENERATORS
from sdg_factory.pipelines.reference_object.nodes import NODE_ANNOTATION_KEYS


def reference_object_params(project_root, env: str) -> dict:
    from kedro.config import OmegaConfigLoader

    from sdg_factory.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(project_root / "conf"), env=env, **CONFIG_LOADER_ARGS)
    return loader["parameters"]["reference_object"]


@pytest.mark.parametrize("env", ["gpu", "smoke"])
def test_every_backend_key_of_the_environment_is_taken_by_its_backend(project_root, env):
    params = reference_object_params(project_root, env)
    perspectives = params["perspectives"]
    backends = [k for k in perspectives if k != "views"]
    assert params["perspective_generator"] in backends
    assert {"qwen_multicamera", "zero123"} <= set(backends)
    for name in backends:  # every section, not only the chosen one; building loads no model
        generator = PERSPECTIVE_GENERATORS.build(name, perspectives[name])
        for key, value in perspectives[name].items():
            assert getattr(generator, {"num_inference_steps": "steps"}.get(key, key)) == value, (name, key)

    prompts = params["prompts"]
    for name in (k for k in prompts if k != "backend"):
        TEXT_GENERATORS.build_from({"backend": name, **prompts[name]}, section=f"prompts.{name}")

    annotation = {k: v for k, v in params["annotation"].items() if k not in NODE_ANNOTATION_KEYS}
    for backend in ("classical", "persam_sam2"):
        _, options = annotator_options({**annotation, "backend": backend})
        assert set(options) <= set(annotation)
    for section in ("annotation", "reference_mask"):
        sam2 = sam2_options(params[section]["sam2"], f"{section}.sam2")
        package_config = resources.files("sam2").joinpath(sam2["config"])
        assert package_config.is_file(), f"{section}.sam2.config {sam2['config']!r} is not in the sam2 package"

    for step in ("white_background", "scene", "augmentation"):
        IMAGE_EDITORS.build_from(params[step]["editor"])


def test_gpu_environment_points_the_generative_backends_at_local_model_folders(project_root):
    params = reference_object_params(project_root, "gpu")
    assert params["perspective_generator"] == "qwen_multicamera"
    qwen = params["perspectives"]["qwen_multicamera"]
    assert qwen["model_path"].endswith("/Qwen-Image-Edit-2509") and qwen["lora_path"]
    zero = params["perspectives"]["zero123"]
    assert zero["model_path"] and zero["custom_pipeline"]
    assert params["prompts"]["backend"] == "openai_chat" and params["annotation"]["backend"] == "persam_sam2"


def test_misspelt_keys_are_named_with_their_section(sample_image, sample_mask):
    with pytest.raises(ValueError,
                       match=r"'lora_pth' \(did you mean 'lora_path'\?\) in 'perspectives.qwen_multicamera'"):
        PERSPECTIVE_GENERATORS.build("qwen_multicamera", {"model_path": "m", "lora_pth": "x"})
    with pytest.raises(ValueError, match="'custom_pipe'.*'perspectives.zero123'"):
        PERSPECTIVE_GENERATORS.build("zero123", {"custom_pipe": "x"})
    with pytest.raises(ValueError, match="'fil'.*'perspectives.classical'"):
        PERSPECTIVE_GENERATORS.build("classical", {"fil": 0.5})
    with pytest.raises(ValueError, match=r"'base_url'.*'prompts.openai_chat'.*endpoint"):
        TEXT_GENERATORS.build_from({"backend": "openai_chat", "base_url": "http://x/v1", "model": "m"},
                                   section="prompts.openai_chat")
    with pytest.raises(ValueError, match=r"'bacth_size' \(did you mean 'batch_size'\?\) in 'annotation'"):
        annotator_options({"backend": "classical", "bacth_size": 4})
    with pytest.raises(ValueError, match="'checkpt'.*'annotation.sam2'"):
        sam2_options({"checkpt": "x.pt"}, "annotation.sam2")
    # another backend's sub-section may sit in the shared section: left out, not passed on
    name, options = annotator_options({"backend": "classical", "batch_size": 2, "sam2": {"config": "c"}})
    assert (name, options) == ("classical", {"batch_size": 2})
    from sdg_factory.backends.annotation import build_annotator

    annotator = build_annotator({"backend": "classical", "batch_size": 2, "sam2": {}}, sample_image, sample_mask)
    assert annotator.batch_size == 2 and isinstance(annotator.annotate([sample_image])[0], np.ndarray)
