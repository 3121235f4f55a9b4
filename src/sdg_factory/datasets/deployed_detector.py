"""``DeployedDetectorDataset``: an ``infer_config.json`` and the saved detector it names (read-only).

``defects_infer`` writes ``infer_config.json`` beside ``model/detector.npz/<version>/detector.npz``
(a :class:`~sdg_factory.datasets.detector_model.DetectorModelDataset`); its ``model`` block gives
the model's ``path`` (relative to the infer config's folder) and ``sha256``. Loading finds the
saved version whose ``sha256`` matches — newest first; a non-versioned file at ``path`` also
counts — so copying the infer config with its ``model/`` folder deploys the detector anywhere.

``source`` of ``none`` (or empty) loads as ``None`` (nothing deployed: fit and calibrate).

Catalog example::

    defects.infer_deployed:
      type: sdg_factory.datasets.deployed_detector.DeployedDetectorDataset
      source: ${runtime_params:infer_config, none}

``load()`` returns ``{"source": <path>, "infer_config": {...}, "model": <detector state>}``.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from kedro.io import DatasetError

from sdg_factory.datasets._fs import full_path
from sdg_factory.datasets.detector_model import state_from_npz
from sdg_factory.datasets.user_source import UserSourceDataset


class DeployedDetectorDataset(UserSourceDataset):
    def _load_from(self, fs: Any, protocol: str, path: str, url: str) -> dict[str, Any]:
        if not fs.isfile(path):
            raise DatasetError(f"infer_config '{url}' does not exist; give the infer_config.json a defects_infer "
                               "run wrote (runs/<run_name>/defects_infer/infer_config.json)")
        try:
            with fs.open(path, "rb") as handle:
                config = json.loads(handle.read().decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"infer_config '{url}' is not valid JSON ({exc}); fix or re-export it") from exc
        model = config.get("model") if isinstance(config, dict) else None
        if not isinstance(model, dict) or not model.get("path") or not model.get("sha256"):
            raise DatasetError(f"infer_config '{url}' names no saved detector (its 'model' block needs 'path' and "
                               "'sha256'); use an infer_config.json written by defects_infer")
        model_path = posixpath.join(posixpath.dirname(path), str(model["path"]))
        for candidate in self._candidates(fs, model_path):
            with fs.open(candidate, "rb") as handle:
                state = state_from_npz(handle.read(), full_path(protocol, candidate))
            if state.get("sha256") == model["sha256"]:
                return {"source": url, "infer_config": config, "model": state}
        raise DatasetError(f"infer_config '{url}': no saved detector with sha256 {model['sha256']} under "
                           f"{full_path(protocol, model_path)}; copy the model/ folder that was written beside "
                           "this infer_config.json along with it")

    @staticmethod
    def _candidates(fs: Any, model_path: str) -> list[str]:
        if fs.isfile(model_path):
            return [model_path]
        name = posixpath.basename(model_path)
        versions = sorted(fs.glob(posixpath.join(model_path, "*", name)), reverse=True)
        return [v for v in versions if fs.isfile(v)]
