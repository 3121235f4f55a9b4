"""Text to image (scene images): one interface, the procedural renderer as embedded default.

Backends: ``procedural`` (a perspective room renderer, CPU, no weights), ``diffusers`` (any
text-to-image pipeline class — FLUX, SDXL — from a local folder), ``openai_images``
(``POST /images/generations``) and ``gemini`` (``generateContent`` REST, 16:9, 2K).
"""

from sdg_factory.backends.text_to_image.base import TEXT_TO_IMAGE, TextToImage, TextToImageError, TextToImageRequest

__all__ = ["TEXT_TO_IMAGE", "TextToImage", "TextToImageError", "TextToImageRequest"]
