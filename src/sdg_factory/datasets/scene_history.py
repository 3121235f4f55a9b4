"""``SceneHistoryDataset``: the scene-generation history table, in any SQLAlchemy database.

Built on kedro-datasets' ``pandas.SQLTableDataset`` (same ``credentials: {con: <url>}``,
shared engines, kedro-viz table preview) with what a history needs on top:

- the table is created on first use with a fixed schema (``scene_id`` primary key), and a
  SQLite file's folder is created, so the first run of a job reads an empty history;
- ``save`` *upserts* by ``scene_id`` in one transaction (delete + insert), so a resumed run
  rewrites its rows instead of duplicating them — plain ``to_sql(if_exists="append")``
  would insert them twice;
- ``variation_tags`` (a list) is stored as JSON text; ``generated_at`` is UTC;
- a row already stored as it is is not written again, and the history's fingerprint (what the
  re-run hooks compare) covers the rows of the other runs only (``run_name``: the run this
  session writes), so an unchanged re-run of a run touches neither the table nor its file.

SQLite by default (a file path or ``sqlite:///`` URL; relative paths are resolved against the
working directory once, so the same catalog works from any folder); any SQLAlchemy URL such
as ``postgresql+psycopg://…`` from ``credentials.yml`` for a shared store.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from kedro.io import DatasetError
from kedro_datasets._typing import TablePreview
from kedro_datasets.pandas import SQLTableDataset
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, Text, delete, insert, select

from sdg_factory.fingerprints.hashing import digest

COLUMNS = ("scene_id", "run_name", "archetype", "prompt_hash", "prompt_summary", "variation_tags",
           "generated_at", "success", "image_backend", "prompt_backend", "error")


def _table(name: str) -> Table:
    return Table(
        name, MetaData(),
        Column("scene_id", String(200), primary_key=True),
        Column("run_name", String(200), index=True),
        Column("archetype", String(100), index=True),
        Column("prompt_hash", String(64), index=True),
        Column("prompt_summary", String(200)),
        Column("variation_tags", Text),
        Column("generated_at", DateTime(timezone=True), index=True),
        Column("success", Boolean),
        Column("image_backend", String(100)),
        Column("prompt_backend", String(200)),
        Column("error", Text),
    )


def sqlite_url(con: str) -> str:
    """Make a relative SQLite path absolute (an engine outlives a change of working directory)."""
    prefix = "sqlite:///"
    if not con.startswith(prefix) or con in (prefix, f"{prefix}:memory:"):
        return con
    path, _, query = con[len(prefix):].partition("?")
    if "://" in path:
        raise DatasetError(
            f"a SQLite history cannot live at '{path}' (a remote URL). Give the history dataset "
            "credentials with a database URL (credentials.yml: `scene_history_db: {con: "
            "postgresql+psycopg://user:pass@host/db}`) in this environment.")
    absolute = os.path.abspath(path)
    return prefix + absolute + (f"?{query}" if query else "")


def _utc(value: Any) -> datetime:
    moment = pd.Timestamp(value).to_pydatetime()
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _comparable(row: dict | None) -> dict | None:
    """A row as the database gives it back (times in UTC, flags as booleans), to tell whether a
    row about to be written is already there."""
    if row is None:
        return None
    out = {c: row.get(c) for c in COLUMNS}
    out["generated_at"] = _utc(out["generated_at"]) if out["generated_at"] is not None else None
    out["success"] = bool(out["success"])
    return out


class SceneHistoryDataset(SQLTableDataset):
    """One row per generated scene. See the module docstring.

    Catalog::

        scene_history:
          type: sdg_factory.datasets.scene_history.SceneHistoryDataset
          table_name: scene_generation_history
          credentials: {con: "sqlite:///data/dig/scene_generation/history.sqlite"}
    """

    def __init__(self, *, table_name: str = "scene_generation_history", credentials: dict[str, Any] | None = None,
                 filepath: str | None = None, run_name: str | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        credentials = dict(credentials or {})
        con = credentials.get("con") or (f"sqlite:///{filepath}" if filepath else None)
        if not con:
            raise DatasetError("SceneHistoryDataset needs `credentials: {con: <SQLAlchemy URL>}` or `filepath` "
                               "(a SQLite file)")
        credentials["con"] = sqlite_url(str(con))
        super().__init__(table_name=table_name, credentials=credentials, metadata=metadata)
        self._table = _table(table_name)
        self._run_name = None if run_name in (None, "") else str(run_name)

    def _ensure_table(self) -> None:
        if self._connection_str.startswith("sqlite:///"):
            path = self._connection_str[len("sqlite:///"):].partition("?")[0]
            if path and path != ":memory:":
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self._table.metadata.create_all(self.engine, checkfirst=True)

    def load(self) -> pd.DataFrame:
        self._ensure_table()
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(self._table).order_by(self._table.c.generated_at, self._table.c.scene_id))]
        for row in rows:
            row["variation_tags"] = json.loads(row["variation_tags"] or "[]")
            row["generated_at"] = _utc(row["generated_at"])
            row["success"] = bool(row["success"])
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def _stored_rows(self, conn: Any, where: Any = None) -> dict[str, dict]:
        """``{scene_id: row}`` as the table holds them (``where``: a filter on the table)."""
        query = select(self._table) if where is None else select(self._table).where(where)
        return {row["scene_id"]: row for row in (dict(r._mapping) for r in conn.execute(query))}

    def content_fingerprint(self) -> str:
        """The history as the nodes read it: every row of the *other* runs (``run_name`` left
        out). A run plans and de-duplicates against other runs only and rewrites its own rows, so
        its own earlier rows must not make a re-run look changed: an unchanged re-run then skips
        every node downstream of the history (``docs/reruns.md``)."""
        self._ensure_table()
        where = None if self._run_name is None else (
            (self._table.c.run_name != self._run_name) | self._table.c.run_name.is_(None))
        with self.engine.connect() as conn:
            rows = self._stored_rows(conn, where)
        return digest("scene_history", self._table.name,
                      [[str(rows[k].get(c)) for c in COLUMNS] for k in sorted(rows)])

    def save(self, data: pd.DataFrame | list[dict]) -> None:
        """Upsert by ``scene_id``; a row the table already holds as it is is left alone, so an
        unchanged re-run writes nothing to the database (nor to its SQLite file)."""
        records = data.to_dict("records") if isinstance(data, pd.DataFrame) else list(data or [])
        if not records:
            return
        rows = []
        for record in records:
            missing = [c for c in ("scene_id", "archetype", "prompt_hash", "generated_at", "success")
                       if c not in record]
            if missing:
                raise DatasetError(f"history row {record.get('scene_id')!r} lacks {missing}")
            row = {c: record.get(c) for c in COLUMNS}
            row["variation_tags"] = json.dumps(list(record.get("variation_tags") or []))
            row["generated_at"] = _utc(record["generated_at"]).replace(tzinfo=None) \
                if self.engine.dialect.name == "sqlite" else _utc(record["generated_at"])
            row["prompt_summary"] = str(record.get("prompt_summary") or "")[:200]
            row["success"] = bool(record["success"])
            rows.append(row)
        self._ensure_table()
        with self.engine.connect() as conn:
            stored = self._stored_rows(conn, self._table.c.scene_id.in_([r["scene_id"] for r in rows]))
        changed = [row for row in rows if _comparable(stored.get(row["scene_id"])) != _comparable(row)]
        if not changed:
            return
        with self.engine.begin() as conn:
            conn.execute(delete(self._table).where(self._table.c.scene_id.in_([r["scene_id"] for r in changed])))
            conn.execute(insert(self._table), changed)

    def preview(self, nrows: int = 10) -> TablePreview:
        """The newest rows, for kedro-viz."""
        frame = self.load().tail(nrows).copy()
        frame["variation_tags"] = frame["variation_tags"].map(", ".join)
        frame["generated_at"] = frame["generated_at"].map(lambda t: t.isoformat())
        return TablePreview(frame.to_dict(orient="split"))
