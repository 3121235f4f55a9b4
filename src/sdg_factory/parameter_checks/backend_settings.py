"""A backend's settings checked before any node runs, by the check its build makes.

A section such as ``reference_object.annotation`` or ``anomaly_detection.detector`` names a
backend and holds that backend's own keys (flat, or in a sub-section named after it). Those keys
are the backend constructor's parameters (:mod:`sdg_factory.backends.registry`), so a model can
not list them; :func:`check_backend_section` asks the registry, as ``build_from`` does, so
``grabcut_margn`` is refused with ``did you mean 'grabcut_margin'?`` when the run starts, not
when step 6 builds its annotator after steps 1 to 5 have written.

Every sub-section named after a backend is checked against that backend, chosen or not: a key
misspelt for another backend is as wrong, and would surface only the day it is switched on.
Importing a backend's module is cheap (none imports torch, diffusers or an HTTP client at the top).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from sdg_factory.backends.registry import Registry, check_keys


def registry(kind: str) -> Registry:
    """The registry of ``sdg_factory.backends.<kind>`` (its ``base`` module holds one)."""
    module = importlib.import_module(f"sdg_factory.backends.{kind}.base")
    return next(r for r in vars(module).values() if isinstance(r, Registry))


def check_backend_section(kind: str, config: Mapping[str, Any], section: str, *, node_keys: Iterable[str] = (),
                          default: str | None = None) -> None:
    """Raise ``ValueError`` naming each key of ``config`` the chosen backend (``config["backend"]``,
    else ``default``) takes no parameter for; ``node_keys`` are read by the node itself."""
    kinds = registry(kind)
    name, settings = kinds.split(config, default)
    check_keys(kinds.factory(name), settings, section, kinds.passed_by_builder, also_allowed=node_keys)
    check_sub_sections(kind, {k: v for k, v in config.items() if k != name}, section)


def check_sub_sections(kind: str, sections: Mapping[str, Any], parent: str) -> None:
    """Each ``{backend: {settings}}`` entry of ``sections`` checked against that backend."""
    kinds = registry(kind)
    for name, settings in sections.items():
        if name in kinds and isinstance(settings, Mapping):
            kinds.check(name, settings, f"{parent}.{name}")
