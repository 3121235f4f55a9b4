"""HTTP plumbing shared by every endpoint backend (OpenAI-compatible, NIM, Gemini REST).

Timeouts on every call, bounded retries with exponential backoff on connection errors,
timeouts and 429/5xx answers, a health check before a batch, and errors that name the
endpoint and what to check — never a silent empty output. Keys never appear in messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

logger = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class EndpointError(RuntimeError):
    """An endpoint could not serve a request after its retries (message is safe to log)."""


@dataclass
class HttpClient:
    """A small JSON/multipart client for one base URL (``http://host:8000/v1``)."""

    base_url: str
    api_key: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._session = requests.Session()

    def __getstate__(self) -> dict:  # picklable for process executors (no live session)
        state = dict(self.__dict__)
        state.pop("_session", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._session = requests.Session()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send with retries; return the successful response or raise :class:`EndpointError`."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                response = self._session.request(
                    method, url, headers=self._headers(), timeout=self.timeout_s, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in RETRY_STATUS:
                    break
            if attempt < self.max_retries:
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt)
                logger.warning("%s %s failed (%s); retry %d/%d in %.1fs",
                               method, url, last, attempt + 1, self.max_retries, delay)
                self.sleep(delay)
        raise EndpointError(f"{method} {url} failed after {self.max_retries + 1} attempt(s): {last}")

    def post_json(self, path: str, payload: dict) -> dict:
        return self._json(self.request("POST", path, json=payload), path)

    def post_multipart(self, path: str, data: dict, files: dict) -> dict:
        return self._json(self.request("POST", path, data=data, files=files), path)

    def _json(self, response: requests.Response, path: str) -> dict:
        try:
            return response.json()
        except ValueError as exc:
            raise EndpointError(
                f"{self.base_url}/{path.lstrip('/')} answered with a body that is not JSON: "
                f"{response.text[:120]!r}"
            ) from exc

    def health_check(self, path: str = "models") -> dict:
        """``GET /models`` (OpenAI-compatible servers list their models there)."""
        try:
            return self._json(self.request("GET", path), path)
        except EndpointError as exc:
            raise EndpointError(
                f"health check of {self.base_url} failed ({exc}). Is the server running and is "
                "the endpoint parameter the base URL ending in /v1?"
            ) from exc
