"""``JSONLinesDataset``: a list of JSON records, one per line, written atomically."""

from __future__ import annotations

import json
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import TablePreview

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.single_file import SingleFileMixin


def dumps_lines(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()


def loads_lines(text: str, source: str = "<text>") -> list[dict]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{source}, line {number}: not valid JSON ({exc.msg})") from exc
    return records


class JSONLinesDataset(SingleFileMixin, AbstractDataset[list, list]):
    """JSON Lines (``.jsonl``) at any fsspec path: ``load`` gives a list of dicts."""

    def __init__(self, *, filepath: str, credentials: dict | None = None, fs_args: dict | None = None,
                 metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self.metadata = metadata

    def load(self) -> list[dict]:
        url = full_path(self._protocol, self._path)
        if not self._fs.exists(self._path):
            raise DatasetError(f"'{url}' does not exist")
        with self._fs.open(self._path, "rb") as handle:
            return loads_lines(handle.read().decode(), url)

    def save(self, data: list[dict]) -> None:
        if self._skip_save(data):
            return
        self._save_bytes(dumps_lines(list(data)))

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path)}

    def preview(self, nrows: int = 20) -> TablePreview:
        """The first records as a table for kedro-viz."""
        rows = self.load()[:nrows]
        columns = sorted({key for row in rows for key in row})
        data = [[json.dumps(row.get(c)) if isinstance(row.get(c), (dict, list)) else row.get(c)
                 for c in columns] for row in rows]
        return TablePreview({"index": list(range(len(rows))), "columns": columns, "data": data})
