"""Untrusted names (materials, cells, labels) used as path segments.

Names read from render folders, cookbooks or user parameters become folder names in the
output tree. They must never escape the output root: a name is reduced to one safe path
segment, and joined paths are checked to stay below their root.
"""

from __future__ import annotations

import logging
import posixpath
import re

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class UnsafePathError(ValueError):
    """A partition id or name would write outside its dataset's folder."""


def safe_segment(name: str, what: str = "name") -> str:
    """Return ``name`` as a single safe path segment.

    Separators, ``..``, absolute prefixes and characters outside ``[A-Za-z0-9._+-]`` are
    replaced by ``_``; a changed name is logged once so the user can see the mapping.
    """
    text = str(name).strip()
    safe = _UNSAFE.sub("_", text.replace("\\", "/").replace("/", "_"))
    safe = re.sub(r"\.{2,}", "_", safe).strip("._") or "_"
    if safe != text:
        logger.warning("%s %r is not a safe folder name; writing it as %r", what, name, safe)
    return safe


def check_relative(partition_id: str) -> str:
    """Validate a partition id (``a/b/c``) as a relative path that stays below its root."""
    pid = str(partition_id)
    norm = posixpath.normpath(pid.replace("\\", "/"))
    if (
        not pid
        or pid.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", pid)
        or norm == ".."
        or norm.startswith("../")
        or any(part in ("..", "") for part in pid.replace("\\", "/").split("/"))
        or "\x00" in pid
    ):
        raise UnsafePathError(
            f"partition id {pid!r} is not a relative path below the dataset folder; "
            "ids must not be absolute or contain '..' or empty segments"
        )
    return norm
