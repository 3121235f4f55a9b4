"""``ModelFolderDataset``: a checkpoint folder (``<dig_url_root>/models/pcb``, ``runs/<run>/finetune``).

``load`` never reads weights: it returns a :class:`ModelFolder` — where the folder is, which
files it holds and its small ``sdg_model.json`` config, if any — so a preflight can say what is
missing and a backend can ``from_pretrained`` it (once per process). A folder that does not
exist loads as an empty ``ModelFolder`` (``exists`` false) rather than failing, so the
pipeline's preflight reports it in the documents' words.

``save`` takes a :class:`ModelArtifact` (an object with ``save_pretrained(folder)`` — a
diffusers pipeline — and/or a config dict) and writes it atomically: into a hidden sibling
folder, renamed into place when complete. On a remote filesystem (``s3://``) the folder is
written locally and uploaded; :meth:`ModelFolder.local_path` downloads it for loading.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from sdg_factory.datasets._fs import filesystem, full_path, temp_sibling

CONFIG_NAME = "sdg_model.json"


@dataclass
class ModelArtifact:
    """What a training node returns: the model (``save_pretrained``-able) and its config."""

    model: Any = None
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModelFolder:
    """A checkpoint folder as the pipeline sees it (paths and listing, no weights)."""

    url: str
    files: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)
    protocol: str = "file"

    @property
    def exists(self) -> bool:
        return bool(self.files)

    def has(self, relative: str) -> bool:
        return relative in self.files

    @property
    def is_diffusers(self) -> bool:
        return self.has("model_index.json")

    def local_path(self, cache_dir: str | None = None) -> str:
        """A local folder ``from_pretrained`` can read (downloaded once for remote URLs)."""
        if self.protocol in ("file", ""):
            return self.url
        fs, _, root = filesystem(self.url)
        target = Path(cache_dir or tempfile.gettempdir()) / "sdg_models" / root.replace("/", "__")
        if not (target / ".complete").exists():
            target.mkdir(parents=True, exist_ok=True)
            fs.get(root + "/", str(target), recursive=True)
            (target / ".complete").write_text("ok")
        return str(target)


class ModelFolderDataset(AbstractDataset[ModelArtifact, ModelFolder]):
    """A model checkpoint folder at any fsspec path. See the module docstring."""

    def __init__(self, *, path: str, credentials: dict | None = None, fs_args: dict | None = None,
                 metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._root = filesystem(path, credentials, fs_args)
        self._path = str(path)
        self.metadata = metadata

    def load(self) -> ModelFolder:
        url = full_path(self._protocol, self._root)
        if not self._fs.exists(self._root):
            return ModelFolder(url, (), {}, self._protocol)
        files = tuple(sorted(posixpath.relpath(p, self._root) for p in self._fs.find(self._root)
                             if not posixpath.basename(p).startswith(".")))
        config: dict = {}
        if CONFIG_NAME in files:
            with self._fs.open(posixpath.join(self._root, CONFIG_NAME), "rb") as handle:
                config = json.load(handle)
        return ModelFolder(url, files, config, self._protocol)

    def save(self, data: ModelArtifact) -> None:
        if not isinstance(data, ModelArtifact):
            data = ModelArtifact(model=data)
        with tempfile.TemporaryDirectory() as scratch:
            local = Path(scratch) / "model"
            local.mkdir()
            if data.model is not None:
                data.model.save_pretrained(str(local))
            (local / CONFIG_NAME).write_text(json.dumps(data.config, indent=2, sort_keys=True, default=str))
            self._publish(local)

    def _publish(self, local: Path) -> None:
        """Put the finished folder in place in one rename (the old one is removed first)."""
        parent = posixpath.dirname(self._root)
        if parent:
            self._fs.makedirs(parent, exist_ok=True)
        tmp = temp_sibling(self._root)
        if self._protocol in ("file", ""):
            shutil.copytree(local, tmp)
        else:
            self._fs.put(str(local) + "/", tmp, recursive=True)
        if self._fs.exists(self._root):
            self._fs.rm(self._root, recursive=True)
        self._fs.mv(tmp, self._root, recursive=True)

    def _exists(self) -> bool:
        return self._fs.exists(self._root)

    def content_fingerprint(self) -> str:
        """A digest of the checkpoint's files (hashed once, then cached by size and mtime)."""
        from sdg_factory.fingerprints.hashing import tree_fingerprint

        return tree_fingerprint(self._fs, self._root, full_path(self._protocol, self._root), skip_hidden=True)

    def _describe(self) -> dict[str, Any]:
        return {"path": full_path(self._protocol, self._root)}
