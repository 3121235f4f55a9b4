"""Cookbooks: the per-board YAML files of the documents, checked and with sentinels resolved.

The documents' runner sed-patches sentinels (``__OUTPUT__``, ``__MAX_IMAGE_COUNT__``) before
launching; here the same substitution is a pure function, and any sentinel left unresolved,
or any key a stage needs but a cookbook lacks, is an error naming the file and the key.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

SENTINEL = re.compile(r"__[A-Z][A-Z0-9_]*__")


class CookbookError(ValueError):
    """A cookbook is missing a key, or holds a value a stage cannot use."""


def resolve_sentinels(doc: Any, values: Mapping[str, Any]) -> Any:
    """Replace sentinels with ``values``; a value that is the whole string keeps its type."""
    if isinstance(doc, dict):
        return {k: resolve_sentinels(v, values) for k, v in doc.items()}
    if isinstance(doc, list):
        return [resolve_sentinels(v, values) for v in doc]
    if isinstance(doc, str):
        whole = doc.strip()
        if whole in values and values[whole] is not None:
            return copy.deepcopy(values[whole])
        return SENTINEL.sub(
            lambda m: str(values[m.group(0)]) if values.get(m.group(0)) is not None else m.group(0), doc
        )
    return doc


def unresolved(doc: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(key path, sentinel)`` for every sentinel still present in ``doc``."""
    found: list[tuple[str, str]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += unresolved(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += unresolved(v, f"{prefix}[{i}]")
    elif isinstance(doc, str):
        found += [(prefix, s) for s in SENTINEL.findall(doc)]
    return found


def check_resolved(doc: Any, source: str) -> None:
    left = unresolved(doc)
    if left:
        where = ", ".join(f"'{k}' ({s})" for k, s in left)
        raise CookbookError(
            f"{source}: unresolved sentinel(s) at {where}. Give the value as a parameter "
            f"(e.g. --params crop_max_emit=5) or replace the placeholder in the cookbook."
        )


def require(doc: Mapping[str, Any], keys: Iterable[str], source: str) -> None:
    """Fail with the file and key when any of ``keys`` (dotted paths) is missing."""
    for key in keys:
        node: Any = doc
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise CookbookError(
                    f"{source} is missing key '{key}'. Add it (see docs/formats.md for the "
                    "cookbook keys each stage reads), or re-create the assets with "
                    "`kedro run --pipeline=pcba_setup`."
                )
            node = node[part]
