"""Project hooks: provenance before a run, the failure summary after it, models freed between steps,
the outputs that share items told of each other."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from sdg_factory.backends.accelerator import unload_models
from sdg_factory.datasets.failures import RUN_FAILURES, PartitionFailuresError
from sdg_factory.datasets.item_parts import ItemParts
from sdg_factory.provenance import redact, run_record

logger = logging.getLogger(__name__)

PROVENANCE_DATASET = "run_provenance"


def _pipeline_label(run_params: dict[str, Any]) -> str:
    names = run_params.get("pipeline_names") or run_params.get("pipeline_name") or "__default__"
    if isinstance(names, (list, tuple)):
        names = "+".join(names) or "__default__"
    return str(names)


class ProvenanceHooks:
    """Writes ``provenance/<pipeline>.yml`` under the run folder: the run's resolved parameters
    (secrets redacted) and, for every output the pipeline wrote or kept, what made the bytes on
    disk — node, algorithm version, parameters and input fingerprints, read back from the
    output's fingerprint manifest (``docs/reruns.md``). Rewritten only when it changes."""

    def __init__(self) -> None:
        self._record: dict[str, Any] | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        RUN_FAILURES.drain()  # failures of an earlier run in this process are not ours
        self._record = None
        if PROVENANCE_DATASET not in catalog:
            return
        self._record = run_record(_pipeline_label(run_params), run_params.get("env"),
                                  run_params.get("runtime_params") or run_params.get("extra_params"),
                                  catalog.load("parameters"))

    def _write(self, pipeline, catalog) -> None:
        if self._record is None:
            return
        record, self._record = dict(self._record), None
        outputs = {}
        for name in sorted(pipeline.all_outputs()):
            try:
                dataset = catalog.get(name)
            except Exception:  # noqa: BLE001 - a dataset that cannot be built has no provenance
                continue
            if hasattr(dataset, "made_by"):
                outputs[name] = dataset.made_by()
        record["outputs"] = redact(outputs)
        key = record["pipeline"].replace("+", "__")
        existing = catalog.load(PROVENANCE_DATASET)
        if key in existing:
            try:
                if existing[key]() == record:
                    return
            except Exception:  # noqa: BLE001 - an unreadable old record is simply replaced
                pass
        catalog.save(PROVENANCE_DATASET, {key: record})

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._write(pipeline, catalog)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._write(pipeline, catalog)


class FailureSummaryHooks:
    """Ends a run that lost partitions with a summary and a non-zero exit status."""

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        failures = RUN_FAILURES.drain()
        if failures:
            raise PartitionFailuresError(failures)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline, catalog) -> None:
        failures = RUN_FAILURES.drain()
        if failures:
            logger.error(str(PartitionFailuresError(failures)))


class ModelMemoryHooks:
    """Frees loaded models by the scope of their cache (``backends/accelerator.py``).

    ``step`` caches — perspective generators and text-to-image pipelines, which run inside the
    lazy save of one dataset — are emptied once a dataset is saved: keeping them while the next
    step loads its own model (the image editor, SAM2) would need both in GPU memory. ``run``
    caches (an image editor reference_object uses in steps 1, 4 and 5, an LLM, SAM2) are emptied
    when the run ends. A backend module never imported has no cache: nothing is imported here.
    """

    @staticmethod
    def _unload(scope: str, after: str) -> None:
        for name, dropped in unload_models(scope).items():
            logger.info("freed %d model(s) of the %s cache after %s", dropped, name, after)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        self._unload("step", f"saving {dataset_name}")

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._unload("run", "the run")

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._unload("run", "the failed run")


class ItemPartsHooks:
    """Tells the outputs of a node that share items (:class:`~sdg_factory.datasets.item_parts.ItemParts`,
    e.g. the four bare-board folders) which catalog dataset saves which part. Kedro calls this
    after the node returns and before it saves the first output: that save then computes each
    item once and writes every output's part (see :mod:`sdg_factory.datasets.item_parts`)."""

    @hook_impl
    def after_node_run(self, node, catalog, outputs: dict[str, Any]) -> None:
        for name, data in (outputs or {}).items():
            if isinstance(data, ItemParts):
                try:
                    dataset = catalog.get(name)
                except Exception:  # noqa: BLE001 - not in the catalog: its part is computed where it is saved
                    continue
                data.group.bind(data, dataset)
