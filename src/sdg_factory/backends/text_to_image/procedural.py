"""``procedural``: the embedded default — the perspective room renderer of :mod:`imaging.rooms`."""

from __future__ import annotations

import numpy as np

from sdg_factory.backends.text_to_image.base import (
    TextToImageError,
    TextToImageRequest,
)
from sdg_factory.imaging.rooms import ARCHETYPES, render_scene


class ProceduralRooms:
    """Renders the request's archetype and variation tags; the prompt text is not read."""

    name = "procedural"

    def health_check(self) -> None:
        return None

    def generate(self, request: TextToImageRequest) -> np.ndarray:
        archetype = request.options.get("archetype")
        if archetype not in ARCHETYPES:
            raise TextToImageError(
                f"the procedural backend renders the archetypes {list(ARCHETYPES)}; got {archetype!r}. "
                "Use a generative backend (diffusers, openai_images, gemini) for other archetypes."
            )
        return render_scene(archetype, request.options.get("variation_tags", []), request.width,
                            request.height, seed=request.seed, camera=request.options.get("camera"))
