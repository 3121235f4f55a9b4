"""HTTP plumbing shared by every endpoint backend (OpenAI-compatible, NIM, Gemini REST).

Bounded retries with exponential backoff on connection errors, deadlines and 429/5xx
answers, a health check before a batch, and errors that name the endpoint and what to
check — never a silent empty output. Limits on what a server may send (docs/security.md):

- ``timeout_s`` bounds each attempt as a whole, from connect to the last byte of the body: a
  watchdog shuts the connection's socket at the deadline, so a server that trickles a byte
  every second cannot hold a worker past it;
- ``max_body_bytes`` caps the body, checked against ``Content-Length`` and while streaming
  (the body is never read whole before it is counted);
- ``max_image_pixels`` caps an answer image, read from its header before it is decoded;
- :meth:`HttpClient.fetch` downloads an image URL from an answer only from the endpoint's own
  origin (scheme, host, port) or a host in ``allowed_hosts``, without the API key.

An answer that breaks a limit raises :class:`AnswerRejected` (not retried; the item fails and
is retried on the next run). Keys never appear in messages or logs: every message goes
through :func:`sdg_factory.redaction.scrub`, which also knows this client's own credentials.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from sdg_factory.redaction import install_log_redaction, redact_url, register_secret, register_url_secrets, scrub

logger = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_BODY_BYTES = 64 * 2**20  # 64 MiB: a 4K PNG as base64 JSON is well under it
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # e.g. 8000 x 5000; 120 MB once decoded as RGB
ERROR_BODY_BYTES = 64 * 1024  # what is read of an error answer (for its message)
CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 3


class EndpointError(RuntimeError):
    """An endpoint could not serve a request after its retries (message is safe to log)."""


class AnswerRejected(EndpointError):
    """The server answered, but the answer breaks a limit (size, pixels, host); not retried."""


# --- the deadline watchdog ------------------------------------------------------------------

_current = threading.local()


class _Deadline:
    """Shuts the sockets of the connections this thread takes during the ``with`` block once
    ``seconds`` have passed, which ends any blocked connect, header or body read at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)
            fired = self.fired
        if fired:
            _shutdown(connection)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection)

    def __enter__(self) -> _Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        _current.deadline = None


def _shutdown(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Watched:
    """Connection-pool mixin: each connection handed out is watched by the thread's deadline."""

    def _get_conn(self, timeout: float | None = None):  # noqa: ANN202 - urllib3's signature
        connection = super()._get_conn(timeout)
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(connection)
        return connection


class _WatchedPool(_Watched, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connection pools report each connection to the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any):  # noqa: ANN201
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}
        return manager


def _session() -> requests.Session:
    session = requests.Session()
    adapter = _DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- origins ----------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, the default port filled in."""
    parts = urlsplit(str(url))
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def host_allowed(url: str, base_url: str, allowed_hosts: Iterable[str] = ()) -> bool:
    """Whether an image URL may be fetched: the endpoint's own origin, or an ``allowed_hosts``
    entry (``cdn.example.com``, ``cdn.example.com:8443``, ``*.example.com`` or a full origin
    ``https://cdn.example.com``). Only http(s) is ever fetched."""
    scheme, host, port = origin(url)
    if scheme not in _DEFAULT_PORTS or not host:
        return False
    if (scheme, host, port) == origin(base_url):
        return True
    for entry in allowed_hosts or ():
        entry = str(entry).strip().lower()
        if "://" in entry:
            if origin(entry) == (scheme, host, port):
                return True
            continue
        name, _, entry_port = entry.partition(":")
        if entry_port and entry_port != str(port):
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return True
    return False


# --- images -----------------------------------------------------------------------------------


def image_header_size(data: bytes, max_pixels: int, where: str) -> tuple[int, int]:
    """``(width, height)`` of encoded image bytes from their header (nothing is decoded);
    :class:`AnswerRejected` if the header cannot be read or the image has more than
    ``max_pixels`` pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # lazy: reads the header only
                width, height = image.size
    except Image.DecompressionBombError as exc:
        raise AnswerRejected(
            f"{where}: the answer image is larger than max_image_pixels={max_pixels} ({exc}); "
            "it was not decoded") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise AnswerRejected(f"{where} does not decode to an image (no image header that PIL can read)") from None
    if width * height > int(max_pixels):
        raise AnswerRejected(
            f"{where}: the answer image is {width}x{height} = {width * height} pixels, more than "
            f"max_image_pixels={max_pixels}; it was not decoded")
    return width, height


@dataclass
class HttpClient:
    """A small JSON/multipart client for one base URL (``http://host:8000/v1``)."""

    base_url: str
    api_key: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = 3
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.allowed_hosts = tuple(str(h) for h in (self.allowed_hosts or ()))
        for name, value, low in (("timeout_s", self.timeout_s, 0), ("max_body_bytes", self.max_body_bytes, 0),
                                 ("max_image_pixels", self.max_image_pixels, 0)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > low:
                raise ValueError(f"HTTP limit '{name}' must be a number > 0, got {value!r} "
                                 "(see docs/security.md, HTTP limits)")
        self._protect()
        self._session = _session()

    def _protect(self) -> None:
        """Every log line and message of this process loses this client's credentials."""
        install_log_redaction()
        register_secret(self.api_key)
        register_url_secrets(self.base_url)

    def __getstate__(self) -> dict:  # picklable for process executors (no live session)
        state = dict(self.__dict__)
        state.pop("_session", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._protect()  # a worker process registers the secrets it was sent
        self._session = _session()

    @property
    def safe_url(self) -> str:
        """The base URL as it may be shown (user-info and key-like query values redacted)."""
        return redact_url(self.base_url)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url_for(self, path: str) -> str:
        """``base_url/path``; a query string on the base URL (``…/v1?key=…``) stays at the end."""
        base, _, query = self.base_url.partition("?")
        url = f"{base}/{path.lstrip('/')}"
        return f"{url}{'&' if '?' in url else '?'}{query}" if query else url

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send with retries; return the successful response (body read, within the limits)
        or raise :class:`EndpointError` / :class:`AnswerRejected`."""
        return self._with_retries(method, self.url_for(path), self._headers(), **kwargs)

    def _with_retries(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> requests.Response:
        shown = redact_url(url)
        last = ""
        attempt = 0
        for attempt in range(self.max_retries + 1):  # noqa: B007 - the count is reported
            retry = True
            try:
                response = self._send_once(method, url, headers, **kwargs)
            except AnswerRejected:
                raise
            except requests.RequestException as exc:
                last = f"{type(exc).__name__}: {exc}"
                retry = isinstance(exc, (requests.ConnectionError, requests.Timeout))
            else:
                if response.status_code < 400:
                    return response
                last = f"HTTP {response.status_code}: {scrub(response.text)[:200]}"
                retry = response.status_code in RETRY_STATUS
            last = scrub(last)
            if not retry:
                break
            if attempt < self.max_retries:
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt)
                logger.warning("%s %s failed (%s); retry %d/%d in %.1fs",
                               method, shown, last, attempt + 1, self.max_retries, delay)
                self.sleep(delay)
        raise EndpointError(f"{method} {shown} failed after {attempt + 1} attempt(s): {last}")  # both scrubbed

    def _send_once(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> requests.Response:
        """One attempt, its whole exchange bounded by ``timeout_s`` and its body by
        ``max_body_bytes`` (an error answer is read up to :data:`ERROR_BODY_BYTES` only)."""
        with _Deadline(self.timeout_s) as deadline:
            try:
                response = self._session.request(method, url, headers=headers, stream=True,
                                                 timeout=(self.timeout_s, self.timeout_s), **kwargs)
                try:
                    ok = response.status_code < 400
                    _read_body(response, self.max_body_bytes if ok else ERROR_BODY_BYTES, strict=ok,
                               where=f"{method} {redact_url(url)}")
                finally:
                    response.close()
            except requests.RequestException:
                if deadline.fired:
                    raise requests.Timeout(_too_slow(self.timeout_s)) from None
                raise
            if deadline.fired:  # the socket was shut while a body without a length was read
                raise requests.Timeout(_too_slow(self.timeout_s))
        return response

    def post_json(self, path: str, payload: dict) -> dict:
        return self._json(self.request("POST", path, json=payload), path)

    def post_multipart(self, path: str, data: dict, files: dict) -> dict:
        return self._json(self.request("POST", path, data=data, files=files), path)

    def _json(self, response: requests.Response, path: str) -> dict:
        try:
            return response.json()
        except ValueError as exc:
            raise EndpointError(
                f"{self.safe_url}/{path.lstrip('/')} answered with a body that is not JSON: "
                f"{scrub(response.text)[:120]!r}"
            ) from exc

    def health_check(self, path: str = "models") -> dict:
        """``GET /models`` (OpenAI-compatible servers list their models there)."""
        try:
            return self._json(self.request("GET", path), path)
        except EndpointError as exc:
            raise EndpointError(
                f"health check of {self.safe_url} failed ({exc}). Is the server running and is "
                "the endpoint parameter the base URL ending in /v1?"
            ) from exc

    def fetch(self, url: str, where: str) -> bytes:
        """Download an image URL named in an answer: only from the endpoint's own origin or an
        ``allowed_hosts`` entry (each redirect is checked the same way), never with the API
        key, within the same deadline and body limits."""
        current = str(url)
        for _ in range(MAX_REDIRECTS + 1):
            if not host_allowed(current, self.base_url, self.allowed_hosts):
                scheme, host, port = origin(current)
                raise AnswerRejected(
                    f"{where} names an image at {scheme}://{host}:{port}, which is not the endpoint's "
                    f"own host ({self.safe_url}); add it to the backend's allowed_hosts if it is trusted")
            response = self._with_retries("GET", current, {}, allow_redirects=False)
            if response.is_redirect and response.headers.get("Location"):
                current = urljoin(current, response.headers["Location"])
                continue
            return response.content
        raise AnswerRejected(f"{where}: more than {MAX_REDIRECTS} redirects for the answer image")

    def check_image(self, data: bytes, where: str) -> tuple[int, int]:
        """``(width, height)`` from the image header, refused above ``max_image_pixels``."""
        return image_header_size(data, self.max_image_pixels, where)


def _too_slow(timeout_s: float) -> str:
    return f"no complete answer within timeout_s={timeout_s:g} s (the deadline covers connect to the last byte)"


def _read_body(response: requests.Response, limit: int, strict: bool, where: str) -> None:
    """Read the body in chunks up to ``limit`` bytes; beyond it, :class:`AnswerRejected` when
    ``strict`` (a success answer), else the body is cut there (an error answer)."""
    declared = response.headers.get("Content-Length", "")
    if strict and declared.isdigit() and int(declared) > limit:
        raise AnswerRejected(
            f"{where} answered with a {int(declared)}-byte body, more than max_body_bytes={limit}; "
            "it was not read")
    body = bytearray()
    for chunk in response.iter_content(CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            if strict:
                raise AnswerRejected(
                    f"{where} answered with a body larger than max_body_bytes={limit}; reading stopped there")
            del body[limit:]
            break
    response._content = bytes(body)  # what .json() / .text read from now on
    response._content_consumed = True
