"""The text-generation interface: chat messages in, text out.

Backends: ``openai_chat`` (Ollama, vLLM, NIM, Gemini's OpenAI-compatible endpoint) and
``transformers`` (a local causal LM folder). The embedded defaults are template grammars that
belong to each pipeline (scene prompts, archetype prompts), built by that pipeline.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sdg_factory.backends.registry import Registry


@runtime_checkable
class TextGenerator(Protocol):
    name: str

    def health_check(self) -> None: ...

    def generate(self, messages: list[dict[str, str]], *, seed: int = 0,
                 max_tokens: int = 256, temperature: float = 0.8) -> str:
        """Answer a chat (``[{"role": "system"|"user"|"assistant", "content": str}]``)."""


TEXT_GENERATORS: Registry[TextGenerator] = Registry("text", {
    "openai_chat": "sdg_factory.backends.text.openai_chat:OpenAIChat",
    "transformers": "sdg_factory.backends.text.transformers_local:TransformersChat",
}, parameter="prompts.backend", section="prompts.{name}")
