"""How a pipeline's ``pipeline.py`` writes its nodes: :func:`step` for a node, :func:`group` for a namespace.

A node is named after its function unless it says otherwise (Kedro's own default name is the
function's name plus a hash of its datasets, which would change whenever a dataset does; node
names feed the re-run fingerprints and kedro-viz, so they stay readable and stable). The
namespace of a document's nodes is given once, for the whole group: the group is one box in
kedro-viz and one ``--namespaces`` name (docs/architecture.md). Dataset and parameter names are
left exactly as the nodes write them — unlike Kedro's ``Pipeline(nodes, namespace=...)`` with
its default ``prefix_datasets_with_namespace=True``, which would rename every dataset to
``<namespace>.<name>`` (and so every catalog entry and every other pipeline's input).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kedro.pipeline import Node, Pipeline

#: one kedro-viz group (and one ``recompute=defects``) for anomaly_detection, defects_export and
#: defects_infer; here, not in one of them, so that none of the three imports another's pipeline
DEFECTS = "defects"


def step(func: Callable, inputs: str | list[str] | None, outputs: str | list[str] | None,
         name: str | None = None) -> Node:
    """A node running ``func``, named ``name`` or, by default, after ``func``."""
    return Node(func, inputs, outputs, name=name or func.__name__)


def group(namespace: str, steps: Iterable[Node | Pipeline]) -> Pipeline:
    """``steps`` as one namespace ``namespace``: node names become ``<namespace>.<name>``,
    dataset and parameter names stay as they are."""
    return Pipeline(steps, namespace=namespace, prefix_datasets_with_namespace=False)
