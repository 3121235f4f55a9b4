"""Keys of a document that record *when* it was written (``planned_at``, ``completed_at``).

Such a key differs on every run even when nothing else does, so a re-run that recomputes the
same content would rewrite the file only to move its clock. A dataset given ``volatile_keys``
keeps the values already on disk while the rest of the document is unchanged: the file is then
byte for byte what it was, and its time means "when this content was first written".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def volatile_keys(keys: Iterable[str] | str | None) -> tuple[str, ...]:
    """The catalog's ``volatile_keys`` (a list, or one name) as a tuple of names."""
    if keys in (None, "", [], ()):
        return ()
    if isinstance(keys, str):
        return (keys,)
    return tuple(str(key) for key in keys)


def keep_recorded_times(new: Any, old: Any, keys: tuple[str, ...]) -> Any:
    """``new`` with ``old``'s values of ``keys`` when the two top-level mappings differ in those
    keys only; ``new`` itself otherwise (or when either is not a mapping). Both are compared as
    they read back from the file (the caller passes ``new`` through its format's dump and parse)."""
    if not keys or not isinstance(new, dict) or not isinstance(old, dict):
        return new
    if set(new) != set(old) or any(new[key] != old[key] for key in new if key not in keys):
        return new
    return {key: (old[key] if key in keys else value) for key, value in new.items()}
