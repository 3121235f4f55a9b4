"""Text / prompt LLM backends (template grammars live with the pipeline that owns them)."""

from sdg_factory.backends.text.base import (
    TextGenerator,
    build_text_generator,
    register_text_generator,
)

__all__ = ["TextGenerator", "build_text_generator", "register_text_generator"]
