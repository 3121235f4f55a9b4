"""Items whose parts go to several folders (:mod:`sdg_factory.datasets.item_parts`): the first
folder saved computes each item once and writes every folder's part; the others take those
files. The bytes are those of four independent per-part saves; a failing item is failed in
every folder; a folder missing some items computes just those; concurrent saves wait for the
leader; a ``PartOf`` saved without its group is a plain lazy saver."""

from __future__ import annotations

import json
import os
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.datasets.item_parts import ItemParts, PartsGroup, SharedItem, part_of
from sdg_factory.fingerprints.context import NodeFingerprint
from sdg_factory.hooks import ItemPartsHooks

PARTS = ("image", "golden", "mask", "boxes")
IDS = [f"{k:04d}" for k in range(6)]


def make_parts(pid: str, log: str, fail: str = "", parts: tuple[str, ...] = PARTS) -> dict:
    """A seeded item's parts; appends one line per call to ``log`` (calls from pool workers too)."""
    with open(log, "a") as handle:
        handle.write(f"{pid} {','.join(parts)}\n")
    if pid == fail:
        raise RuntimeError(f"item {pid}: no window holds its first defect")
    rng = np.random.default_rng(int(pid))
    image = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    values = {"image": image, "golden": 255 - image, "mask": np.where(image > 128, 255, 0).astype(np.uint8),
              "boxes": f"{int(pid) % 6} 0.5 0.5 0.25 0.25\n"}
    return {part: values[part] for part in parts}


def one_part(pid: str, part: str, log: str, fail: str = "") -> object:
    """The per-part lazy saver as nodes wrote it before: the whole item, one part kept."""
    return make_parts(pid, log, fail, (part,))[part]


def folders(root: Path, executor) -> dict[str, PartitionedDataset]:
    """The four outputs as the bare-board catalog declares them (PNG images, text boxes)."""
    image = {"type": ImageDataset, "load_args": {"mode": "gray"}}
    kinds = {"image": (image, ".png"), "golden": (image, ".png"), "mask": (image, ".png"),
             "boxes": ("kedro_datasets.text.TextDataset", ".txt")}
    return {part: PartitionedDataset(path=str(root / part), dataset=kind, filename_suffix=suffix,
                                     executor=executor, progress=False) for part, (kind, suffix) in kinds.items()}


def fingerprint() -> NodeFingerprint:
    return NodeFingerprint("n", static="s", whole="w", made_by={"fingerprint": "w"})


class Catalog(dict):
    def get(self, name):
        return self[name]


def node_outputs(log: str, fail: str = "") -> dict[str, ItemParts]:
    items = {pid: SharedItem(make_parts, pid, log, fail) for pid in IDS}
    group = PartsGroup()
    return {part: ItemParts({pid: part_of(item, part) for pid, item in items.items()}, part, group) for part in PARTS}


def save_shared(root: Path, log: str, fail: str = "", executor="serial", order=PARTS, bind=True) -> dict:
    """As a Kedro run saves the node's outputs: fingerprints bound, the hook, then each output."""
    datasets, outputs = folders(root, executor), node_outputs(log, fail)
    for dataset in datasets.values():
        dataset.bind_fingerprint(fingerprint())
    if bind:
        ItemPartsHooks().after_node_run(None, Catalog(datasets), outputs)
    for part in order:
        datasets[part].save(outputs[part])
    return datasets


def save_per_part(root: Path, log: str, fail: str = "") -> None:
    """The reference: four independent saves of per-part lazy savers."""
    for part, dataset in folders(root, "serial").items():
        dataset.bind_fingerprint(fingerprint())
        dataset.save({pid: partial(one_part, pid, part, log, fail) for pid in IDS})


def data_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def manifest(root: Path, part: str) -> dict:
    suffix = ".txt" if part == "boxes" else ".png"
    return json.loads((root / part / f".sdg_manifest{suffix}.json").read_text())


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture(autouse=True)
def _no_failures_left():
    yield
    RUN_FAILURES.drain()


@pytest.mark.parametrize("executor", ["serial", {"type": "processes", "max_workers": 2}])
def test_each_item_computed_once_with_the_bytes_of_per_part_saves(tmp_path, executor):
    save_per_part(tmp_path / "old", str(tmp_path / "old.log"))
    save_shared(tmp_path / "new", str(tmp_path / "new.log"), executor=executor)
    assert len(calls(tmp_path / "old.log")) == 4 * len(IDS)
    assert sorted(calls(tmp_path / "new.log")) == [f"{pid} image,golden,mask,boxes" for pid in IDS]
    old, new = data_files(tmp_path / "old"), data_files(tmp_path / "new")
    assert len(new) == 4 * len(IDS) and new == old
    for part in PARTS:  # each folder's manifest: every item, its fingerprint, its file's stat
        items = manifest(tmp_path / "new", part)["items"]
        assert [items[pid]["fingerprint"] for pid in IDS] == \
            [manifest(tmp_path / "old", part)["items"][pid]["fingerprint"] for pid in IDS]
        for pid in IDS:
            ((rel, (size, _)),) = items[pid]["files"].items()
            assert size == (tmp_path / "new" / part / rel).stat().st_size


@pytest.mark.parametrize("executor", ["serial", {"type": "processes", "max_workers": 2}])
def test_a_failing_item_is_failed_in_every_folder_and_the_others_are_written(tmp_path, executor):
    save_shared(tmp_path, str(tmp_path / "log"), fail="0003", executor=executor)
    assert [line.split()[0] for line in calls(tmp_path / "log")].count("0003") == 1  # not retried per folder
    for part in PARTS:
        record = manifest(tmp_path, part)
        assert sorted(record["items"]) == [pid for pid in IDS if pid != "0003"], part
        ((failure,),) = [record["failed"]]
        assert failure["partition"] == "0003" and "no window holds its first defect" in failure["error"], part
        assert sorted(p.stem for p in (tmp_path / part).iterdir() if not p.name.startswith(".")) == \
            [pid for pid in IDS if pid != "0003"]
    assert sorted({(f.dataset.rsplit("/", 1)[1], f.partition) for f in RUN_FAILURES.drain()}) == \
        sorted((part, "0003") for part in PARTS)


def die_on(pid: str, parts: tuple[str, ...] = PARTS) -> dict:
    if pid == os.environ.get("SDG_TEST_DIE_ON"):
        os._exit(3)  # as the out-of-memory killer would end the worker
    return make_parts(pid, os.devnull, "", parts)


def test_a_worker_that_dies_costs_its_item_in_every_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SDG_TEST_DIE_ON", "0002")  # read by the forked workers
    datasets = folders(tmp_path, {"type": "processes", "max_workers": 2})
    items = {pid: SharedItem(die_on, pid) for pid in IDS}
    group = PartsGroup()
    outputs = {part: ItemParts({pid: part_of(item, part) for pid, item in items.items()}, part, group)
               for part in PARTS}
    for dataset in datasets.values():
        dataset.bind_fingerprint(fingerprint())
    ItemPartsHooks().after_node_run(None, Catalog(datasets), outputs)
    for part in PARTS:
        datasets[part].save(outputs[part])
    for part in PARTS:
        record = manifest(tmp_path, part)
        assert sorted(record["items"]) == [pid for pid in IDS if pid != "0002"], part
        assert [f["partition"] for f in record["failed"]] == ["0002"], part
        assert "worker process died" in record["failed"][0]["error"], part


def test_a_folder_missing_items_computes_just_those(tmp_path):
    log = tmp_path / "log"
    save_shared(tmp_path / "new", str(log))
    save_per_part(tmp_path / "old", str(tmp_path / "old.log"))
    (tmp_path / "new" / "golden" / "0001.png").unlink()  # only the golden half is missing
    for part in ("image", "golden"):  # both halves of item 0004 are missing
        (tmp_path / "new" / part / "0004.png").unlink()
    log.unlink()
    save_shared(tmp_path / "new", str(log))
    # 0004: the leader's task (images) computes it once and writes its golden half too; 0001:
    # the images folder keeps its test image, so the golden folder computes its own half alone
    assert sorted(calls(log)) == ["0001 golden", "0004 image,golden"]
    assert data_files(tmp_path / "new") == data_files(tmp_path / "old")
    for part in PARTS:
        record = manifest(tmp_path / "new", part)
        assert sorted(record["items"]) == IDS and not record["failed"]


def test_outputs_saved_concurrently_wait_for_the_leader(tmp_path):
    """``kedro run --async`` saves a node's outputs in threads at once: one leads, the rest wait."""
    log = str(tmp_path / "log")
    datasets, outputs = folders(tmp_path / "new", "serial"), node_outputs(log)
    for dataset in datasets.values():
        dataset.bind_fingerprint(fingerprint())
    ItemPartsHooks().after_node_run(None, Catalog(datasets), outputs)
    threads = [threading.Thread(target=datasets[part].save, args=(outputs[part],)) for part in reversed(PARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    save_per_part(tmp_path / "old", str(tmp_path / "old.log"))
    assert len(calls(tmp_path / "log")) == len(IDS)
    assert data_files(tmp_path / "new") == data_files(tmp_path / "old")


def test_without_the_hook_each_folder_computes_its_own_part(tmp_path):
    """Outside a Kedro run (no hook), or for an output that is not one of these folders, a
    ``PartOf`` is a plain lazy saver: the same bytes, one part computed per call."""
    save_shared(tmp_path / "new", str(tmp_path / "log"), bind=False)
    save_per_part(tmp_path / "old", str(tmp_path / "old.log"))
    assert sorted(calls(tmp_path / "log")) == sorted(calls(tmp_path / "old.log"))
    assert data_files(tmp_path / "new") == data_files(tmp_path / "old")
