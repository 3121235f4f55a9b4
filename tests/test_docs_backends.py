"""Keep docs/backends.md and the conf honest against the backend registries.

- every backend registered in a registry is named (in backticks) in its section of the page;
- every backend a conf file selects (``backend:``, ``*_backend:``, ``perspective_generator:``)
  is a registered one, in every environment — a typo in conf fails here, not in a GPU run;
- every setting a conf file gives a backend is a parameter of that backend's constructor
  (a misspelt or renamed key would otherwise be rejected at run time, or silently ignored);
- every dotted parameter path the page names exists in conf, or its parent does and the last
  part is a setting the code reads.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "backends.md"
ENVS = ("base", "smoke", "gpu", "cloud", "dask_local")

# interface -> the heading (prefix) of its section in docs/backends.md
SECTIONS = {
    "image_edit": "## Image edit",
    "perspectives": "## Perspectives",
    "text": "## Prompts",
    "annotation": "## Annotation",
    "reference_mask": "## Annotation",
    "text_to_image": "## Text to image",
    "anomaly_generation": "## Texture defects",
    "anomaly_detection": "## Anomaly detection",
    "render": "## PCBA rendering",
}

# backends a pipeline embeds itself instead of registering
EMBEDDED = {"text": {"template"}, "reference_mask": {"classical", "sam2"}}

# (regex over the dotted parameter path of a backend-selecting key, interface)
SELECTORS = [
    (r"image_edit_backend", "image_edit"),
    (r"reference_object\.\w+\.editor\.backend", "image_edit"),
    (r"reference_object\.reference_mask\.backend", "reference_mask"),
    (r"reference_object\.perspective_generator", "perspectives"),
    (r"(reference_object|scene_generation)\.prompts\.backend", "text"),
    (r"reference_object\.annotation\.backend", "annotation"),
    (r"scene_generation\.image\.backend", "text_to_image"),
    (r"texture_defect_day0\.(finetune\.inference_)?backend", "anomaly_generation"),
    (r"anomaly_detection\.detector\.backend", "anomaly_detection"),
    (r"render_backend", "render"),
]


REGISTRIES = {
    "image_edit": ("sdg_factory.backends.image_edit.base", "IMAGE_EDITORS"),
    "perspectives": ("sdg_factory.backends.perspectives.base", "PERSPECTIVE_GENERATORS"),
    "text": ("sdg_factory.backends.text.base", "TEXT_GENERATORS"),
    "annotation": ("sdg_factory.backends.annotation.base", "ANNOTATORS"),
    "text_to_image": ("sdg_factory.backends.text_to_image.base", "TEXT_TO_IMAGE"),
    "anomaly_generation": ("sdg_factory.backends.anomaly_generation.base", "ANOMALY_GENERATORS"),
    "anomaly_detection": ("sdg_factory.backends.anomaly_detection.base", "ANOMALY_DETECTORS"),
    "render": ("sdg_factory.backends.render.base", "RENDER_BACKENDS"),
}


def _registry(interface: str) -> dict[str, Any]:
    """``{name: factory}`` of one interface's built-in table (tests register throwaway backends
    beside them; those are not built in), every entry importable."""
    import importlib

    if interface == "reference_mask":
        return {}
    module, attribute = REGISTRIES[interface]
    registry = getattr(importlib.import_module(module), attribute)
    with pytest.raises(ValueError, match="unknown"):
        registry.factory("__none__")
    return {name: registry.factory(name) for name in registry.builtin()}


def names(interface: str) -> set[str]:
    return set(_registry(interface)) | EMBEDDED.get(interface, set())


def sections(text: str) -> dict[str, str]:
    """``{"## Heading": body}`` of a markdown page (level-2 headings)."""
    parts = re.split(r"(?m)^(## .*)$", text)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def missing_from_doc(text: str) -> list[str]:
    """``interface: name`` for every backend not named in backticks in its section (or the overview)."""
    found = sections(text)
    overview = next((body for head, body in found.items() if head.startswith("## Overview")), "")
    missing = []
    for interface, heading in SECTIONS.items():
        body = next((b for h, b in found.items() if h.startswith(heading)), None)
        for name in sorted(names(interface)):
            if body is None or f"`{name}`" not in body:
                missing.append(f"{interface}: {name} (section {heading!r})")
            elif f"`{name}`" not in overview:
                missing.append(f"{interface}: {name} (overview table)")
    return missing


@functools.cache
def _parameters(env: str) -> dict:
    from kedro.config import OmegaConfigLoader

    from sdg_factory.settings import CONFIG_LOADER_ARGS

    source = ROOT / "conf"
    if env == "base":  # base alone (not a developer's git-ignored conf/local)
        source = Path(tempfile.mkdtemp(prefix="conf_base_"))
        shutil.copytree(ROOT / "conf" / "base", source / "base")
        (source / "local").mkdir()
        env = "local"
    params = OmegaConfigLoader(conf_source=str(source), env=env, **CONFIG_LOADER_ARGS)["parameters"]
    if source != ROOT / "conf":
        shutil.rmtree(source, ignore_errors=True)
    return params


def parameters(env: str) -> dict:
    """The resolved parameters of ``env`` merged over base (a fresh copy per call)."""
    return copy.deepcopy(_parameters(env))


def walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, key, value
            yield from walk(value, here)


def selected_backends(params: dict) -> list[tuple[str, str, str]]:
    """``(path, interface, name)`` of every backend-selecting key; unknown paths raise."""
    out = []
    for path, key, value in walk(params):
        if key == "backend" or str(key).endswith("_backend") or key == "perspective_generator":
            interface = next((i for rx, i in SELECTORS if re.fullmatch(rx, path)), None)
            if interface is None:
                raise AssertionError(f"{path} selects a backend this test does not know; add it to SELECTORS "
                                     "in tests/test_docs_backends.py and to docs/backends.md")
            out.append((path, interface, str(value)))
        if path == "pcba_restyle.backends":
            out += [(f"{path}.{name}", "image_edit", str(name)) for name in value]
    return out


def accepted(factory: Any) -> set[str]:
    """Named parameters of a factory (a class: its ``__init__`` along the MRO, for ``**kwargs`` chains)."""
    if inspect.isclass(factory):
        funcs = [c.__init__ for c in factory.__mro__ if "__init__" in vars(c) and c is not object]
    else:
        funcs = [factory]
    out = set()
    for fn in funcs:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # pragma: no cover
            continue
        out |= {p.name for p in sig.parameters.values()
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
    return out


def backend_settings(params: dict) -> list[tuple[str, str, str, set[str], set[str]]]:
    """``(where, interface, backend, given keys, accepted keys)`` for every backend settings block."""
    from sdg_factory.backends.annotation.reference_mask import make_reference_mask
    from sdg_factory.backends.annotation.sam2_models import load_sam2_predictor

    out = []
    reg = {i: _registry(i) for i in SECTIONS}
    for name, cfg in params["pcba_restyle"]["backends"].items():
        if name != "classical":  # classical options go to the restyle maths (style)
            # the node adds endpoint and model (image_edit_endpoint / image_edit_model)
            out.append((f"pcba_restyle.backends.{name}", "image_edit", name, set(cfg or {}),
                        accepted(reg["image_edit"][name])))
    ro = params["reference_object"]
    for step, cfg in ro.items():
        if isinstance(cfg, dict) and isinstance(cfg.get("editor"), dict):
            editor = dict(cfg["editor"])
            name = editor.pop("backend", "classical")
            if name != "classical":
                out.append((f"reference_object.{step}.editor", "image_edit", name, set(editor),
                            accepted(reg["image_edit"][name])))
    for name in reg["perspectives"]:
        if isinstance(ro["perspectives"].get(name), dict):
            out.append((f"reference_object.perspectives.{name}", "perspectives", name,
                        set(ro["perspectives"][name]), accepted(reg["perspectives"][name])))
    for name in reg["text"]:
        if isinstance(ro["prompts"].get(name), dict):
            out.append((f"reference_object.prompts.{name}", "text", name, set(ro["prompts"][name]),
                        accepted(reg["text"][name])))
    annotators = set().union(*(accepted(f) for f in reg["annotation"].values())) - {"reference_image", "reference_mask"}
    out.append(("reference_object.annotation", "annotation", ro["annotation"]["backend"],
                set(ro["annotation"]) - {"backend"}, annotators | {"min_part_area"}))
    out.append(("reference_object.reference_mask", "reference_mask", ro["reference_mask"]["backend"],
                set(ro["reference_mask"]), accepted(make_reference_mask) - {"image"}))
    for where in ("reference_object.annotation.sam2", "reference_object.reference_mask.sam2"):
        _, section, _ = where.split(".")
        out.append((where, "annotation", "sam2", set(ro[section].get("sam2") or {}), accepted(load_sam2_predictor)))
    sg = params["scene_generation"]
    writer_keys = {"backend", "style", "max_attempts", "recent_history", "max_tokens", "temperature",
                   "negative_prompt"}
    prompt_backend = sg["prompts"].get("backend", "template")
    out.append(("scene_generation.prompts", "text", prompt_backend, set(sg["prompts"]) - writer_keys,
                set() if prompt_backend == "template" else accepted(reg["text"][prompt_backend])))
    image = dict(sg["image"])
    name = image.pop("backend", "procedural")
    out.append(("scene_generation.image", "text_to_image", name, set(image) - {"width", "height"},
                accepted(reg["text_to_image"][name])))
    td = params["texture_defect_day0"]
    for name in reg["anomaly_generation"]:
        if isinstance(td.get(name), dict):
            out.append((f"texture_defect_day0.{name}", "anomaly_generation", name, set(td[name]),
                        accepted(reg["anomaly_generation"][name]) - {"checkpoint"}))
    detector = dict(params["anomaly_detection"]["detector"])
    chosen = detector.pop("backend", "patch_stats")
    for name in reg["anomaly_detection"]:
        section = detector.pop(name, None)
        if isinstance(section, dict):
            out.append((f"anomaly_detection.detector.{name}", "anomaly_detection", name, set(section),
                        accepted(reg["anomaly_detection"][name])))
    out.append(("anomaly_detection.detector", "anomaly_detection", chosen, set(detector),
                accepted(reg["anomaly_detection"][chosen])))
    for name, section in (params.get("pcba_render") or {}).items():
        out.append((f"pcba_render.{name}", "render", name, set(section or {}), accepted(reg["render"][name])))
    return out


# --------------------------------------------------------------------------------------


def test_every_registered_backend_is_documented():
    assert DOC.is_file(), "docs/backends.md is missing"
    missing = missing_from_doc(DOC.read_text())
    assert not missing, "backends missing from docs/backends.md:\n" + "\n".join(missing)


def test_the_doc_check_fails_when_a_backend_is_left_out():
    text = DOC.read_text()
    for interface, name in [("image_edit", "nim"), ("text_to_image", "gemini"), ("anomaly_detection", "pyimgano"),
                            ("perspectives", "zero123"), ("annotation", "persam_sam2")]:
        heading = SECTIONS[interface]
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        end = len(text) if end < 0 else end
        cut = text[:start] + text[start:end].replace(f"`{name}`", "`xxx`") + text[end:]
        assert any(m.startswith(f"{interface}: {name}") for m in missing_from_doc(cut)), (interface, name)
    assert missing_from_doc(text.replace("`diffusers`", "`x`"))  # out of the overview table and sections


@pytest.mark.parametrize("env", ENVS)
def test_every_backend_selected_in_conf_is_registered(env):
    chosen = selected_backends(parameters(env))
    assert {i for _, i, _ in chosen} >= {"image_edit", "perspectives", "text", "annotation", "text_to_image",
                                          "anomaly_generation", "anomaly_detection", "reference_mask", "render"}
    wrong = [f"{path}: {name!r} (registered: {sorted(names(i))})" for path, i, name in chosen
             if name not in names(i)]
    assert not wrong, f"conf ({env}) selects unknown backends:\n" + "\n".join(wrong)


def test_a_typo_in_a_conf_backend_is_caught():
    params = parameters("base")
    params["scene_generation"]["image"]["backend"] = "difusers"
    bad = [(p, n) for p, i, n in selected_backends(params) if n not in names(i)]
    assert bad == [("scene_generation.image.backend", "difusers")]
    params["reference_object"]["mystery"] = {"backend": "classical"}
    with pytest.raises(AssertionError, match="reference_object.mystery.backend"):
        selected_backends(params)


@pytest.mark.parametrize("env", ENVS)
def test_every_backend_setting_in_conf_is_read_by_the_backend(env):
    problems = [f"{where} ({interface} backend {name!r}): {sorted(given - ok)} not among {sorted(ok)}"
                for where, interface, name, given, ok in backend_settings(parameters(env)) if not given <= ok]
    assert not problems, f"conf ({env}) gives backends settings they do not take:\n" + "\n".join(problems)


def test_a_misspelt_backend_setting_is_caught():
    params = parameters("gpu")
    params["reference_object"]["prompts"]["openai_chat"]["base_url"] = "http://localhost:11434/v1"
    params["anomaly_detection"]["detector"]["patch_stats"]["gird"] = 3
    bad = {where for where, _, _, given, ok in backend_settings(params) if not given <= ok}
    assert bad == {"reference_object.prompts.openai_chat", "anomaly_detection.detector.patch_stats"}


def test_the_detector_backend_switches_with_one_key():
    """Only the chosen detector's section is used (the other's settings do not leak into it)."""
    pytest.importorskip("pyimgano")
    from sdg_factory.backends.anomaly_detection import build_anomaly_detector

    detector = dict(parameters("smoke")["anomaly_detection"]["detector"])
    assert build_anomaly_detector(detector).grid == 32
    assert build_anomaly_detector({**detector, "backend": "pyimgano"}).name.startswith("pyimgano:")


DOTTED = re.compile(r"`((?:pcba_restyle|pcba_render|reference_object|scene_generation|texture_defect_day0"
                    r"|anomaly_detection)"
                    r"(?:\.[A-Za-z0-9_<>]+)+)`")


def test_every_parameter_path_in_the_doc_exists():
    """A dotted path in the page exists in conf (gpu or base), or its parent does and the last
    part is a setting some backend (or the node that builds it) reads."""
    from sdg_factory.backends.annotation.sam2_models import load_sam2_predictor
    from sdg_factory.backends.anomaly_generation.finetune import finetune_inpainting

    merged = [parameters("base"), parameters("gpu")]
    code_keys = set().union(*(accepted(f) for i in SECTIONS for f in _registry(i).values()))
    code_keys |= accepted(load_sam2_predictor) | accepted(finetune_inpainting)
    code_keys |= {"width", "height", "max_tokens", "temperature", "max_attempts", "recent_history", "style",
                  "negative_prompt", "min_part_area", "backend", "validation_fraction", "inference_backend"}

    def exists(node, parts):
        if not parts:
            return True
        if not isinstance(node, dict):
            return False
        head, rest = parts[0], parts[1:]
        if head.startswith("<"):  # <step>, <name>: any key
            return any(exists(child, rest) for child in node.values())
        return head in node and exists(node[head], rest)

    def lookup(parts):
        return any(exists(params, parts) for params in merged)

    bad = []
    for path in sorted(set(DOTTED.findall(DOC.read_text()))):
        parts = path.split(".")
        if lookup(parts):
            continue
        if lookup(parts[:-1]) and parts[-1] in code_keys:
            continue
        bad.append(path)
    assert not bad, "docs/backends.md names parameters that exist neither in conf nor in code:\n" + "\n".join(bad)
