"""``openai_images``: an OpenAI-compatible ``POST /images/generations`` endpoint.

Works with OpenAI (``gpt-image-1``), and with local servers that speak the same shape
(LocalAI, vLLM-omni, NIM image endpoints). The answer's ``data[0]`` holds ``b64_json`` or a
``url``; a URL is fetched only from the endpoint's own origin (scheme, host, port) or a host in
``allowed_hosts`` (OpenAI's answers live on its blob storage: list that host), without the API
key. The image is checked from its header before it is decoded: at most ``max_image_pixels``,
and the aspect ratio asked for (``size``, else the request's width x height).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from sdg_factory.backends.api_keys import resolve_api_key
from sdg_factory.backends.http import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, EndpointError, HttpClient
from sdg_factory.backends.image_edit.sizing import answer_size_problem, parse_size
from sdg_factory.backends.text_to_image.base import (
    TextToImageError,
    TextToImageRequest,
    decode_bytes,
)
from sdg_factory.redaction import scrub


class OpenAIImages:
    name = "openai_images"

    def __init__(self, endpoint: str, model: str = "gpt-image-1", api_key: str | None = None,
                 api_key_env: str | None = "OPENAI_API_KEY", size: str | None = None,
                 quality: str | None = None, response_format: str | None = None, send_seed: bool = False,
                 timeout_s: float = 300.0, max_retries: int = 3, backoff_s: float = 2.0,
                 extra_body: dict[str, Any] | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS, allowed_hosts: list[str] | None = None) -> None:
        self.model = model
        self.size = size
        self.quality = quality
        self.response_format = response_format
        self.send_seed = bool(send_seed)
        self.extra_body = dict(extra_body or {})
        self.client = HttpClient(endpoint, resolve_api_key(api_key, api_key_env), timeout_s=timeout_s,
                                 max_retries=max_retries, backoff_s=backoff_s, max_body_bytes=max_body_bytes,
                                 max_image_pixels=max_image_pixels, allowed_hosts=tuple(allowed_hosts or ()))

    def health_check(self) -> None:
        try:
            self.client.health_check()
        except EndpointError as exc:
            raise TextToImageError(str(exc)) from exc

    def generate(self, request: TextToImageRequest) -> np.ndarray:
        payload: dict[str, Any] = {
            "model": self.model,
            "prompt": request.prompt,
            "n": 1,
            "size": self.size or f"{request.width}x{request.height}",
            **self.extra_body,
        }
        if self.quality:
            payload["quality"] = self.quality
        if self.response_format:
            payload["response_format"] = self.response_format
        if self.send_seed:
            payload["seed"] = int(request.seed) % 2**31
        try:
            answer = self.client.post_json("images/generations", payload)
            item = (answer.get("data") or [None])[0]
            if not isinstance(item, dict):
                raise TextToImageError(
                    f"{self.client.safe_url}/images/generations answered without data[0]: "
                    f"{scrub(str(answer))[:200]!r}")
            if item.get("b64_json"):
                try:
                    data = base64.b64decode(item["b64_json"], validate=False)
                except (binascii.Error, ValueError) as exc:
                    raise TextToImageError(f"data[0].b64_json from {self.client.safe_url} is not base64") from exc
            elif item.get("url"):
                try:
                    data = self.client.fetch(str(item["url"]), "data[0].url")
                except EndpointError as exc:
                    raise TextToImageError(f"could not fetch the generated image (data[0].url): {exc}") from exc
            else:
                raise TextToImageError(f"data[0] from {self.client.safe_url} has neither b64_json nor url")
            size = self.client.check_image(data, f"{self.client.safe_url}/images/generations")
        except EndpointError as exc:
            raise TextToImageError(str(exc)) from exc
        expected = parse_size(self.size) or (request.width, request.height)
        problem = answer_size_problem(size, expected, min_scale=0)  # a server may cap the size
        if problem:
            raise TextToImageError(f"{self.client.safe_url}/images/generations: {problem}; the image was not used")
        return decode_bytes(data, f"{self.client.safe_url}/images/generations")
