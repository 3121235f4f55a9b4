"""Text / prompt LLM backends (template grammars live with the pipeline that owns them)."""

from sdg_factory.backends.text.base import TEXT_GENERATORS, TextGenerator

__all__ = ["TEXT_GENERATORS", "TextGenerator"]
