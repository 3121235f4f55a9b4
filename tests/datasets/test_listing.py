"""sdg_factory.listing.find answers exactly what fsspec's local find answers, cheaper."""

from __future__ import annotations

import os

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from sdg_factory.listing import find


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "a" / "b" / "x.png").write_bytes(b"12345")
    (root / "a" / "y.json").write_text("{}")
    (root / ".hidden" / "m.json").write_text("[]")
    (root / ".sdg-tmp-h-1-2-abcd-z.png").write_bytes(b"")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "inside.txt").write_text("not entered through a link")
    os.symlink(elsewhere, root / "linked_dir")
    os.symlink(root / "a" / "y.json", root / "linked_file.json")
    os.symlink(tmp_path / "missing", root / "broken")
    return root


@pytest.mark.parametrize("detail", [False, True])
@pytest.mark.parametrize("spelling", ["plain", "trailing slash", "file url"])
def test_find_matches_fsspec_local(tree, detail, spelling):
    fs = fsspec.filesystem("file")
    root = {"plain": str(tree), "trailing slash": f"{tree}/", "file url": f"file://{tree}"}[spelling]
    expected = fs.find(root, detail=detail)
    got = find(fs, root, detail=detail)
    assert got == expected
    assert list(got) == list(expected)  # the same order
    names = [p.rsplit("/", 1)[-1] for p in (got if not detail else got.keys())]
    assert {"x.png", "y.json", "m.json", "linked_dir", "broken"} <= set(names)
    assert "inside.txt" not in names  # a linked folder is listed, not entered


def test_find_of_a_file_and_of_nothing(tree):
    fs = fsspec.filesystem("file")
    target = str(tree / "a" / "y.json")
    assert find(fs, target) == fs.find(target) == [target]
    assert find(fs, target, detail=True) == fs.find(target, detail=True)
    assert find(fs, str(tree / "absent")) == fs.find(str(tree / "absent")) == []
    assert find(fs, str(tree / "absent"), detail=True) == {}


def test_other_filesystems_use_their_own_find():
    fs = MemoryFileSystem()
    fs.pipe_file("/listing-test/a/b.txt", b"1")
    assert find(fs, "/listing-test") == fs.find("/listing-test") == ["/listing-test/a/b.txt"]
    fs.rm("/listing-test", recursive=True)
