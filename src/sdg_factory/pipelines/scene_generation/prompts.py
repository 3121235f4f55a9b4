"""Prompt diversification: a template grammar (embedded default) and LLM backends.

The grammar composes a prompt from the archetype's settings and fixtures, one phrase per
variation tag, the camera of the plan and the document's image specification (photorealistic
architectural photography, elevated corner ~1.5–2 m, wide angle, full-room coverage). It
redraws until the prompt's hash is new in the lookback window, so a prompt is never repeated.

An LLM backend (``openai_chat`` or ``transformers``) is given the same facts plus the recent
prompts of the archetype and asked for one new prompt that avoids them; an answer that is
empty or repeats a hash is retried with another seed, then replaced by the grammar's prompt
(the row records which wrote it).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import numpy as np

from sdg_factory.pipelines.scene_generation.settings import Archetype

logger = logging.getLogger(__name__)

SUMMARY_CHARS = 200

OPENINGS = (
    "Wide-angle photograph of", "Photorealistic wide shot of", "Architectural interior photograph of",
    "Realistic wide-angle view of", "High-detail 16:9 photograph of", "Documentary-style wide photograph of",
)
CAMERA = (
    "taken from an elevated corner at {h:.2f} m with a {lens} mm lens",
    "shot from a corner vantage point {h:.2f} m above the floor through a {lens} mm lens",
    "captured from {h:.2f} m height in the room's corner, {lens} mm wide-angle",
)
COVERAGE = (
    "capturing the full room with no blind spots",
    "showing every wall, the floor and the ceiling",
    "full room coverage from wall to wall",
    "the whole space visible from floor to ceiling",
)
LENSES = (14, 16, 18, 20, 24)
AXIS_PHRASES = {
    "lighting": ("lit by {v} light", "under {v} lighting", "with {v} illumination"),
    "time_of_day": ("at {v}", "around {v}", "in the {v} hours"),
    "occupancy": ("{v}", "with {v} occupancy"),
    "clutter": ("{v}", "{v} surfaces"),
    "layout": ("{v} layout", "in a {v} floor plan"),
}
VALUE_PHRASES = {  # wordings of common tag values (others use the axis templates above)
    "occupancy:empty": ("with no people present", "empty of people", "deserted"),
    "occupancy:lightly_staffed": ("with a few workers going about their tasks", "lightly staffed"),
    "occupancy:busy": ("busy with people at work", "bustling with staff"),
    "occupancy:busy_peak": ("busy at peak hours", "with heavy peak-hour activity"),
    "clutter:spotless": ("spotless and orderly", "immaculately clean"),
    "clutter:tidy": ("tidy", "neatly organised"),
    "clutter:moderate_clutter": ("with some everyday clutter", "moderately cluttered"),
    "clutter:heavy_clutter": ("heavily cluttered", "with clutter on every surface"),
}
DEFAULT_STYLE = ("Photorealistic architectural photography, natural colours, sharp focus, 16:9, "
                 "high detail for 3D reconstruction.")


def normalise(prompt: str) -> str:
    return re.sub(r"\s+", " ", prompt.strip().lower())


def prompt_hash(prompt: str) -> str:
    """SHA-256 of the prompt with case and whitespace normalised."""
    return hashlib.sha256(normalise(prompt).encode()).hexdigest()


def summarize(prompt: str, chars: int = SUMMARY_CHARS) -> str:
    return re.sub(r"\s+", " ", prompt.strip())[:chars]


def _pick(rng: np.random.Generator, options) -> Any:
    return options[int(rng.integers(len(options)))]


def _words(value: str) -> str:
    return value.replace("_", " ")


def tag_phrase(tag: str, rng: np.random.Generator) -> str:
    axis, _, value = tag.partition(":")
    if tag in VALUE_PHRASES:
        return _pick(rng, VALUE_PHRASES[tag])
    templates = AXIS_PHRASES.get(axis, ("{axis}: {v}",))
    return _pick(rng, templates).format(v=_words(value), axis=_words(axis))


def template_prompt(archetype: Archetype, tags: list[str], camera: dict, rng: np.random.Generator,
                    style: str = DEFAULT_STYLE) -> str:
    """One sentence of the grammar for this scene."""
    settings = archetype.settings or [s.strip() for s in archetype.description.split(",") if s.strip()]
    setting = _pick(rng, settings)
    fixtures = list(archetype.fixtures)
    details = ""
    if fixtures:
        k = int(rng.integers(2, min(4, len(fixtures)) + 1)) if len(fixtures) >= 2 else 1
        chosen = [fixtures[i] for i in sorted(rng.choice(len(fixtures), size=k, replace=False))]
        details = " featuring " + (", ".join(chosen[:-1]) + " and " + chosen[-1] if len(chosen) > 1 else chosen[0])
    phrases = [tag_phrase(t, rng) for t in tags]
    order = rng.permutation(len(phrases))
    cam = _pick(rng, CAMERA).format(h=float(camera.get("height_m", 1.7)), lens=_pick(rng, LENSES))
    body = (f"{_pick(rng, OPENINGS)} {setting} ({_words(archetype.name)}){details}, "
            f"{', '.join(phrases[i] for i in order)}; {cam}, {_pick(rng, COVERAGE)}.")
    return f"{body[0].upper()}{body[1:]} {style}".strip()


def unique_template_prompt(archetype: Archetype, tags: list[str], camera: dict, rng: np.random.Generator,
                           avoid: set[str], style: str = DEFAULT_STYLE, max_attempts: int = 64) -> str:
    """A grammar prompt whose hash is not in ``avoid`` (redrawn, then disambiguated)."""
    prompt = template_prompt(archetype, tags, camera, rng, style)
    for _ in range(max_attempts):
        if prompt_hash(prompt) not in avoid:
            return prompt
        prompt = template_prompt(archetype, tags, camera, rng, style)
    variant = 2
    while prompt_hash(f"{prompt} Variant {variant}.") in avoid:
        variant += 1
    return f"{prompt} Variant {variant}."


SYSTEM = (
    "You write prompts for a text-to-image model that makes photorealistic, wide-angle 16:9 images of "
    "real interior spaces for 3D reconstruction and robot simulation. The camera stands in an elevated "
    "corner (about 1.5 to 2 m high) and the whole room must be visible with no blind spots. "
    "Answer with the prompt only: one paragraph, no quotes, no lists, under 120 words."
)


def llm_messages(archetype: Archetype, tags: list[str], camera: dict, recent: list[str], style: str) -> list[dict]:
    """The chat for one scene: the facts of the plan and the recent prompts to avoid."""
    avoid = "\n".join(f"- {r}" for r in recent) or "- (none yet)"
    fixtures = ", ".join(archetype.fixtures) or "typical fixtures"
    user = (
        f"Archetype: {archetype.name} — {archetype.description}.\n"
        f"Typical fixtures: {fixtures}.\n"
        f"Variations to depict: {', '.join(_words(t.replace(':', ' = ')) for t in tags)}.\n"
        f"Camera height: {float(camera.get('height_m', 1.7)):.2f} m.\n"
        f"Recent prompts for this archetype (write something clearly different from all of them):\n{avoid}\n"
        f"End the prompt with: {style}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def clean_llm_answer(text: str) -> str:
    """The first paragraph of the answer, without wrapping quotes or a 'Prompt:' label."""
    text = (text or "").strip()
    text = re.sub(r"^(here is|here's)[^:\n]*:\s*", "", text, flags=re.I)
    text = re.sub(r"^prompt\s*:\s*", "", text, flags=re.I)
    text = text.split("\n\n")[0].strip().strip('"').strip("'").strip()
    return re.sub(r"\s+", " ", text)[:1500]


#: keys of ``scene_generation.prompts`` read here, not by the LLM backend
NODE_PROMPT_KEYS = ("style", "max_attempts", "recent_history", "max_tokens", "temperature", "negative_prompt")


class PromptWriter:
    """Writes one prompt per planned scene with the configured backend (``template`` by default)."""

    def __init__(self, config: dict[str, Any]):
        self.config = dict(config or {})
        self.backend = str(self.config.get("backend", "template"))
        self.style = str(self.config.get("style") or DEFAULT_STYLE)
        self.max_attempts = int(self.config.get("max_attempts", 4))
        self.generator = None
        if self.backend != "template":
            from sdg_factory.backends.text import TEXT_GENERATORS

            llm = {k: v for k, v in self.config.items() if k not in NODE_PROMPT_KEYS}
            self.generator = TEXT_GENERATORS.build_from(llm)

    def health_check(self) -> None:
        if self.generator is not None:
            self.generator.health_check()

    def write(self, archetype: Archetype, tags: list[str], camera: dict, seed: int, recent: list[str],
              avoid: set[str]) -> tuple[str, str]:
        """``(prompt, written_by)`` with ``prompt_hash(prompt)`` not in ``avoid``."""
        rng = np.random.default_rng(seed)
        if self.generator is None:
            return unique_template_prompt(archetype, tags, camera, rng, avoid, self.style), "template"
        messages = llm_messages(archetype, tags, camera, recent, self.style)
        problem = ""
        for attempt in range(self.max_attempts):
            try:
                answer = clean_llm_answer(self.generator.generate(
                    messages, seed=seed + attempt, max_tokens=int(self.config.get("max_tokens", 200)),
                    temperature=float(self.config.get("temperature", 0.9))))
            except Exception as exc:  # noqa: BLE001 - one scene's prompt falls back, the batch goes on
                problem = f"{type(exc).__name__}: {exc}"
                logger.warning("prompt backend %s failed (%s); attempt %d/%d", self.backend, problem,
                               attempt + 1, self.max_attempts)
                continue
            if len(answer) < 20:
                problem = f"answer too short: {answer!r}"
            elif prompt_hash(answer) in avoid:
                problem = "answer repeats a recent prompt"
            else:
                return answer, self.backend
        logger.warning("prompt backend %s gave no usable prompt (%s); using the template grammar",
                       self.backend, problem)
        return unique_template_prompt(archetype, tags, camera, rng, avoid, self.style), \
            f"template (fallback from {self.backend}: {problem[:120]})"
