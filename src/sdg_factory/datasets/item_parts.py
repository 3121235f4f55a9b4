"""Items computed once and saved as parts to several folders (one node's outputs).

Some nodes make items whose parts go to different folders: a bare-board pair is a test image
(``images/``), a golden image (``golden/``), a mask (``masks/``) and YOLO boxes (``boxes/``),
all from one layout and one set of defects. Returning one independent lazy saver per folder
would compute each item once per folder. Instead the node returns, for each output, an
:class:`ItemParts` dict ``{pid: part_of(item, part)}`` whose ``item`` (a :class:`SharedItem`,
one per id) is shared by every output and computes the parts it is asked for::

    item = SharedItem(make_parts, pid, ...)          # make_parts(pid, ..., parts=(...)) -> {part: value}
    group = PartsGroup()
    images = ItemParts({pid: part_of(item, "image")}, "image", group)
    golden = ItemParts({pid: part_of(item, "golden")}, "golden", group)

During a Kedro run :class:`~sdg_factory.hooks.ItemPartsHooks` tells the group which folder
dataset saves which part (it sees all of a node's outputs before the first is saved). Kedro
saves the outputs one after the other; the first to save *leads*: it asks every other output
which ids its own save would write (the same rules: fingerprint, intact files), and each of its
pool tasks computes an item once, writes the parts those outputs need with their own writers
(the same bytes their own save would write) and then its own part. An output saved next *takes*
those files (its manifest records them as it records any item: a stat, no compute) and records
an item whose task failed as failed, with that task's error. An id no task wrote for it (the
leader kept its own part, the leader's save raised) it computes itself, its own part only.

Outside a Kedro run, or for an output that is not a folder dataset of this project, a
:class:`PartOf` is a plain lazy saver: calling it computes its item's one part.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any


class SharedItemError(RuntimeError):
    """The task that computes all of an item's parts failed (raised where another part is taken)."""


class SharedItem(partial):
    """One item's computation: ``item(parts=("image", "mask"))`` returns ``{part: value}``."""


def _one_part(item: SharedItem, part: str) -> Any:
    return item(parts=(part,))[part]


class PartOf(partial):
    """Part ``part`` of ``item``: a lazy saver that computes only that part when called.

    Its state (set in the saving process by the group, before its output's save plans it)
    says whether the leader's task wrote it (:meth:`taken` returns the files) or failed
    (:meth:`taken` raises that task's error)."""

    @property
    def item(self) -> SharedItem:
        return self.args[0]

    @property
    def part(self) -> str:
        return self.args[1]

    def taken(self, dataset: Any, pid: str) -> list[str] | None:
        """The files of ``pid`` the leader's task wrote to ``dataset`` (None: not written, compute it)."""
        if self.__dict__.get("error") is not None:
            raise SharedItemError(self.__dict__["error"])
        if self.__dict__.get("written"):
            return dataset._files_of(pid)  # noqa: SLF001 - the files the dataset's own writer wrote
        return None


def part_of(item: SharedItem, part: str) -> PartOf:
    """The lazy saver of ``item``'s part ``part``."""
    return PartOf(_one_part, item, part)


def write_parts(pid: str, item: SharedItem, own: str, sinks: tuple[tuple[Any, str], ...]) -> Any:
    """A leader's task: compute the item's parts once, write the other outputs' parts with their
    own writers, and return the leader's own part (which its save then writes)."""
    values = item(parts=(own, *(part for _, part in sinks)))
    for dataset, part in sinks:
        dataset._write_partition(pid, values[part])  # noqa: SLF001 - that folder's own atomic writer
    return values[own]


class ItemParts(dict):
    """``{pid: PartOf}`` for one output of a node, with its ``part`` name and the ``group`` of outputs."""

    def __init__(self, items: dict[str, PartOf], part: str, group: PartsGroup) -> None:
        super().__init__(items)
        self.part, self.group = part, group

    def __reduce__(self):  # a copy (a MemoryDataset, a pickled output) is a plain dict of lazy savers
        return dict, (dict(self),)


class _LeaderTasks(dict):
    """The leader's data: its values wrapped as :func:`write_parts` tasks where other outputs
    need the item; told how each task ended (``job_done``, called by the save)."""

    def __init__(self, items: dict[str, Any], group: PartsGroup) -> None:
        super().__init__(items)
        self._group = group

    def job_done(self, pid: str, error: str | None) -> None:
        self._group.job_done(pid, error)


class PartsGroup:
    """The outputs of one node call that share items (see the module docstring)."""

    def __init__(self) -> None:
        self._outputs: dict[str, tuple[Any, ItemParts]] = {}  # part -> (dataset, its data)
        self._lock = threading.Lock()
        self._led = threading.Event()  # set when the leader's save has ended
        self._leader: Any = None
        self._needed: dict[str, set[str]] = {}  # part -> ids its output's save would write
        self._tasks: dict[str, list[tuple[Any, str]]] = {}  # pid -> (dataset, part) its task writes
        self._done: dict[str, str | None] = {}  # pid -> None (the leader's task succeeded) or its error

    def bind(self, data: ItemParts, dataset: Any) -> None:
        """``dataset`` saves ``data`` (the hooks call this for every output of the node)."""
        if hasattr(dataset, "_planned_ids"):
            self._outputs[data.part] = (dataset, data)

    def save(self, dataset: Any, data: ItemParts, save: Any) -> None:
        """Save ``data`` to ``dataset`` with ``save`` (the folder's own save), as the leader or
        after it (waiting for it when Kedro saves the outputs concurrently, ``--async``)."""
        with self._lock:
            leads = self._leader is None and self._outputs.get(data.part, (None,))[0] is dataset
            if leads:
                self._leader = dataset
        if leads:
            try:
                save(self._lead(data))
            finally:
                self._led.set()
            return
        if self._leader is not None:
            self._led.wait()
        self._take(data)
        if self._leader is None or not self._needed.get(data.part, set()) <= self._done.keys():
            save(data)  # some of its items are computed here
            return
        # every item it writes was written (or failed) in the leader's tasks: a stat each, no pool
        spec, dataset._executor_spec = dataset._executor_spec, "serial"  # noqa: SLF001
        try:
            save(data)
        finally:
            dataset._executor_spec = spec  # noqa: SLF001

    def _lead(self, data: ItemParts) -> _LeaderTasks:
        for part, (dataset, other) in self._outputs.items():
            if part != data.part:
                self._needed[part] = dataset._planned_ids(other)  # noqa: SLF001
        for part, ids in self._needed.items():  # in the order of the node's outputs
            for pid in ids:
                self._tasks.setdefault(pid, []).append((self._outputs[part][0], part))
        return _LeaderTasks({pid: partial(write_parts, pid, value.item, data.part, tuple(self._tasks[pid]))
                             if pid in self._tasks and isinstance(value, PartOf) else value
                             for pid, value in data.items()}, self)

    def job_done(self, pid: str, error: str | None) -> None:
        """The leader's task of ``pid`` ended (``error`` None: it wrote every part it was given)."""
        if pid in self._tasks:
            self._done[pid] = error

    def _take(self, data: ItemParts) -> None:
        """Mark the values of ``data`` the leader's tasks wrote (or failed to write)."""
        for pid in self._needed.get(data.part, ()):
            value = data.get(pid)
            if pid in self._done and isinstance(value, PartOf):
                error = self._done[pid]
                if error is None:
                    value.__dict__["written"] = True
                else:
                    value.__dict__["error"] = (f"{error} (raised by the task that computes all of this item's "
                                               f"parts, saving {self._leader._path})")  # noqa: SLF001
