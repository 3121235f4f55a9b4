"""The project's config loader: Kedro's ``OmegaConfigLoader``, reading each kind of file once.

Kedro asks its loader for ``parameters`` more than once per run (the parameter checks, the
catalog's ``params:`` entries, the context's ``params``), and each ask reads, parses and merges
every ``parameters*.yml`` of every environment again with OmegaConf — about a second per ask
for this project's configuration. Here the merged result is kept for the loader's lifetime (one
session) and handed out as a copy, so callers that update it never change the next one. A
change of the runtime parameters (``--params``, or a hook that rewrites ``run_name``) or of an
entry set on the loader is a different key, read afresh.

``--params`` splits on commas, so a numeric list is typed with semicolons:
``--params defects_export.roi_xyxy_norm=0.1;0.2;0.9;0.8`` or
``reference_object.contrast_range=0.3;0.6``. A runtime value made only of numbers
joined by ``;`` becomes that list of numbers in ``parameters`` (word lists such as
``scene_generation.archetypes=kitchen;warehouse`` stay text: their readers split them).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from kedro.config import OmegaConfigLoader

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def numeric_list(value: Any) -> list[int | float] | None:
    """``"0.1;0.2;0.9"`` -> ``[0.1, 0.2, 0.9]``; None for anything that is not such a list."""
    if not isinstance(value, str) or ";" not in value:
        return None
    parts = [part.strip() for part in value.split(";")]
    if not all(_NUMBER.fullmatch(part) for part in parts):
        return None
    return [float(part) if any(c in part for c in ".eE") else int(part) for part in parts]


def _apply_numeric_lists(parameters: dict, runtime: Any, path: tuple[str, ...] = ()) -> None:
    """Replace, in the merged ``parameters``, every runtime value that is a ``;``-joined numeric list."""
    if isinstance(runtime, dict):
        for key, value in runtime.items():
            _apply_numeric_lists(parameters, value, (*path, *str(key).split(".")))
        return
    values = numeric_list(runtime)
    if values is None or not path:
        return
    node = parameters
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    if path[-1] in node:
        node[path[-1]] = values


class CachingOmegaConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` whose ``loader[key]`` is read from disk once per runtime parameters."""

    def __getitem__(self, key: str) -> Any:
        cache = self.__dict__.setdefault("_sdg_read_once", {})
        runtime = json.dumps(getattr(self, "runtime_params", None) or {}, sort_keys=True, default=repr)
        token = (key, runtime)
        if token not in cache:
            value = super().__getitem__(key)
            if key == "parameters" and isinstance(value, dict):
                _apply_numeric_lists(value, getattr(self, "runtime_params", None) or {})
            cache[token] = value
        return copy.deepcopy(cache[token])

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__.setdefault("_sdg_read_once", {}).clear()
        super().__setitem__(key, value)
