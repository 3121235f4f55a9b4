"""``UserInputDataset``: a file or folder the user names in a parameter, or the shipped sample.

(The path key is ``source``, not ``filepath``: Kedro would make a ``filepath`` absolute and
turn the words ``sample``/``none`` into paths; a file the pipeline itself writes, such as a
manifest, uses ``filepath`` so that it resolves like every other catalog path.) The
reference-object pipeline reads the user's own reference image, mask, prompt files and
background folder; each is a runtime parameter (``--params input_image=/path/obj.jpg``) with a
default of ``sample`` (a file shipped inside the package) or ``none`` (optional input absent).
Loading goes through the wrapped Kedro dataset, so any fsspec path works.

Catalog example::

    reference_object.input_image:
      type: sdg_factory.datasets.user_input.UserInputDataset
      source: ${runtime_params:input_image, sample}
      sample: sdg_factory.pipelines.reference_object:samples/toy_robot.png
      dataset: {type: sdg_factory.datasets.ImageDataset, load_args: {mode: rgb}}
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import ImagePreview

_ABSENT = {"", "none", "null", "None"}


class UserInputDataset(AbstractDataset):
    """Read-only: loads ``source`` (or the package ``sample`` when it is ``sample``), or ``empty``.

    ``empty`` (default ``None``) is returned for ``none``/empty paths, and for a missing file when
    ``missing_ok`` is set (e.g. a manifest that a step has not written yet).
    """

    def __init__(self, *, source: str | None = None, filepath: str | None = None, dataset: str | dict,
                 sample: str | None = None, filepath_arg: str = "filepath", empty: Any = None, missing_ok: bool = False,
                 metadata: dict | None = None) -> None:
        source = filepath if filepath is not None else source
        self._filepath = "" if source is None else str(source)
        self._dataset = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        self._sample = sample
        self._filepath_arg = filepath_arg
        self._empty = empty
        self._missing_ok = bool(missing_ok)
        self.metadata = metadata

    def _resolved(self) -> str | None:
        if self._filepath in _ABSENT:
            return None
        if self._filepath == "sample":
            if not self._sample:
                raise DatasetError("this input has no shipped sample; give a path instead of 'sample'")
            package, _, name = self._sample.partition(":")
            return str(resources.files(package).joinpath(name))
        return self._filepath

    def load(self) -> Any:
        path = self._resolved()
        if path is None:
            return copy.deepcopy(self._empty)
        config = copy.deepcopy(self._dataset)
        kind = config.pop("type")
        config[self._filepath_arg] = path
        dataset = AbstractDataset.from_config(f"user_input:{path}", {"type": kind, **config})
        if self._missing_ok and not dataset.exists():
            return copy.deepcopy(self._empty)
        try:
            return dataset.load()
        except DatasetError as exc:
            raise DatasetError(f"cannot read the input '{path}': {exc}. Check the path given as a "
                               "runtime parameter (or use 'sample' for the shipped example).") from exc

    def save(self, data: Any) -> None:
        raise DatasetError("UserInputDataset is read-only (it names the user's own input files)")

    def content_fingerprint(self) -> str:
        """A digest of the input's bytes (every file of a folder), so a re-run sees a changed
        photo, mask, prompt file or background folder; ``none`` and a missing optional file are
        fingerprints too. Content hashes are cached by size and mtime (never in the user's folder)."""
        import fsspec

        from sdg_factory.fingerprints.hashing import digest, tree_fingerprint

        path = self._resolved()
        if path is None:
            return digest("absent")
        fs, root = fsspec.core.url_to_fs(path)
        return tree_fingerprint(fs, root, path)

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"source": self._filepath, "sample": self._sample}

    def preview(self, limit: int = 16, tile: int = 128) -> ImagePreview:
        """An image input (or a folder of them, as a contact sheet), for kedro-viz; other inputs
        (text files) set ``preview: false`` in the catalog."""
        import numpy as np

        from sdg_factory.datasets.image import image_to_preview
        from sdg_factory.imaging.contact_sheet import contact_sheet

        value = self.load()
        if isinstance(value, dict):  # a folder: {id: loader}
            value = contact_sheet([value[k]() for k in sorted(value)[:limit]], tile=tile) if value else None
        if not isinstance(value, np.ndarray):
            raise DatasetError(f"no image to preview for the input '{self._filepath or 'none'}'")
        return ImagePreview(image_to_preview(value, max_side=1024))
