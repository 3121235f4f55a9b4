"""Step 3's embedded prompt backend: a template grammar fed by the project-info file.

The project-info file is free text (the context an LLM backend gets) plus grammar lines:
``slot: value | value | …`` and ``template: … {slot} …`` (``{object}`` is the object name).
Prompts are drawn coverage-first: each slot's value is the least-used one so far (ties broken
by the seeded generator), and a prompt equal to an earlier one is never emitted — so
``num_prompts`` prompts cover every value of every slot as evenly as the counts allow.
"""

from __future__ import annotations

import itertools
import re
import string
from collections import Counter

import numpy as np

_SLOT_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$")


class ProjectInfoError(ValueError):
    """The project-info file cannot drive the template grammar."""


def parse_project_info(text: str, source: str = "project_info_file") -> tuple[dict[str, list[str]], list[str], str]:
    """``(slots, templates, free text)`` of a project-info file."""
    slots: dict[str, list[str]] = {}
    templates: list[str] = []
    free: list[str] = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = _SLOT_LINE.match(line)
        if match and ("|" in match.group(2) or match.group(1) == "template"):
            key, value = match.group(1), match.group(2).strip()
            if key == "template":
                templates.append(value)
            else:
                slots.setdefault(key, []).extend(v.strip() for v in value.split("|") if v.strip())
        else:
            free.append(line)
    if not templates:
        templates = ["A photo of the {object} " + " ".join(f"{{{s}}}" for s in slots) + "."]
    for template in templates:
        for _, name, _, _ in string.Formatter().parse(template):
            if name and name != "object" and name not in slots:
                raise ProjectInfoError(
                    f"{source}: template {template!r} uses slot '{{{name}}}' but no line "
                    f"'{name}: value | value' defines it. Add that line or remove the slot."
                )
    return slots, templates, "\n".join(free).strip()


def template_prompts(text: str, object_name: str, num_prompts: int, rng: np.random.Generator,
                     source: str = "project_info_file") -> list[str]:
    """``num_prompts`` distinct, coverage-balanced scene prompts."""
    slots, templates, _ = parse_project_info(text, source)
    used: dict[str, Counter] = {name: Counter() for name in slots}
    used_templates: Counter = Counter()
    seen: set[str] = set()
    prompts: list[str] = []
    capacity = sum(np.prod([len(slots[n]) for n in _names(t)], dtype=np.int64) for t in templates)
    if num_prompts > capacity:
        raise ProjectInfoError(
            f"{source}: num_prompts={num_prompts} but the grammar can only make {capacity} distinct "
            "prompts. Add values to the slots (or templates), or lower num_prompts."
        )
    for _ in range(num_prompts):
        prompt, chosen, template = None, {}, None
        for template in sorted(templates, key=lambda t: (used_templates[t], rng.random())):
            names = _names(template)
            # fillings ordered by how little their values have been used so far, then by rng
            options = [sorted(slots[n], key=lambda v, n=n: (used[n][v], rng.random())) for n in names]
            for combo in itertools.product(*options):
                candidate = _fill(template, object_name, dict(zip(names, combo, strict=False)))
                if candidate not in seen:
                    prompt, chosen = candidate, dict(zip(names, combo, strict=False))
                    break
            if prompt is not None:
                break
        seen.add(prompt)
        prompts.append(prompt)
        used_templates[template] += 1
        for n, v in chosen.items():
            used[n][v] += 1
    return prompts


def _names(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name and name != "object"]


def _fill(template: str, object_name: str, values: dict[str, str]) -> str:
    text = template.format(object=object_name, **values)
    return re.sub(r"\s+", " ", text).replace(" ,", ",").replace(" .", ".").strip()


def llm_prompts(generator, system_prompt: str, project_info: str, object_name: str, num_prompts: int,
                seed: int, max_retries: int = 3) -> list[str]:
    """The document's iterative conversation: one prompt per turn, duplicates asked again.

    An empty or repeated answer is asked again up to ``max_retries`` times per prompt (each prompt
    gets ``max_retries + 1`` requests at most, docs/parameters.md), then the run stops with an error.
    """
    messages = [{"role": "system", "content": system_prompt.strip()},
                {"role": "user", "content": f"{project_info.strip()}\n\nObject: {object_name}.\n"
                                            "Write the first scene description."}]
    prompts: list[str] = []
    seen: set[str] = set()
    requests = 0
    retries = 0  # answers refused since the last new prompt
    while len(prompts) < num_prompts:
        reply = generator.generate(messages, seed=seed + requests)
        requests += 1
        text = _clean_reply(reply)
        key = re.sub(r"\W+", " ", text.lower()).strip()
        if text and key not in seen:
            seen.add(key)
            prompts.append(text)
            retries = 0
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": "Write another scene description, different from all "
                                                     "previous ones (another place, surface or light)."}]
            continue
        retries += 1
        if retries > max(0, int(max_retries)):
            raise RuntimeError(f"the text backend gave only {len(prompts)} distinct prompts of {num_prompts} "
                               f"after {requests} requests; lower num_prompts or change the system prompt")
    return prompts


def _clean_reply(reply: str) -> str:
    lines = [ln.strip() for ln in str(reply).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else ""
    text = re.sub(r"^(\d+[.)]|[-*•])\s*", "", text)
    return text.strip().strip('"').strip("'").strip()
