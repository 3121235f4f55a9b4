"""``MetricsJSONDataset``: a JSON file of metrics whose kedro-viz preview is a bar chart."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kedro.io import DatasetError
from kedro_datasets._typing import PlotlyPreview

from sdg_factory.datasets.json_file import JSONDataset


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _lookup(data: Any, key: str) -> list:
    """The values at dotted ``key``; a list on the way is walked element by element."""
    found = [data]
    for part in key.split("."):
        step = []
        for value in found:
            for item in (value if isinstance(value, list) else [value]):
                if isinstance(item, dict) and part in item:
                    step.append(item[part])
        found = step
    return found


def _bars(name: str, numbers: dict) -> dict:
    return {"type": "bar", "name": name, "x": [str(k) for k in numbers], "y": list(numbers.values())}


def _traces(key: str, value: Any) -> list[dict]:
    if _number(value):
        return [_bars(key, {key: value})]
    if isinstance(value, list) and value and all(_number(v) for v in value):  # a curve (losses per step)
        return [{"type": "scatter", "mode": "lines", "name": key, "x": list(range(len(value))), "y": value}]
    if not isinstance(value, dict):
        return []
    numbers = {k: v for k, v in value.items() if _number(v)}
    if numbers:
        return [_bars(key, numbers)]
    # a mapping of mappings ({"IC/bridge": {"images": 0, "rois": 0}, …}): one trace per inner key
    rows = {k: v for k, v in value.items() if isinstance(v, dict)}
    inner = sorted({name for row in rows.values() for name, n in row.items() if _number(n)})
    return [_bars(f"{key}.{name}", {k: row[name] for k, row in rows.items() if _number(row.get(name))})
            for name in inner]


def metrics_figure(data: dict, values: list[str] | None = None, counts: list[str] | None = None,
                   title: str | None = None) -> dict:
    """A Plotly figure (plain JSON) of the numbers in ``data``.

    ``values``: dotted keys; a number is one bar, a mapping of numbers one bar per entry, a
    mapping of mappings one trace per inner key, a list of numbers a line (a loss per step).
    ``counts``: dotted keys through lists of records (``scenes.archetype``); each distinct value
    found is one bar of its count. With neither, every top-level number of ``data``."""
    traces: list[dict] = []
    if values is None and counts is None:
        numbers = {k: v for k, v in data.items() if _number(v)}
        traces = [_bars("metrics", numbers)] if numbers else []
    for key in values or []:
        for value in _lookup(data, key)[:1]:
            traces += _traces(key, value)
    for key in counts or []:
        found = Counter()
        for value in _lookup(data, key):
            found.update(str(v) for v in (value if isinstance(value, list) else [value]))
        if found:
            traces.append(_bars(f"count of {key}", dict(sorted(found.items()))))
    if not traces:
        raise DatasetError(f"nothing to plot at values={values} counts={counts}; the file's top-level keys "
                           f"are {sorted(data)}. Fix 'preview_args:' of this catalog entry.")
    return {"data": traces,
            "layout": {"title": {"text": title or ""}, "barmode": "group", "showlegend": len(traces) > 1,
                       "xaxis": {"automargin": True}, "yaxis": {"automargin": True}}}


class MetricsJSONDataset(JSONDataset):
    """A :class:`~sdg_factory.datasets.JSONDataset` (same file, load and save) that kedro-viz previews as
    a Plotly bar chart of its numbers instead of raw JSON.

    Catalog example::

        reference_object.annotation_report:
          type: sdg_factory.datasets.MetricsJSONDataset
          filepath: .../annotation_report.json
          metadata:
            kedro-viz:
              layer: reporting
              preview_args: {values: [mean_iou, iou], title: annotation IoU}

    ``preview_args``: ``values`` (dotted keys of numbers, mappings or lists of numbers), ``counts``
    (dotted keys through lists of records, counted per distinct value) and ``title``; see
    :func:`metrics_figure`.
    """

    def preview(self, values: list[str] | None = None, counts: list[str] | None = None,
                title: str | None = None) -> PlotlyPreview:
        return PlotlyPreview(metrics_figure(self.load(), values, counts, title))
