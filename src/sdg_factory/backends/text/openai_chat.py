"""``openai_chat``: an OpenAI-compatible ``POST /chat/completions`` endpoint.

Ollama (``http://localhost:11434/v1``), vLLM, NIM, OpenAI, and Gemini's OpenAI-compatible
endpoint (``https://generativelanguage.googleapis.com/v1beta/openai``) all speak it. The
health check is ``GET /models``; retries, timeouts and error messages come from
:class:`~sdg_factory.backends.http.HttpClient`.
"""

from __future__ import annotations

from typing import Any

from sdg_factory.backends.api_keys import resolve_api_key
from sdg_factory.backends.http import DEFAULT_MAX_BODY_BYTES, EndpointError, HttpClient
from sdg_factory.redaction import scrub


def _content_text(content: Any) -> str:
    """``message.content`` as text (a string, or a list of ``{"type": "text", "text": …}`` parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


class OpenAIChat:
    name = "openai_chat"

    def __init__(self, endpoint: str, model: str, api_key: str | None = None,
                 api_key_env: str | None = "OPENAI_API_KEY", send_seed: bool = True,
                 timeout_s: float = 120.0, max_retries: int = 3, backoff_s: float = 1.0,
                 extra_body: dict[str, Any] | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.model = model
        self.send_seed = bool(send_seed)
        self.extra_body = dict(extra_body or {})
        self.client = HttpClient(endpoint, resolve_api_key(api_key, api_key_env), timeout_s=timeout_s,
                                 max_retries=max_retries, backoff_s=backoff_s, max_body_bytes=max_body_bytes)

    def health_check(self) -> None:
        self.client.health_check()

    def generate(self, messages: list[dict[str, str]], *, seed: int = 0, max_tokens: int = 256,
                 temperature: float = 0.8) -> str:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": int(max_tokens),
            "temperature": float(temperature),
            **self.extra_body,
        }
        if self.send_seed:
            payload["seed"] = int(seed) % 2**31
        answer = self.client.post_json("chat/completions", payload)
        try:
            text = _content_text(answer["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError(
                f"{self.client.safe_url}/chat/completions answered without choices[0].message.content: "
                f"{scrub(str(answer))[:200]!r}") from exc
        if not text.strip():
            raise EndpointError(f"{self.client.safe_url}/chat/completions answered with empty content "
                                f"(model {self.model!r})")
        return text.strip()
