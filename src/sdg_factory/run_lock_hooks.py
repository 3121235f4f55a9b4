"""The hook that holds the run folder's lock (:mod:`sdg_factory.datasets.run_lock`) while a
pipeline runs: taken before the pipeline (and before any other hook writes there), given back
after it, on error too. A second ``kedro run`` on the same ``run_name`` is refused with one
clear line while the first is running."""

from __future__ import annotations

import atexit
import logging
import posixpath
from typing import Any

from kedro.framework.hooks import hook_impl

from sdg_factory.datasets.run_lock import RunLock

logger = logging.getLogger(__name__)

# the dataset whose folder is runs/<run_name>/provenance: its parent is the run folder
RUN_FOLDER_DATASET = "run_provenance"


def run_folder_lock(catalog) -> RunLock | None:
    """The lock of the run folder the catalog writes to (None if it has no run folder)."""
    if RUN_FOLDER_DATASET not in catalog:
        return None
    dataset = catalog[RUN_FOLDER_DATASET]
    fs, protocol, root = dataset._fs, dataset._protocol, dataset._root
    return RunLock(fs, protocol, posixpath.dirname(root))


class RunLockHooks:
    """Holds ``runs/<run_name>/.sdg_run.lock`` for the length of a pipeline run."""

    def __init__(self) -> None:
        self._lock: RunLock | None = None
        atexit.register(self._release)  # a hook that failed after ours ran, then the process ended

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._release()  # an earlier run in this process whose later before-hooks failed
        lock = run_folder_lock(catalog)
        if lock is None:
            return
        lock.acquire()
        self._lock = lock
        logger.debug("holding the run lock %s", lock.url)

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._release()

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._release()

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()
