"""``LazyItem``: a loaded item whose parts are read when first used.

A folder item such as ``{"image": rgb, "mask": gray}`` is often read for one part: a report that
needs a YOLO item's label, a step that needs a composite's mask. Decoding every part of every item
anyway cost whole seconds of a run. A ``LazyItem`` is a read-only mapping with the item's keys;
``item["mask"]`` reads and decodes the mask (once) and nothing else. ``dict(item)`` (or pickling
it) reads every part: it stands for the plain dict a loader used to return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any


class LazyItem(Mapping):
    def __init__(self, parts: Mapping[str, Callable[[], Any]]) -> None:
        self._parts = dict(parts)
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            self._values[key] = self._parts[key]()  # KeyError for a key the item has not
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def copy(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> tuple:
        return dict, (dict(self),)

    def __repr__(self) -> str:
        read = ", ".join(f"{k!r}: {'…' if k not in self._values else type(self._values[k]).__name__}"
                         for k in self._parts)
        return f"LazyItem({{{read}}})"
