"""API keys for endpoint backends: given inline (``api_key``) or, better, by environment variable.

Parameters are persisted with every run (secrets redacted); naming an environment variable
(``api_key_env: GEMINI_API_KEY``) keeps the key out of ``conf/`` altogether.
"""

from __future__ import annotations

import os


def resolve_api_key(api_key: str | None, api_key_env: str | None) -> str | None:
    """The inline key if given, else the value of the named environment variable (or ``None``)."""
    if api_key:
        return str(api_key)
    if api_key_env:
        return os.environ.get(str(api_key_env)) or None
    return None
