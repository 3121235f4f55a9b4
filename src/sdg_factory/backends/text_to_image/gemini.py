"""``gemini``: Gemini image generation over the REST ``generateContent`` call (google-genai shape).

``POST {endpoint}/models/{model}:generateContent`` with the prompt as a text part and
``generationConfig.imageConfig`` = ``{aspectRatio: "16:9", imageSize: "2K"}``; the image comes
back as a base64 ``inlineData`` part. No SDK is needed (the google-genai client sends this
same request). Transport errors, 429 and 5xx are retried by :class:`HttpClient`; an answer
without an image (safety block, text-only reply) is asked again up to ``no_image_retries`` times
(``no_image_retries + 1`` requests; ``max_retries`` counts retries the same way) and then
reported with the model's finish reason. The image is checked from its header before it
is decoded (``max_image_pixels``, and the ``aspect_ratio`` asked for).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import numpy as np

from sdg_factory.backends.api_keys import resolve_api_key
from sdg_factory.backends.http import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, EndpointError, HttpClient
from sdg_factory.backends.image_edit.sizing import answer_size_problem
from sdg_factory.backends.text_to_image.base import (
    TextToImageError,
    TextToImageRequest,
    decode_bytes,
)
from sdg_factory.redaction import scrub

logger = logging.getLogger(__name__)

GEMINI_REST = "https://generativelanguage.googleapis.com/v1beta"


class GeminiHttpClient(HttpClient):
    """Gemini authenticates with an ``x-goog-api-key`` header instead of a bearer token."""

    def _headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key} if self.api_key else {}


def _inline_images(answer: dict) -> list[bytes]:
    images = []
    for candidate in answer.get("candidates") or []:
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData") or part.get("inline_data")
            if inline and str(inline.get("mimeType") or inline.get("mime_type") or "image").startswith("image"):
                images.append(base64.b64decode(inline.get("data") or ""))
    return images


def _why_no_image(answer: dict) -> str:
    reasons = [str(c.get("finishReason")) for c in answer.get("candidates") or [] if c.get("finishReason")]
    block = (answer.get("promptFeedback") or {}).get("blockReason")
    text = " ".join(p.get("text", "") for c in answer.get("candidates") or []
                    for p in (c.get("content") or {}).get("parts") or [] if p.get("text"))
    parts = [f"finishReason={','.join(reasons)}" if reasons else "", f"blockReason={block}" if block else "",
             f"text={scrub(text)[:120]!r}" if text else ""]
    return "; ".join(p for p in parts if p) or "no candidates"


class GeminiImages:
    name = "gemini"

    def __init__(self, model: str = "gemini-3-pro-image-preview", endpoint: str = GEMINI_REST,
                 api_key: str | None = None, api_key_env: str | None = "GEMINI_API_KEY",
                 aspect_ratio: str = "16:9", image_size: str = "2K", google_search: bool = False,
                 no_image_retries: int = 2, timeout_s: float = 300.0, max_retries: int = 3,
                 backoff_s: float = 2.0, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
        self.model = model
        self.aspect_ratio = aspect_ratio
        self.image_size = image_size
        self.google_search = bool(google_search)
        self.attempts = max(0, int(no_image_retries)) + 1
        key = resolve_api_key(api_key, api_key_env)
        self.client = GeminiHttpClient(endpoint, key, timeout_s=timeout_s, max_retries=max_retries,
                                       backoff_s=backoff_s, max_body_bytes=max_body_bytes,
                                       max_image_pixels=max_image_pixels)
        self._has_key = bool(key)
        self._key_env = api_key_env

    def health_check(self) -> None:
        if not self._has_key and "googleapis.com" in self.client.base_url:
            raise TextToImageError(
                f"no Gemini API key: set the environment variable {self._key_env} "
                "(or scene_generation.image.api_key_env to the variable that holds it)")
        try:
            self.client.health_check(f"models/{self.model}")
        except EndpointError as exc:
            raise TextToImageError(f"{exc} (is the model name {self.model!r} right?)") from exc

    def payload(self, request: TextToImageRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "generationConfig": {
                "responseModalities": ["TEXT", "IMAGE"],
                "imageConfig": {"aspectRatio": self.aspect_ratio, "imageSize": self.image_size},
            },
        }
        if self.google_search:
            body["tools"] = [{"google_search": {}}]
        return body

    def generate(self, request: TextToImageRequest) -> np.ndarray:
        path = f"models/{self.model}:generateContent"
        why = ""
        for attempt in range(1, self.attempts + 1):
            try:
                answer = self.client.post_json(path, self.payload(request))
            except EndpointError as exc:
                raise TextToImageError(str(exc)) from exc
            images = _inline_images(answer)
            if images:
                return self._decode(images[0], f"{self.client.safe_url}/{path}")
            why = _why_no_image(answer)
            logger.warning("Gemini answered without an image (%s); attempt %d/%d", why, attempt, self.attempts)
        raise TextToImageError(
            f"{self.client.safe_url}/{path} returned no image after {self.attempts} attempt(s) ({why}). "
            "A safety block usually needs a different prompt; see the prompt in prompts.jsonl.")

    def _decode(self, data: bytes, source: str) -> np.ndarray:
        """Header first: more than ``max_image_pixels`` or another aspect ratio is refused undecoded."""
        try:
            size = self.client.check_image(data, source)
        except EndpointError as exc:
            raise TextToImageError(str(exc)) from None
        expected = _aspect(self.aspect_ratio)
        problem = answer_size_problem(size, (size[0], max(1, round(size[0] * expected[1] / expected[0]))),
                                      min_scale=0) if expected else None
        if problem:
            raise TextToImageError(f"{source}: {problem}; the image was not used (aspect_ratio {self.aspect_ratio})")
        return decode_bytes(data, source)


def _aspect(text: str) -> tuple[int, int] | None:
    """``"16:9"`` → ``(16, 9)``; anything else → ``None`` (not checked)."""
    width, sep, height = str(text or "").partition(":")
    return (int(width), int(height)) if sep and width.isdigit() and height.isdigit() and int(height) else None
