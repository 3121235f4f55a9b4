"""Every parameter checked once, before any node runs (``docs/parameters.md``).

:func:`check_parameters` takes the parameters as Kedro resolved them (with ``--params``
merged in), the ``--params`` themselves and the configuration folder, and raises one
:class:`ParameterError` listing every problem:

- unknown or misspelt keys, wrong types, out-of-range values (the models in
  :mod:`sdg_factory.parameter_checks.models`), each naming the key path, the value, what is
  allowed and the closest valid key;
- ``--params`` keys that no parameter or catalog entry reads (``object_name`` for
  ``reference_object.object_name``), keys that only mirror another runtime key
  (``reference_object.input_image``: the catalog reads ``input_image``) or a global
  (``dig_url_root``), and keys that mean nothing without another (``image_edit_endpoint``
  while ``image_edit_backend`` is ``classical``);
- names that become folders (``run_name``, ``board``, materials…): see :mod:`sdg_factory.paths`.

The hook :class:`ParameterCheckHooks` runs it in ``after_context_created``, so a bad
``run_name`` is refused before the catalog exists and nothing is written.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import yaml
from kedro.framework.hooks import hook_impl
from pydantic import ValidationError

from sdg_factory.parameter_checks.models import Parameters

RUNTIME_RESOLVER = re.compile(r"\$\{runtime_params:\s*([^,}\s]+)")
GLOBALS_RESOLVER = re.compile(r"^\$\{globals:\s*([^,}\s]+)")
MAX_SUGGESTION_DEPTH = 4
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: the names pydantic gives a union's alternatives in an error location
UNION_TAG = re.compile(r"int|float|str|bool|none|(function-(after|before|plain|wrap)|constrained-\w+|list|dict|"
                       r"literal|tagged-union|json-or-python|nullable)(\[.*\])?")
HTTP_IMAGE_EDIT_BACKENDS = ("openai_images", "openai_chat", "nim")

#: ``--params`` keys users bring from the source documents, and what they are called here.
DOCUMENT_KEYS = {
    "use_pretrained_checkpoint": (
        "the document's switch is the choice of pipeline here: use_pretrained_checkpoint=true is "
        "`kedro run --pipeline=texture_defect_day0` (the shipped checkpoint), false is "
        "`kedro run --pipeline=texture_defect_day0_finetune` (finetune first, then infer)"),
}


class ParameterError(click.ClickException, ValueError):
    """The parameters (configuration files and ``--params``) hold keys or values no node can use.

    A ``ClickException``, so ``kedro run`` prints the message and exits non-zero without a
    traceback.
    """


# --- the configuration as written (before resolution) -------------------------------------------


def _yaml_files(folder: Path, prefix: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.name.startswith(prefix))


def _merge(into: dict, doc: Mapping) -> dict:
    for key, value in doc.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
    return into


def raw_parameters(conf_source: str | Path, env: str | None, base_env: str = "base") -> dict:
    """The parameter files of ``base`` and ``env`` soft-merged, resolvers left as text."""
    tree: dict = {}
    for folder in dict.fromkeys([base_env, env or base_env]):
        for path in _yaml_files(Path(conf_source) / folder, "parameters"):
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}
            if isinstance(doc, Mapping):
                _merge(tree, doc)
    return tree


def runtime_keys_read(conf_source: str | Path, env: str | None, base_env: str = "base") -> set[str]:
    """Every ``${runtime_params:<key>…}`` the configuration (catalog or parameters) reads."""
    keys: set[str] = set()
    for folder in dict.fromkeys([base_env, env or base_env]):
        for path in _yaml_files(Path(conf_source) / folder, ""):
            if path.name.startswith("credentials"):
                continue  # never read; credentials hold no runtime_params
            keys.update(RUNTIME_RESOLVER.findall(path.read_text(encoding="utf-8")))
    return keys


def _paths(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path, value
            yield from _paths(value, path)


def _leaves(tree: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _lookup(tree: Any, path: str) -> tuple[bool, Any]:
    node = tree
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


# --- messages -----------------------------------------------------------------------------------


def closest_key(key: str, candidates: list[str]) -> str | None:
    """The valid key a user most likely meant: the same last word elsewhere in the tree
    (``object_name`` → ``reference_object.object_name``), else the closest spelling."""
    candidates = [c for c in candidates if c != key]
    last = key.rsplit(".", 1)[-1]
    same_word = sorted((c for c in candidates if c.rsplit(".", 1)[-1] == last and c != key), key=len)
    if same_word:
        return same_word[0]
    match = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if match:
        return match[0]
    by_word = {c.rsplit(".", 1)[-1]: c for c in sorted(candidates, key=len, reverse=True)}
    match = difflib.get_close_matches(last, list(by_word), n=1, cutoff=0.75)
    return by_word[match[0]] if match else None


def _did_you_mean(key: str, candidates: list[str]) -> str:
    close = closest_key(key, candidates)
    return f" (did you mean '{close}'?)" if close else ""


def unread_runtime_key(key: str, candidates: list[str]) -> str:
    hint = DOCUMENT_KEYS.get(key.rsplit(".", 1)[-1])
    tail = f": {hint}" if hint else _did_you_mean(key, candidates)
    return f"--params {key}: no parameter or catalog entry reads this key{tail}"


def mirrored_runtime_key(key: str, source: str) -> str:
    return (f"--params {key}: this parameter only records the runtime key '{source}', which is what "
            f"the catalog reads; write --params {source}=<value> instead")


def global_runtime_key(key: str, name: str) -> str:
    return (f"--params {key}: this value comes from the global '{name}' (conf/<env>/globals.yml), which "
            f"every catalog path uses; a --params override would move only part of the run. Set "
            f"{name} in conf/<env>/globals.yml (or pick an environment: --env cloud)")


def unknown_key(path: str, allowed: list[str], candidates: list[str]) -> str:
    parent, _, last = path.rpartition(".")
    sibling = difflib.get_close_matches(last, allowed, n=1, cutoff=0.6)
    hint = (f" (did you mean '{parent + '.' if parent else ''}{sibling[0]}'?)" if sibling
            else _did_you_mean(path, candidates))
    listed = ", ".join(allowed[:15]) + (", …" if len(allowed) > 15 else "")
    return f"unknown parameter '{path}'{hint}; '{parent or 'the top level'}' accepts: {listed}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " …" + text[-3:]


def invalid_value(path: str, value: Any, why: str, from_runtime: bool) -> str:
    origin = " (from --params)" if from_runtime else ""
    shown = "" if isinstance(value, Mapping) else f" = {_short(value)}"  # a section: its keys are in `why`
    return f"parameter '{path}'{shown}{origin} is invalid: {why}"


def endpoint_without_backend(key: str, backend: str) -> str:
    return (f"--params {key} is used only by the HTTP image-edit backends "
            f"({', '.join(HTTP_IMAGE_EDIT_BACKENDS)}), but image_edit_backend is {backend!r}; add "
            f"image_edit_backend=<one of those> to the same --params")


def _summary(problems: list[str], env: str | None) -> str:
    return (f"invalid parameters (environment {env or 'local'!r}; nothing was run): "
            + (problems[0] if len(problems) == 1 else "\n  - " + "\n  - ".join(problems)))


# --- the checks ---------------------------------------------------------------------------------


def _model_in(annotation: Any) -> Any:
    """The model inside ``X | None`` (or the annotation itself)."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    return next((a for a in typing.get_args(annotation) if hasattr(a, "model_fields")), annotation)


def _model_fields_at(loc: tuple) -> list[str]:
    """The keys the model at ``loc`` (the parent of an unknown key) accepts."""
    model: Any = Parameters
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is not None:
            model = _model_in(field.annotation)
        elif typing.get_origin(model) is dict:  # a name chosen by the user (a board): its value's model
            model = _model_in(typing.get_args(model)[1])
        else:
            return []
    return sorted(getattr(model, "model_fields", {}))


def _model_problems(params: dict, runtime_leaves: set[str], candidates: list[str],
                    skip: set[str], mirrors: dict[str, str]) -> list[str]:
    try:
        Parameters.model_validate(params)
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        bad = {".".join(str(p) for p in e["loc"][:1]) for e in errors}
        skip = skip | {path for path, source in mirrors.items() if source in bad}  # said once, at the source
        whys: dict[str, list[str]] = {}
        for error in errors:
            # a union's alternatives add their type to the location ('run_name', 'str'): keep the key path
            loc = tuple(str(p) for p in error["loc"] if not UNION_TAG.fullmatch(str(p)))
            path = ".".join(loc)
            if any(path == s or path.startswith(s + ".") for s in skip):
                continue
            if error["type"] == "extra_forbidden":
                problems.append(unknown_key(path, _model_fields_at(loc[:-1]), candidates))
                continue
            why = re.sub(r"^Value error, ", "", error["msg"])
            if path not in whys:
                whys[path] = []
                problems.append(path)  # placeholder, filled below in the order found
            if why not in whys[path]:
                whys[path].append(why)
        for i, item in enumerate(problems):
            if item in whys:
                found, value = _lookup(params, item)
                problems[i] = invalid_value(item or "parameters", value, " or ".join(whys[item]),
                                            item in runtime_leaves)
        return list(dict.fromkeys(problems))
    return []


def check_parameters(params: Mapping[str, Any], runtime_params: Mapping[str, Any] | None,
                     conf_source: str | Path, env: str | None, base_env: str = "base") -> None:
    """Raise :class:`ParameterError` naming every bad key and value (see the module docstring)."""
    if not Path(conf_source).is_dir():  # a packed or remote conf source: the models still check every value
        problems = _model_problems(dict(params), set(), [], set(), {})
        if problems:
            raise ParameterError(_summary(problems, env))
        return
    raw = raw_parameters(conf_source, env, base_env)
    read_at_runtime = runtime_keys_read(conf_source, env, base_env)
    candidates = sorted({p for p, _ in _paths(raw) if p.count(".") < MAX_SUGGESTION_DEPTH} | read_at_runtime)
    runtime = dict(runtime_params or {})
    runtime_leaves = dict(_leaves(runtime))
    problems, skip = [], set()
    for key in runtime_leaves:
        if key in read_at_runtime:
            continue
        found, value = _lookup(raw, key)
        if found:
            text = value if isinstance(value, str) else ""
            mirror, glob = RUNTIME_RESOLVER.match(text.strip()), GLOBALS_RESOLVER.match(text.strip())
            if mirror and mirror.group(1) != key:
                problems.append(mirrored_runtime_key(key, mirror.group(1)))
                skip.add(key)
            elif glob:
                problems.append(global_runtime_key(key, glob.group(1)))
                skip.add(key)
            continue
        parent = key.rsplit(".", 1)[0] if "." in key else None
        parent_found, parent_value = _lookup(raw, parent) if parent else (False, None)
        if parent_found and isinstance(parent_value, Mapping):
            continue  # a new key inside an existing section: the section's model decides
        problems.append(unread_runtime_key(key, candidates))
        skip.add(key.split(".")[0] if not parent_found else key)
    backend = params.get("image_edit_backend", "classical")
    if backend not in HTTP_IMAGE_EDIT_BACKENDS:
        for key in ("image_edit_endpoint", "image_edit_model"):
            if key in runtime_leaves and not (backend == "diffusers" and key == "image_edit_model"):
                problems.append(endpoint_without_backend(key, str(backend)))
    # runtime keys only the catalog reads (input_image, render_dir…) are merged into the
    # parameters by Kedro too: they are not parameters, so the models do not see them
    checked = {k: v for k, v in params.items() if not (k in read_at_runtime and k not in raw)}
    mirrors = {path: m.group(1) for path, value in _paths(raw) if "." in path and isinstance(value, str)
               and (m := RUNTIME_RESOLVER.match(value.strip())) and m.group(1) != path}
    problems += _model_problems(checked, set(runtime_leaves), candidates, skip, mirrors)
    if problems:
        raise ParameterError(_summary(problems, env))


class ParameterCheckHooks:
    """Checks the parameters once the context exists: before the catalog is built, so a bad
    ``run_name`` or value stops the run before any dataset is created or written."""

    @hook_impl
    def after_context_created(self, context) -> None:
        loader = context.config_loader
        env = context.env or getattr(loader, "default_run_env", None)
        check_parameters(loader["parameters"], getattr(loader, "runtime_params", None) or {},
                         loader.conf_source, env, getattr(loader, "base_env", None) or "base")
