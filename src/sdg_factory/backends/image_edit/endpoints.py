"""Image-edit backends over HTTP: OpenAI-compatible images and chat, and NVIDIA NIM.

========================  =================================================================
``openai_images``         ``POST {endpoint}/images/edits``, multipart (``image``, ``prompt``,
                          ``model``, ``response_format=b64_json`` and the generation fields);
                          answer ``data[0].b64_json``
``openai_chat``           ``POST {endpoint}/chat/completions``, one user message with the
                          prompt and the image as a ``data:image/png;base64,…`` URL; the image
                          comes back as an ``image_url`` data URL in the message content (or
                          in ``message.images``)
``nim``                   ``POST {host}/v1/infer`` JSON ``{prompt, image, steps, cfg_scale,
                          seed, negative_prompt}``; answer ``artifacts[0].base64``
========================  =================================================================

All three go through :class:`sdg_factory.backends.http.HttpClient` (a deadline per attempt
from connect to last byte, bounded retries with backoff on connection errors, deadlines, 429
and 5xx, ``max_body_bytes``). ``health_check`` is ``GET {endpoint}/models``, called by the
pipeline before a batch. A body without an image, an image over ``max_image_pixels`` (read
from its header, before decoding), an image of another aspect ratio than the one sent, or an
image URL on a host that is not the endpoint's (nor in ``allowed_hosts``) raises
:class:`ImageEditError` naming the reason; the pipeline records it for that ROI, goes on, and
the next run retries it. Crops are upscaled to the model's working size and the answer is
brought back to crop size.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sdg_factory.backends.http import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    EndpointError,
    HttpClient,
    image_header_size,
)
from sdg_factory.backends.image_edit.base import EditRequest, ImageEditError
from sdg_factory.backends.image_edit.sizing import (
    ModelSizedEditor,
    answer_size_problem,
    back_to_crop,
    parse_size,
    to_model_size,
)
from sdg_factory.imaging.codecs import decode_image, encode_image
from sdg_factory.redaction import redact_url, scrub

logger = logging.getLogger(__name__)

_DATA_URL = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,([A-Za-z0-9+/=\s]+)")
SEED_RANGE = 2**31 - 1


def data_url(image: np.ndarray) -> str:
    """An RGB/RGBA array as a ``data:image/png;base64,…`` URL."""
    return "data:image/png;base64," + base64.b64encode(encode_image(image, ".png")).decode()


def b64_image_bytes(text: Any, where: str) -> bytes:
    """The bytes of base64 text (or of a data URL); anything else is an :class:`ImageEditError`."""
    if not isinstance(text, str) or not text:
        raise ImageEditError(f"{where} is missing or not a string")
    match = _DATA_URL.match(text.strip())
    payload = match.group(1) if match else text
    try:
        return base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageEditError(f"{where} is not valid base64 ({exc})") from exc


def decode_answer_image(raw: bytes, where: str, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                        expected: tuple[int, int] | None = None) -> np.ndarray:
    """Image bytes from an answer to RGB, after the header check (``max_pixels``; the aspect
    ratio of ``expected`` ``(width, height)``): a refused image is never decoded."""
    try:
        size = image_header_size(raw, max_pixels, where)
    except EndpointError as exc:
        raise ImageEditError(str(exc)) from None
    problem = answer_size_problem(size, expected) if expected else None
    if problem:
        raise ImageEditError(f"{where}: {problem}; the answer was not used")
    try:
        return decode_image(raw, "rgb", source=where)
    except Exception as exc:  # noqa: BLE001 - ImageDecodeError from a non-image payload
        raise ImageEditError(f"{where} does not decode to an image") from exc


def decode_b64_image(text: Any, where: str, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                     expected: tuple[int, int] | None = None) -> np.ndarray:
    """Decode base64 (or a data URL) to an RGB array (see :func:`decode_answer_image`)."""
    return decode_answer_image(b64_image_bytes(text, where), where, max_pixels, expected)


def _generation_fields(request, settings: dict) -> dict[str, Any]:
    """The diffusion settings an OpenAI-compatible server takes as extra fields (vLLM-Omni,
    LocalAI…): negative prompt, steps and guidance, each only when given."""
    fields: dict[str, Any] = {}
    if request.negative_prompt:
        fields["negative_prompt"] = request.negative_prompt
    if settings["steps"] is not None:
        fields["num_inference_steps"] = settings["steps"]
    if settings["guidance"] is not None:
        fields["guidance_scale"] = settings["guidance"]
    return fields


def _dig(body: Any, *path: Any) -> Any:
    """``body[p0][p1]…`` or an :class:`ImageEditError` naming the first missing step."""
    node, seen = body, "body"
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise ImageEditError(
                f"malformed answer: {seen}{f'[{step}]' if isinstance(step, int) else '.' + str(step)} "
                f"is missing (got {scrub(str(body))[:160]!r})"
            ) from None
        seen += f"[{step}]" if isinstance(step, int) else f".{step}"
    return node


class _HttpImageEditor(ModelSizedEditor):
    """What the three HTTP routes share: the client, sizing, health check, error mapping."""

    name = "http"
    health_path = "models"

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
        allowed_hosts: list[str] | None = None,
        max_retries: int = 3,
        backoff_s: float = 2.0,
        max_backoff_s: float = 30.0,
        steps: int | None = None,
        guidance: float | None = None,
        extra_body: dict | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **shared: Any,
    ) -> None:
        if not endpoint or not str(endpoint).startswith(("http://", "https://")):
            raise ValueError(
                f"{self.name}: parameter 'image_edit_endpoint' must be an http(s) URL such as "
                f"http://host:8000/v1, got {redact_url(endpoint) if endpoint else endpoint!r}"
            )
        key = api_key or (os.environ.get(api_key_env) if api_key_env else None)
        super().__init__(**shared)
        self.endpoint = str(endpoint).rstrip("/")
        self.client = HttpClient(self._base_url(self.endpoint), api_key=key, timeout_s=timeout_s,
                                 max_retries=max_retries, backoff_s=backoff_s,
                                 max_backoff_s=max_backoff_s, sleep=sleep, max_body_bytes=max_body_bytes,
                                 max_image_pixels=max_image_pixels, allowed_hosts=tuple(allowed_hosts or ()))
        self.steps, self.guidance = steps, guidance
        self.extra_body = dict(extra_body or {})

    @staticmethod
    def _base_url(endpoint: str) -> str:
        return endpoint

    def health_check(self) -> None:
        try:
            body = self.client.health_check(self.health_path)
        except EndpointError as exc:
            raise ImageEditError(f"{self.name} image-edit backend: {exc}") from exc
        served = [m.get("id") for m in body.get("data", []) if isinstance(m, dict)] if isinstance(body, dict) else []
        if self.model and served and self.model not in served:
            logger.warning("%s serves %s, not the configured image_edit_model %r",
                           self.client.safe_url, served, self.model)

    def edit(self, request: EditRequest) -> np.ndarray:
        rgb = np.ascontiguousarray(np.asarray(request.image)[..., :3])
        size = self.model_size(rgb)
        images = [to_model_size(rgb, size)]
        if request.background is not None:
            images.append(to_model_size(np.ascontiguousarray(request.background[..., :3]), size))
        settings = {
            "steps": request.options.get("steps", self.steps),
            "guidance": request.options.get("guidance", self.guidance),
            "seed": int(request.seed) % SEED_RANGE,
        }
        try:
            edited = self._call(request, images, settings)
        except EndpointError as exc:
            raise ImageEditError(f"{self.name}: {exc}") from exc
        return back_to_crop(edited, np.asarray(request.image))

    def _call(self, request: EditRequest, images: list[np.ndarray], settings: dict) -> np.ndarray:
        raise NotImplementedError

    def _expected_size(self, images: list[np.ndarray]) -> tuple[int, int]:
        """``(width, height)`` the answer should have (the aspect ratio of what was sent)."""
        return images[0].shape[1], images[0].shape[0]

    def _answer_image(self, value: Any, where: str, images: list[np.ndarray]) -> np.ndarray:
        """An answer's image — base64, a data URL, or an http(s) URL on the endpoint's own host
        (or ``allowed_hosts``) — checked against the limits, then decoded."""
        if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
            raw = self.client.fetch(value.strip(), where)
        else:
            raw = b64_image_bytes(value, where)
        return decode_answer_image(raw, where, self.client.max_image_pixels, self._expected_size(images))


class OpenAIImagesEditor(_HttpImageEditor):
    """``/images/edits`` of an OpenAI-compatible server (multipart; answer ``data[0].b64_json``)."""

    name = "openai_images"

    def __init__(self, endpoint: str, size: str | None = None, **kwargs: Any) -> None:
        super().__init__(endpoint, **kwargs)
        self.size = size  # e.g. "1024x1024" for servers that only take fixed sizes

    def _call(self, request, images, settings):
        fields: dict[str, Any] = {"prompt": request.prompt, "response_format": "b64_json", "n": 1,
                                  "seed": settings["seed"]}
        if self.model:
            fields["model"] = self.model
        if self.size:
            fields["size"] = self.size
        fields.update(_generation_fields(request, settings))
        fields.update(self.extra_body)
        name = "image" if len(images) == 1 else "image[]"
        files = [(name, (f"image{i}.png", encode_image(im, ".png"), "image/png")) for i, im in enumerate(images)]
        if request.mask is not None and request.options.get("send_mask"):
            files.append(("mask", ("mask.png", encode_image(request.mask, ".png"), "image/png")))
        body = self.client.post_multipart("images/edits", {k: str(v) for k, v in fields.items()}, files)
        item = _dig(body, "data", 0)
        if isinstance(item, dict) and not item.get("b64_json") and isinstance(item.get("url"), str):
            return self._answer_image(item["url"], "data[0].url", images)
        return self._answer_image(_dig(body, "data", 0, "b64_json"), "data[0].b64_json", images)

    def _expected_size(self, images: list[np.ndarray]) -> tuple[int, int]:
        return parse_size(self.size) or super()._expected_size(images)


class OpenAIChatEditor(_HttpImageEditor):
    """``/chat/completions`` with data-URL images in and out (vLLM-omni, OpenRouter, Gemini).

    ``generation_fields: false`` drops the non-standard ``num_inference_steps`` /
    ``guidance_scale`` / ``negative_prompt`` fields for servers that reject unknown ones.
    """

    name = "openai_chat"

    def __init__(self, endpoint: str, generation_fields: bool = True, **kwargs: Any) -> None:
        super().__init__(endpoint, **kwargs)
        self.generation_fields = generation_fields

    def _call(self, request, images, settings):
        content: list[dict] = [{"type": "text", "text": request.prompt}]
        content += [{"type": "image_url", "image_url": {"url": data_url(im)}} for im in images]
        payload: dict[str, Any] = {"messages": [{"role": "user", "content": content}], "seed": settings["seed"]}
        if self.model:
            payload["model"] = self.model
        if self.generation_fields:
            payload.update(_generation_fields(request, settings))
        payload.update(self.extra_body)
        body = self.client.post_json("chat/completions", payload)
        message = _dig(body, "choices", 0, "message")
        url = _first_image_url(message)
        if url is None:
            raise ImageEditError(
                "malformed answer: choices[0].message has no image (looked for an image_url data URL "
                f"in content and in images; got {scrub(str(message))[:160]!r})"
            )
        return self._answer_image(url, "choices[0].message image_url", images)


def _first_image_url(message: Any) -> str | None:
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    parts += message.get("images") or []
    for part in parts:
        if isinstance(part, dict) and "image_url" in part:
            url = part["image_url"]
            url = url.get("url") if isinstance(url, dict) else url
            if isinstance(url, str):
                return url
    if isinstance(content, str):
        match = _DATA_URL.search(content)
        if match:
            return match.group(0)
    return None


class NimImageEditor(_HttpImageEditor):
    """An NVIDIA NIM visual-GenAI service: ``POST {host}/v1/infer`` (``artifacts[0].base64``)."""

    name = "nim"

    @staticmethod
    def _base_url(endpoint: str) -> str:
        return endpoint if endpoint.endswith("/v1") else endpoint + "/v1"

    def _call(self, request, images, settings):
        if len(images) > 1:
            raise ImageEditError("the nim image-edit route takes one image; this task also sends a background")
        payload: dict[str, Any] = {"prompt": request.prompt, "image": data_url(images[0]), "seed": settings["seed"]}
        if settings["steps"] is not None:
            payload["steps"] = settings["steps"]
        if settings["guidance"] is not None:
            payload["cfg_scale"] = settings["guidance"]
        if request.negative_prompt:
            payload["negative_prompt"] = request.negative_prompt
        payload.update(self.extra_body)  # a NIM serves one model: 'model' is not sent
        body = self.client.post_json("infer", payload)
        artifact = _dig(body, "artifacts", 0)
        reason = artifact.get("finishReason") if isinstance(artifact, dict) else None
        if reason and str(reason).upper() not in ("SUCCESS", "STOP"):
            raise ImageEditError(f"the NIM answered finishReason={reason!r} (no usable image)")
        return self._answer_image(_dig(body, "artifacts", 0, "base64"), "artifacts[0].base64", images)
