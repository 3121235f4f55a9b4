"""Per-partition failures: the manifest written next to each folder, and the run summary.

A partition that fails is recorded instead of aborting the save; the run continues with
what succeeded. At the end of the run the hook in :mod:`sdg_factory.hooks` prints a summary
and makes ``kedro run`` exit non-zero when anything failed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MANIFEST_NAME = ".sdg_manifest.json"


@dataclass(frozen=True)
class PartitionFailure:
    dataset: str
    partition: str
    error: str


@dataclass
class FailureRegistry:
    """Failures seen by datasets in this process during the current run."""

    failures: list[PartitionFailure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, failures: list[PartitionFailure]) -> None:
        with self._lock:
            self.failures.extend(failures)

    def drain(self) -> list[PartitionFailure]:
        with self._lock:
            out, self.failures = self.failures, []
        return out


RUN_FAILURES = FailureRegistry()


class PartitionFailuresError(RuntimeError):
    """Raised at the end of a run in which some partitions could not be written."""

    def __init__(self, failures: list[PartitionFailure]):
        self.failures = failures
        by_dataset: dict[str, list[PartitionFailure]] = {}
        for failure in failures:
            by_dataset.setdefault(failure.dataset, []).append(failure)
        lines = [f"{len(failures)} partition(s) failed; everything else was written."]
        for dataset, items in by_dataset.items():
            lines.append(f"  {dataset}: {len(items)} failed (see {MANIFEST_NAME} there)")
            for item in items[:5]:
                lines.append(f"    - {item.partition}: {item.error}")
            if len(items) > 5:
                lines.append(f"    … and {len(items) - 5} more")
        lines.append(
            "Fix the cause and re-run the same command with the same run_name: "
            "finished partitions are kept and only the missing ones are computed."
        )
        super().__init__("\n".join(lines))
