"""The text-generation interface: chat messages in, text out.

Backends: ``openai_chat`` (Ollama, vLLM, NIM, Gemini's OpenAI-compatible endpoint) and
``transformers`` (a local causal LM folder). The embedded defaults are template grammars that
belong to each pipeline (scene prompts, archetype prompts), built by that pipeline.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sdg_factory.backends.config_keys import check_keys


@runtime_checkable
class TextGenerator(Protocol):
    name: str

    def health_check(self) -> None: ...

    def generate(self, messages: list[dict[str, str]], *, seed: int = 0,
                 max_tokens: int = 256, temperature: float = 0.8) -> str:
        """Answer a chat (``[{"role": "system"|"user"|"assistant", "content": str}]``)."""


_REGISTRY: dict[str, Callable[..., TextGenerator]] = {}


def register_text_generator(name: str) -> Callable:
    def decorate(factory):
        _REGISTRY[name] = factory
        return factory

    return decorate


def build_text_generator(config: dict[str, Any], section: str = "the text backend's config") -> TextGenerator:
    """Build the backend named by ``config['backend']`` (``openai_chat`` or ``transformers``);
    a key its constructor does not take is an error naming it and ``section``."""
    for module in ("openai_chat", "transformers_local"):
        try:
            importlib.import_module(f"sdg_factory.backends.text.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sdg_factory.backends.text.{module}":
                raise
    config = dict(config)
    name = config.pop("backend")
    if name not in _REGISTRY:
        raise ValueError(f"unknown text backend {name!r}; available: {sorted(_REGISTRY)}")
    check_keys(_REGISTRY[name], config, section)
    return _REGISTRY[name](**config)
