"""The bare-board node's four outputs share each item (one layout, one set of defects): saved as
a Kedro run saves them (fingerprints bound, the hook, images first), each item is computed once,
in the images folder's pool task, and all four folders hold the bytes the per-part lazy savers
the node returned before (one ``bare_board_item`` per part) write."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import pytest

from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.fingerprints.context import NodeFingerprint
from sdg_factory.hooks import ItemPartsHooks
from sdg_factory.pcb.boards import build_board_stage
from sdg_factory.pipelines.bare_board_defects import nodes
from sdg_factory.pipelines.bare_board_defects.nodes import BareBoardSettings, bare_board_item, draw_bare_board_pairs
from tests.bare_board.test_bare_board_pairs import SEED, copper  # noqa: F401 - the fixture
from tests.datasets.test_item_parts import Catalog
from tests.kedro_runner import PROJECT_ROOT

OUTPUTS = ("bare_board_images", "bare_board_golden", "bare_board_masks", "bare_board_boxes")
PARAMS = {"count": 8, "crop_px": 160, "px_per_mm": 32, "supersample": 2}


def catalog(root: Path, executor) -> Catalog:
    """The four entries of conf/base/catalog_bare_board_defects.yml, below ``root``."""
    image = {"type": ImageDataset, "load_args": {"mode": "gray"}}
    entries = {"bare_board_images": ("images", image, ".png"), "bare_board_golden": ("golden", image, ".png"),
               "bare_board_masks": ("masks", image, ".png"),
               "bare_board_boxes": ("boxes", "kedro_datasets.text.TextDataset", ".txt")}
    return Catalog({name: PartitionedDataset(path=str(root / folder), dataset=kind, filename_suffix=suffix,
                                             executor=executor, progress=False)
                    for name, (folder, kind, suffix) in entries.items()})


def digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def board_assets():
    import yaml

    boards = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_pcba.yml").read_text())["pcba_setup"]["boards"]
    stage = build_board_stage("0603_H100", boards["0603_H100"]["layout"], SEED)
    return {"0603_H100/board.usd": lambda: stage}


def save_as_kedro(outputs: tuple, datasets: Catalog) -> None:
    fingerprint = NodeFingerprint("bare_board_defects.draw", "s", "w", made_by={"fingerprint": "w"})
    for dataset in datasets.values():
        dataset.bind_fingerprint(fingerprint)
    named = dict(zip(OUTPUTS, outputs, strict=False))
    ItemPartsHooks().after_node_run(None, datasets, named)
    for name in OUTPUTS:  # Kedro's order: the node's outputs as declared
        datasets[name].save(named[name])


def test_four_folders_hold_the_bytes_of_per_part_items(tmp_path, board_assets, copper):  # noqa: F811
    outputs = draw_bare_board_pairs(board_assets, "0603_H100", "board.usd", PARAMS, SEED)
    save_as_kedro(outputs, catalog(tmp_path / "new", {"type": "processes", "max_workers": 2}))

    settings = BareBoardSettings.from_params(PARAMS)  # before: one independent lazy saver per part
    old = catalog(tmp_path / "old", "serial")
    for name, part in zip(OUTPUTS, ("image", "golden", "mask", "boxes"), strict=True):
        old[name].save({f"{k:04d}": partial(bare_board_item, f"{k:04d}", part, copper, settings, SEED)
                        for k in range(PARAMS["count"])})
    new = digests(tmp_path / "new")
    assert len(new) == 4 * PARAMS["count"] and new == digests(tmp_path / "old")


def test_each_item_is_drawn_once(tmp_path, board_assets, monkeypatch):
    drawn = []
    real = nodes.bare_board_parts

    def counted(pid, *args, parts=nodes.PARTS):
        drawn.append((pid, tuple(parts)))
        return real(pid, *args, parts=parts)

    monkeypatch.setattr(nodes, "bare_board_parts", counted)  # serial executors: counted in this process
    outputs = draw_bare_board_pairs(board_assets, "0603_H100", "board.usd", {**PARAMS, "count": 3}, SEED)
    save_as_kedro(outputs, catalog(tmp_path, "serial"))
    assert drawn == [(pid, nodes.PARTS) for pid in ("0000", "0001", "0002")]
    assert sorted(digests(tmp_path)) == sorted(f"{folder}/{pid}{suffix}" for pid in ("0000", "0001", "0002")
                                               for folder, suffix in (("images", ".png"), ("golden", ".png"),
                                                                      ("masks", ".png"), ("boxes", ".txt")))
