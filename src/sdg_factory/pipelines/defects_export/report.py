"""The evaluation figure of ``defects_export`` (previewable in kedro-viz)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _thin(x: np.ndarray, y: np.ndarray, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= n:
        return x, y
    idx = np.unique(np.r_[np.linspace(0, x.size - 1, n).astype(int), x.size - 1])
    return x[idx], y[idx]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def metrics_figure(metrics: dict[str, Any], curves: dict[str, Any]):
    """ROC (image, pixel), PRO up to the FPR limit, and region recall per defect type."""
    # a bare Figure, not pyplot: no global backend switch (notebooks keep theirs), nothing to close;
    # imported here, so registering the pipelines does not import matplotlib (~0.7 s of every start)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 4), dpi=80)
    axes = fig.subplots(1, 3)
    ax = axes[0]
    for key, name in (("image_roc", "image"), ("pixel_roc", "pixel")):
        if curves.get(key) is not None:
            ax.plot(*_thin(*curves[key]), label=f"{name} AUROC {_fmt(metrics[f'{name}_auroc'])}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(title="ROC", xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right")
    ax = axes[1]
    limit = metrics["aupro_fpr_limit"]
    if curves.get("pro") is not None:
        fpr, pro = curves["pro"]
        keep = fpr <= limit
        ax.plot(*_thin(fpr[keep], pro[keep]), label=f"AUPRO (FPR ≤ {limit:g}) {_fmt(metrics['aupro'])}")
        ax.legend(loc="lower right")
    ax.set(title="Per-region overlap", xlabel="false-positive rate", ylabel="PRO", xlim=(0, limit), ylim=(0, 1.01))
    ax = axes[2]
    types = metrics["per_defect_type"]
    names = list(types)
    recalls = [types[t]["region_recall"] or 0.0 for t in names]
    ious = [types[t]["mean_iou"] or 0.0 for t in names]
    x = np.arange(len(names))
    ax.bar(x - 0.2, recalls, 0.4, label="region recall")
    ax.bar(x + 0.2, ious, 0.4, label="mean IoU")
    ax.set_xticks(x, names, rotation=20)
    ax.set(title=f"At pixel threshold {metrics['pixel_threshold']:.3g}", ylim=(0, 1.05))
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig
