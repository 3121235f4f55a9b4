"""One registry for every backend kind: a name picks an implementation, built from its own settings.

Each kind (image edit, text, text to image, perspectives, annotation, anomaly generation, anomaly
detection) has one :class:`Registry` in its ``base.py``. The built-in implementations are a table
``{name: "module:Class"}``: building ``name`` imports that one module and nothing else, so a CPU
default never imports torch, diffusers or an HTTP client it does not use, and a missing optional
package fails only for the backend that needs it. A plugin or a test adds its own with
:meth:`Registry.register` (``@IMAGE_EDITORS.register("name")``); callers build with
:meth:`Registry.build` or :meth:`Registry.build_from`, not through per-kind wrapper functions.

``build(name, settings)`` hands the backend only its own settings, checked against its
constructor: a key it takes no parameter for is an error naming the key, the parameter section
and the closest accepted key, never dropped. Errors read the same for every kind::

    unknown image-edit backend 'openai_image' (parameter 'image_edit_backend'); did you mean 'openai_images'?
        choose one of [...]
    unknown key(s) 'lora_pth' (did you mean 'lora_path'?) in 'perspectives.qwen_multicamera'; it accepts: ...
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, NoReturn, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")


def accepted_keys(factory: Callable, passed_by_builder: Iterable[str] = ()) -> set[str] | None:
    """The keyword parameters a settings section may set, ``passed_by_builder`` left out.

    A class whose ``__init__`` forwards ``**kwargs`` to its base class accepts the base's keys
    too (followed along the MRO); ``None`` (nothing checkable) only when a plain function, or the
    last class in the chain, takes ``**kwargs``.
    """
    skip = set(passed_by_builder) | {"self"}
    keys: set[str] = set()
    chain = [c.__init__ for c in inspect.getmro(factory) if "__init__" in vars(c)] \
        if inspect.isclass(factory) else [factory]
    for function in chain:
        if function is object.__init__:
            return keys
        params = inspect.signature(function).parameters.values()
        keys |= {p.name for p in params
                 if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
                 and p.name not in skip}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return keys
    return None


def check_keys(factory: Callable, config: Mapping[str, Any], section: str,
               passed_by_builder: Iterable[str] = (), also_allowed: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` for every key of ``config`` that ``factory`` takes no parameter for."""
    accepted = accepted_keys(factory, passed_by_builder)
    if accepted is not None:
        check_names(config, accepted | set(also_allowed), section)


def check_names(config: Mapping[str, Any], accepted: Iterable[str], section: str) -> None:
    """Raise ``ValueError`` naming each key of ``config`` not in ``accepted`` and the closest one."""
    accepted = sorted(set(accepted))
    unknown = sorted(set(config) - set(accepted))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, accepted, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise ValueError(f"unknown key(s) {', '.join(hints)} in '{section}'; it accepts: "
                         f"{', '.join(accepted) or 'no settings'}")


@runtime_checkable
class Backend(Protocol):
    """What every backend provides, whatever its kind: a name, and a health check that raises
    the kind's error with an actionable message when the backend cannot serve."""

    name: str

    def health_check(self) -> None:
        """Raise if the backend cannot serve (missing weights, endpoint down, no API key)."""


class Registry(Generic[T]):
    """Backends of one kind: ``{name: "module:Class"}`` built in, plus what plugins register.

    ``kind`` names the kind in errors (``image-edit``); ``parameter`` is the parameter that
    picks a backend, ``section`` the parameter section its settings live in (``{name}`` is
    replaced by the backend's name); ``passed_by_builder`` are constructor arguments the
    pipeline passes itself (the reference image of an annotator), never settings; ``default``
    is the backend a section that names none gets.
    """

    def __init__(self, kind: str, implementations: Mapping[str, str], *, parameter: str, section: str,
                 passed_by_builder: tuple[str, ...] = (), default: str | None = None) -> None:
        self.kind = kind
        self.default = default
        self.parameter = parameter
        self.section = section
        self.passed_by_builder = passed_by_builder
        self._table = dict(implementations)
        self._factories: dict[str, Callable[..., T]] = {}
        self._lock = threading.Lock()

    # --- names ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every buildable name: the built-in table and the registered ones."""
        return sorted(set(self._table) | set(self._factories))

    def builtin(self) -> dict[str, str]:
        """The built-in table ``{name: "module:Class"}``."""
        return dict(self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._factories

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: make ``factory`` buildable as ``name`` (a plugin's or a test's backend)."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        """Drop a registered backend (tests clean up their throwaway ones)."""
        self._factories.pop(name, None)

    # --- lookup --------------------------------------------------------------------------------
    def reject(self, name: Any) -> NoReturn:
        """The one error for a name that is neither built in nor registered."""
        names = self.names()
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ";"
        raise ValueError(f"unknown {self.kind} backend {name!r} (parameter '{self.parameter}'){hint} "
                         f"choose one of {names}")

    def factory(self, name: str) -> Callable[..., T]:
        """The constructor of ``name``, importing its module (and only it) on first use."""
        if name in self._factories:
            return self._factories[name]
        if name not in self._table:
            self.reject(name)
        module, _, attribute = self._table[name].partition(":")
        with self._lock:
            if name not in self._factories:
                self._factories[name] = getattr(importlib.import_module(module), attribute)
        return self._factories[name]

    def section_of(self, name: str) -> str:
        return self.section.format(name=name)

    def accepted(self, name: str) -> set[str] | None:
        """The settings keys backend ``name`` takes (``None``: not checkable)."""
        return accepted_keys(self.factory(name), self.passed_by_builder)

    # --- build ---------------------------------------------------------------------------------
    def check(self, name: str, settings: Mapping[str, Any] | None, section: str | None = None) -> dict[str, Any]:
        """``settings`` as a dict, every key checked against backend ``name``'s constructor."""
        settings = dict(settings or {})
        check_keys(self.factory(name), settings, section or self.section_of(name), self.passed_by_builder)
        return settings

    def build(self, name: str, settings: Mapping[str, Any] | None = None, *, section: str | None = None,
              **from_builder: Any) -> T:
        """Backend ``name`` built from its own ``settings`` (checked) and the builder's arguments."""
        return self.factory(name)(**from_builder, **self.check(name, settings, section))

    def build_from(self, config: Mapping[str, Any] | None, default: str | None = None, *, section: str | None = None,
                   **from_builder: Any) -> T:
        """Build from a section that names its backend: ``{"backend": name, ...settings}``.

        The settings may be flat (``{"backend": "nim", "endpoint": ...}``) or, for any backend,
        in a sub-section named after it (``{"backend": "pyimgano", "patch_stats": {...},
        "pyimgano": {...}}``): only the chosen one's sub-section is used, so switching
        ``backend`` in an environment or with ``--params`` does not hand another backend's
        settings to this one.
        """
        name, settings = self.split(config, default)
        return self.build(name, settings, section=section, **from_builder)

    def split(self, config: Mapping[str, Any] | None, default: str | None = None) -> tuple[str, dict[str, Any]]:
        """``(name, its settings)`` of a ``{"backend": name, ...}`` section (see :meth:`build_from`);
        no ``backend`` key: ``default``, else the registry's own."""
        config = dict(config or {})
        name = config.pop("backend", self.default if default is None else default)
        if name not in self:
            self.reject(name)
        sections = {k: config.pop(k) for k in list(config) if k in self and isinstance(config[k], dict)}
        config.update(sections.get(name) or {})
        return name, config
