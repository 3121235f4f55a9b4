"""Provenance: what a run was asked to do, stored next to what it wrote, secrets redacted."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|api[_-]?key|credential|auth|private[_-]?key)", re.I)
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.I)
REDACTED = "***redacted***"


def redact(value: Any, key: str = "") -> Any:
    """Copy ``value`` with secret-looking keys and URL passwords replaced by a marker."""
    if key and _SECRET_KEY.search(key) and value not in (None, "", {}):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", value)
    return value


def package_versions(names: tuple[str, ...] = ("sdg_factory", "kedro", "numpy", "opencv-python",
                                                "usd-core", "torch", "diffusers")) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def run_record(pipeline: str, env: str | None, runtime_params: dict | None, parameters: dict) -> dict:
    """The resolved configuration of one pipeline run (deterministic: no clock, no host)."""
    return {
        "pipeline": pipeline,
        "env": env,
        "runtime_params": redact(dict(runtime_params or {})),
        "parameters": redact(parameters),
        "versions": package_versions(),
        "outputs": {},  # filled after the run: what made each output's bytes (its manifest's made_by)
    }
