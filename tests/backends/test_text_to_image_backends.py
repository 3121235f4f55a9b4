"""Text-to-image backends: procedural renderer, OpenAI images and Gemini against a local server,
diffusers with a tiny random-weight pipeline saved and loaded back through the production code."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest

from sdg_factory.backends.text_to_image import TEXT_TO_IMAGE, TextToImageError, TextToImageRequest
from tests.backends.local_http import scripted_server


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def _gradient(h: int = 18, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([x * 7 % 256, y * 13 % 256, (x + y) * 5 % 256]).astype(np.uint8)


# --- procedural ---------------------------------------------------------------------------

def _procedural(archetype: str, seed: int, tags=None) -> np.ndarray:
    backend = TEXT_TO_IMAGE.build_from({"backend": "procedural"})
    tags = tags or ["lighting:fluorescent_overhead", "time_of_day:midday", "occupancy:empty"]
    return backend.generate(TextToImageRequest("ignored", seed=seed, width=192, height=108,
                                               options={"archetype": archetype, "variation_tags": tags}))


def test_procedural_renders_each_archetype_deterministically_at_16_9():
    images = {}
    for archetype in ("kitchen", "warehouse", "grocery", "lab", "office", "home_laundry",
                      "loading_dock", "utility_room"):
        image = _procedural(archetype, seed=5)
        assert image.shape == (108, 192, 3) and image.dtype == np.uint8
        assert np.array_equal(image, _procedural(archetype, seed=5))  # same seed, same pixels
        assert image.std() > 10  # a structured scene, not a flat fill
        images[archetype] = image.astype(np.int16)
    names = list(images)
    for i, a in enumerate(names):  # every archetype looks different from every other
        for b in names[i + 1:]:
            assert np.abs(images[a] - images[b]).mean() > 5, (a, b)
    assert np.abs(_procedural("kitchen", 6).astype(np.int16) - images["kitchen"]).mean() > 2


def test_procedural_lighting_follows_the_tags():
    bright = _procedural("office", 1, ["lighting:led_bright", "time_of_day:midday"])
    dim = _procedural("office", 1, ["lighting:dim_after_hours", "time_of_day:night"])
    assert bright.mean() > dim.mean() + 15
    warm = _procedural("office", 1, ["lighting:warm_pendant", "time_of_day:night"]).astype(float)
    cool = _procedural("office", 1, ["lighting:fluorescent_overhead", "time_of_day:night"]).astype(float)
    assert (warm[..., 0] - warm[..., 2]).mean() > (cool[..., 0] - cool[..., 2]).mean() + 3


def test_procedural_rejects_an_unknown_archetype_with_the_choices():
    with pytest.raises(TextToImageError, match="kitchen"):
        _procedural("spaceship", 0)


# --- openai_images ------------------------------------------------------------------------

def test_openai_images_posts_the_prompt_and_decodes_b64(monkeypatch):
    monkeypatch.setenv("TEST_IMAGES_KEY", "sk-test-123")
    image = _gradient()
    routes = {
        ("GET", "/v1/models"): [(200, {"data": [{"id": "gpt-image-1"}]})],
        ("POST", "/v1/images/generations"): [(503, {"error": "busy"}),
                                             (200, {"data": [{"b64_json": base64.b64encode(_png(image)).decode()}]})],
    }
    with scripted_server(routes) as (url, calls):
        backend = TEXT_TO_IMAGE.build_from({"backend": "openai_images", "endpoint": f"{url}/v1", "model": "gpt-image-1",
                                            "api_key_env": "TEST_IMAGES_KEY", "backoff_s": 0, "send_seed": True})
        backend.health_check()
        out = backend.generate(TextToImageRequest("a lab bench", seed=7, width=1536, height=864))
    assert np.array_equal(out, image)
    posts = [c for c in calls if c["method"] == "POST"]
    assert len(posts) == 2  # the 503 was retried
    body = posts[-1]["json"]
    assert body["prompt"] == "a lab bench" and body["size"] == "1536x864" and body["seed"] == 7
    assert posts[-1]["headers"]["Authorization"] == "Bearer sk-test-123"


def test_openai_images_follows_a_url_answer_and_reports_a_bad_one():
    image = _gradient(9, 16)
    with scripted_server({("GET", "/files/x.png"): [(200, _png(image))]}) as (files, _):
        routes = {("POST", "/v1/images/generations"): [(200, {"data": [{"url": f"{files}/files/x.png"}]}),
                                                       (200, {"data": []})]}
        with scripted_server(routes) as (url, _):
            backend = TEXT_TO_IMAGE.build_from({"backend": "openai_images", "endpoint": f"{url}/v1", "backoff_s": 0,
                                                "allowed_hosts": [files]})  # another port: not the endpoint's
            assert np.array_equal(backend.generate(TextToImageRequest("p")), image)
            with pytest.raises(TextToImageError, match="data"):
                backend.generate(TextToImageRequest("p"))


def test_openai_images_health_check_names_the_endpoint():
    with scripted_server({}) as (url, _):
        backend = TEXT_TO_IMAGE.build_from({"backend": "openai_images", "endpoint": f"{url}/v1", "max_retries": 0})
        with pytest.raises(TextToImageError, match=r"127\.0\.0\.1.*/v1"):
            backend.health_check()


# --- gemini -------------------------------------------------------------------------------

def _gemini_answer(image: np.ndarray | None, finish: str = "STOP") -> dict:
    parts = [{"text": "Here is your scene."}]
    if image is not None:
        parts.append({"inlineData": {"mimeType": "image/png", "data": base64.b64encode(_png(image)).decode()}})
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}]}


def test_gemini_sends_16_9_2k_and_retries_an_answer_without_image():
    image = _gradient(27, 48)
    path = "/v1beta/models/gemini-test-image:generateContent"
    routes = {
        ("GET", "/v1beta/models/gemini-test-image"): [(200, {"name": "models/gemini-test-image"})],
        ("POST", path): [(429, {"error": {"code": 429}}), (200, _gemini_answer(None, "OTHER")),
                         (200, _gemini_answer(image))],
    }
    with scripted_server(routes) as (url, calls):
        backend = TEXT_TO_IMAGE.build_from({"backend": "gemini", "endpoint": f"{url}/v1beta",
                                            "model": "gemini-test-image", "api_key": "g-key", "backoff_s": 0,
                                            "no_image_retries": 2})
        backend.health_check()
        out = backend.generate(TextToImageRequest("a loading dock at dawn"))
    assert np.array_equal(out, image)
    posts = [c for c in calls if c["method"] == "POST"]
    assert len(posts) == 3  # a 429 retried by the client, an image-less answer retried by the backend
    body = posts[-1]["json"]
    assert body["contents"][0]["parts"][0]["text"] == "a loading dock at dawn"
    assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "2K"}
    assert "IMAGE" in body["generationConfig"]["responseModalities"]
    assert posts[-1]["headers"]["x-goog-api-key"] == "g-key"
    assert "Authorization" not in posts[-1]["headers"]


@pytest.mark.parametrize("no_image_retries", [0, 2])
def test_gemini_gives_up_after_no_image_retries_plus_one_requests_with_the_reason(no_image_retries):
    path = "/v1beta/models/m:generateContent"
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "candidates": []}
    with scripted_server({("POST", path): [(200, blocked)]}) as (url, calls):
        backend = TEXT_TO_IMAGE.build_from({"backend": "gemini", "endpoint": f"{url}/v1beta", "model": "m",
                                            "api_key": "k", "no_image_retries": no_image_retries, "backoff_s": 0})
        with pytest.raises(TextToImageError, match=f"after {no_image_retries + 1} attempt.*blockReason=SAFETY"):
            backend.generate(TextToImageRequest("p"))
    assert len(calls) == no_image_retries + 1  # the first request, then the retries


# --- diffusers ----------------------------------------------------------------------------

def _clip_tokenizer(folder):
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    for token in ("ki", "kitchen</w>", "<|startoftext|>", "<|endoftext|>"):
        vocab[token] = len(vocab)
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\nk i\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77), len(vocab)


@pytest.fixture(scope="module")
def tiny_sd_folder(tmp_path_factory):
    """A tiny random-weight StableDiffusionPipeline saved with save_pretrained (no hub access)."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    root = tmp_path_factory.mktemp("tiny_sd")
    tokenizer, vocab = _clip_tokenizer(root / "tokenizer_src")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4)
    vae = AutoencoderKL(block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=4, sample_size=32)
    text = CLIPTextModel(CLIPTextConfig(
        bos_token_id=vocab - 2, eos_token_id=vocab - 1, pad_token_id=vocab - 1, vocab_size=vocab, hidden_size=16,
        intermediate_size=32, num_attention_heads=2, num_hidden_layers=2, projection_dim=16))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(root / "sd")
    return root / "sd"


def test_diffusers_loads_a_saved_pipeline_once_and_generates_seeded_images(tiny_sd_folder):
    from sdg_factory.backends.text_to_image import diffusers_local

    diffusers_local.unload_pipelines()
    config = {"backend": "diffusers", "model_path": str(tiny_sd_folder), "pipeline_class": "StableDiffusionPipeline",
              "device": "cpu", "num_inference_steps": 2, "guidance_scale": 2.0, "size_multiple": 8}
    backend = TEXT_TO_IMAGE.build_from(config)
    backend.health_check()
    request = TextToImageRequest("a kitchen", seed=3, width=70, height=40, negative_prompt="blurry")
    first = backend.generate(request)
    assert first.shape == (40, 64, 3) and first.dtype == np.uint8  # width rounded down to the multiple
    assert len(diffusers_local.PIPELINES) == 1
    again = TEXT_TO_IMAGE.build_from(config).generate(request)  # a new backend object reuses the loaded pipeline
    assert len(diffusers_local.PIPELINES) == 1
    assert np.array_equal(first, again)
    other = backend.generate(TextToImageRequest("a kitchen", seed=4, width=64, height=40))
    assert not np.array_equal(first, other)
    assert diffusers_local.unload_pipelines() == 1


def test_diffusers_names_a_missing_folder_and_an_unknown_class(tmp_path, tiny_sd_folder):
    with pytest.raises(TextToImageError, match="model_index.json"):
        TEXT_TO_IMAGE.build_from({"backend": "diffusers", "model_path": str(tmp_path / "nothing")}).health_check()
    backend = TEXT_TO_IMAGE.build_from({"backend": "diffusers", "model_path": str(tiny_sd_folder),
                                        "pipeline_class": "NoSuchPipeline", "device": "cpu"})
    with pytest.raises(TextToImageError, match="NoSuchPipeline"):
        backend.generate(TextToImageRequest("x", width=32, height=32))


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(ValueError, match="procedural"):
        TEXT_TO_IMAGE.build_from({"backend": "dall-e-9"})


@pytest.mark.parametrize("layout", ["compact", "standard", "open_plan"])
def test_procedural_renders_every_layout_occupancy_and_clutter(layout):
    from sdg_factory.imaging.rooms import ARCHETYPES, render_scene

    for archetype in ARCHETYPES:
        for seed in range(3):
            tags = [f"layout:{layout}", "occupancy:busy_peak", "clutter:heavy_clutter", "time_of_day:evening"]
            image = render_scene(archetype, tags, 48, 27, seed=seed)
            assert image.shape == (27, 48, 3)
