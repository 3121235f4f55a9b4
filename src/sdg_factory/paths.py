"""Untrusted names (run_name, board, materials, class_dirs, cells, labels, scene ids) as path segments.

Names read from user parameters, cookbooks or render folders become folder names in the output
tree. They are checked, never rewritten: a name that is empty, ``.``/``..``, absolute, holds a
path separator or a character outside ``[A-Za-z0-9._+-]`` is an error naming the parameter and
the value (:func:`check_segment`), and two different names that would land in one folder (on a
case-insensitive file system) are an error naming both (:func:`check_distinct`). Joined
partition ids are checked to stay below their root (:func:`check_relative`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class UnsafePathError(ValueError):
    """A partition id or name would write outside its dataset's folder."""


class UnsafeNameError(UnsafePathError):
    """A name that becomes one folder or file name is not a plain, safe name."""


def suggest_name(text: str) -> str:
    """A safe spelling of ``text`` to propose in an error (never applied silently)."""
    safe = _UNSAFE.sub("_", text.replace("\\", "/").replace("/", "_"))
    return re.sub(r"\.{2,}", "_", safe).strip("._")


def segment_problem(name: object) -> str | None:
    """Why ``name`` cannot be one folder name, or ``None`` when it can."""
    text = "" if name is None else str(name)
    if not text.strip():
        return "it is empty"
    if text in (".", ".."):
        return "it is '.' or '..' (a reference to a folder, not a name)"
    if text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text):
        return "it is an absolute path"
    if "/" in text or "\\" in text:
        return "it holds a path separator ('/' or '\\\\') where one folder name is expected"
    bad = "".join(sorted({ch for ch in text if _UNSAFE.match(ch)}))
    if bad:
        return f"it holds {bad!r}; use letters, digits and . _ + - only"
    if text.startswith("."):
        return "it starts with '.' (a hidden name)"
    return None


def check_segment(name: object, what: str = "name") -> str:
    """Return ``name`` unchanged when it is a safe single path segment; raise otherwise.

    ``what`` names the parameter (``run_name``, ``class_dirs.capacitor``, ``material``…), so the
    error says which key holds the bad value.
    """
    problem = segment_problem(name)
    if problem:
        hint = suggest_name("" if name is None else str(name))
        raise UnsafeNameError(
            f"{what} {name!r} cannot be used as a folder name: {problem}"
            + (f" (e.g. {hint!r})" if hint and hint != name else "")
        )
    return str(name)


def check_distinct(names: Iterable[tuple[str, object]], what: str) -> None:
    """``names`` is ``(key, name)`` pairs; two different names that fold to the same folder
    name (case-insensitive file systems: macOS, Windows) are an error naming both keys.
    The same name under two keys (two classes sharing one material folder) is allowed."""
    seen: dict[str, tuple[str, str]] = {}
    for key, name in names:
        text = str(name)
        folded = text.casefold()
        if folded in seen and seen[folded][1] != text:
            other_key, other = seen[folded]
            raise UnsafeNameError(
                f"{what}: {other_key} = {other!r} and {key} = {text!r} name the same folder on a "
                "case-insensitive file system, so one would overwrite the other; rename one of them"
            )
        seen.setdefault(folded, (str(key), text))


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
