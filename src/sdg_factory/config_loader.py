"""The project's config loader: Kedro's ``OmegaConfigLoader``, reading each kind of file once.

Kedro asks its loader for ``parameters`` more than once per run (the parameter checks, the
catalog's ``params:`` entries, the context's ``params``), and each ask reads, parses and merges
every ``parameters*.yml`` of every environment again with OmegaConf — about a second per ask
for this project's configuration. Here the merged result is kept for the loader's lifetime (one
session) and handed out as a copy, so callers that update it never change the next one. A
change of the runtime parameters (``--params``, or a hook that rewrites ``run_name``) or of an
entry set on the loader is a different key, read afresh.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kedro.config import OmegaConfigLoader


class CachingOmegaConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` whose ``loader[key]`` is read from disk once per runtime parameters."""

    def __getitem__(self, key: str) -> Any:
        cache = self.__dict__.setdefault("_sdg_read_once", {})
        runtime = json.dumps(getattr(self, "runtime_params", None) or {}, sort_keys=True, default=repr)
        token = (key, runtime)
        if token not in cache:
            cache[token] = super().__getitem__(key)
        return copy.deepcopy(cache[token])

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__.setdefault("_sdg_read_once", {}).clear()
        super().__setitem__(key, value)
