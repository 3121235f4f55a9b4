"""Redaction of secrets: one place that knows what a credential looks like (docs/security.md).

Three layers, used wherever something is written (provenance, configs, manifests, errors, logs):

- :func:`redact` copies a configuration structure with the values of secret-looking keys
  (``api_key``, ``password``, ``token``, ``sig``…) and of every string under an
  ``extra_body`` / ``headers`` section replaced by :data:`REDACTED`, and every string passed
  through :func:`scrub`.
- :func:`scrub` cleans free text: URL user-info (``http://user:pass@host``), credential-like
  query parameters (``?key=…``, ``api_key=``, ``token=``, ``sig=``…), ``Authorization`` /
  ``x-api-key``-style header values, ``Bearer``/``Basic`` tokens and ``"api_key": "…"`` pairs,
  plus every secret value registered with :func:`register_secret` (the keys an HTTP client
  was built with, so a server that echoes them back in an error body is cleaned too).
- :func:`install_log_redaction` makes every log record of the process go through
  :func:`scrub` (a record factory, so it covers every logger and handler);
  :class:`SecretsFilter` does the same as a ``logging.Filter`` for a handler of your own.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

REDACTED = "***redacted***"

# dict keys whose values are secrets (configuration, JSON bodies)
SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token(?!s$)|api[_-]?key|credential|auth|private[_-]?key|signature"
    r"|^sig$|^key$|_key$|^pwd$|cookie|session)", re.I)
# sections whose string values are all treated as secrets (opaque fields sent to a server)
SECRET_SECTIONS = re.compile(r"^(extra_body|extra_headers|headers|default_headers)$", re.I)
# query-string parameter names whose values are secrets
SECRET_PARAM = (r"[A-Za-z0-9_.\-]*(?:key|token|sig|signature|secret|pass(?:word)?|pwd|auth|credential"
                r"|session|code)[A-Za-z0-9_.\-]*")
# header names whose values are secrets
SECRET_HEADER = r"(?:authorization|proxy-authorization|x-[a-z0-9-]*(?:key|token|auth|secret)[a-z0-9-]*|api-key|cookie)"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s?#'\"]+)@", re.I)
_QUERY_SECRET = re.compile(rf"(?P<name>[?&;](?:{SECRET_PARAM})=)(?P<value>[^&#;\s'\"<>]*)", re.I)
_HEADER_LINE = re.compile(rf"(?P<name>\b{SECRET_HEADER}['\"]?\s*[:=]\s*['\"]?)(?P<value>[^'\"\r\n,}}]+)", re.I)
_SCHEME_TOKEN = re.compile(r"(?P<name>\bBearer\s+)(?P<value>[A-Za-z0-9\-._~+/=]{4,})", re.I)
_JSON_SECRET = re.compile(
    r"(?P<name>['\"][A-Za-z0-9_\-]*(?:api[_-]?key|token|secret|password|passwd)['\"]\s*:\s*['\"])"
    r"(?P<value>[^'\"]+)", re.I)

MIN_SECRET_LENGTH = 4  # shorter registered values would blank ordinary words; patterns still apply

_known: set[str] = set()
_known_lock = threading.Lock()


def register_secret(value: Any) -> None:
    """Remember ``value`` (and its URL-quoted and base64 forms) as a secret to scrub everywhere."""
    if value is None:
        return
    text = str(value)
    if len(text) < MIN_SECRET_LENGTH:
        return
    forms = {text, quote(text, safe=""), quote_plus(text), base64.b64encode(text.encode()).decode()}
    forms.add(base64.b64encode(text.encode()).decode().rstrip("="))
    with _known_lock:
        _known.update(f for f in forms if len(f) >= MIN_SECRET_LENGTH)


def register_url_secrets(url: str) -> None:
    """Register the password of ``url``'s user-info, the ``user:pass`` pair (what a Basic
    ``Authorization`` header carries) and the values of key-like query parameters."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return
    if parts.password:
        register_secret(unquote(parts.password))
        register_secret(parts.password)
        register_secret(f"{unquote(parts.username or '')}:{unquote(parts.password)}")
    for match in _QUERY_SECRET.finditer("?" + parts.query if parts.query else ""):
        register_secret(match.group("value"))
        register_secret(unquote(match.group("value")))


def known_secrets() -> tuple[str, ...]:
    with _known_lock:
        return tuple(sorted(_known, key=len, reverse=True))  # longest first: no partial leftovers


def forget_secrets() -> None:
    """Drop the registered secrets (tests)."""
    with _known_lock:
        _known.clear()


def scrub(text: Any, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """``text`` with every credential replaced by :data:`REDACTED` (see the module docstring).

    ``secrets`` adds values to remove besides the registered ones. Safe on any text; this is
    the function to call on anything a server said before it is written or logged."""
    out = str(text)
    for secret in (*[s for s in secrets if s and len(str(s)) >= MIN_SECRET_LENGTH], *known_secrets()):
        if secret in out:
            out = out.replace(str(secret), REDACTED)
    out = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", out)
    out = _QUERY_SECRET.sub(_keep_name, out)
    out = _HEADER_LINE.sub(_keep_name, out)
    out = _SCHEME_TOKEN.sub(_keep_name, out)
    return _JSON_SECRET.sub(_keep_name, out)


def _keep_name(match: re.Match) -> str:
    value = match.group("value")
    return match.group("name") + (value if REDACTED in value else REDACTED)


def redact_url(url: str) -> str:
    """``url`` without user-info and with key-like query values redacted (``None`` stays ``None``)."""
    if url is None:
        return url
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return scrub(url)
    if not parts.scheme or not parts.netloc:
        return scrub(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{REDACTED}@{netloc}" if "@" in parts.netloc else netloc
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def redact(value: Any, key: str = "", _in_secret_section: bool = False) -> Any:
    """Copy ``value`` with secret-looking keys, opaque request sections and credentials in
    strings replaced by :data:`REDACTED` (``None`` and empty values are kept: they say "unset")."""
    if key and SECRET_KEY.search(key) and value not in (None, "", {}, []):
        return REDACTED
    section = _in_secret_section or bool(key and SECRET_SECTIONS.match(key))
    if isinstance(value, dict):
        return {k: redact(v, str(k), section) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, "", section) for v in value]
    if isinstance(value, str):
        return REDACTED if section and value else scrub(value)
    return value


# --- logs --------------------------------------------------------------------------------------


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Format the record's message once, scrubbed; pre-format its traceback, scrubbed."""
    if record.msg is getattr(record, "_sdg_clean", None) and not record.args:
        return record  # already done (a filter after the record factory)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logged as it is
        return record
    clean = scrub(message)
    record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    record._sdg_clean = record.msg
    return record


class SecretsFilter(logging.Filter):
    """A ``logging.Filter`` that scrubs each record (for handlers configured by hand, e.g. in
    ``conf/logging.yml``: ``filters: {secrets: {(): sdg_factory.redaction.SecretsFilter}}``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


_installed = False
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Scrub every log record of this process (idempotent; called by settings and HTTP clients)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return scrub_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
