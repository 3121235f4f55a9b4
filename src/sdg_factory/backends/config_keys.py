"""Backend config sections are checked against the backend's constructor: a misspelt key is an
error naming the key, the section and the accepted keys, never silently ignored."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def accepted_keys(factory: Callable, passed_by_builder: Iterable[str] = ()) -> set[str] | None:
    """The keyword parameters a config may set (``None`` when ``factory`` takes ``**kwargs``)."""
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            and p.name not in set(passed_by_builder)}


def check_keys(factory: Callable, config: Mapping[str, Any], section: str,
               passed_by_builder: Iterable[str] = (), also_allowed: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` for every key of ``config`` that ``factory`` takes no parameter for."""
    accepted = accepted_keys(factory, passed_by_builder)
    if accepted is None:
        return
    unknown = sorted(set(config) - accepted - set(also_allowed))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(accepted), n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ValueError(f"unknown key(s) {', '.join(hints)} in '{section}'; it accepts: "
                         f"{', '.join(sorted(accepted))}")
