"""Multi-view generation (step 2): ``classical`` 2.5-D views, ``qwen_multicamera``, ``zero123``."""

from sdg_factory.backends.perspectives.base import (
    PerspectiveGenerator,
    build_perspective_generator,
    register_perspective_generator,
)

__all__ = ["PerspectiveGenerator", "build_perspective_generator", "register_perspective_generator"]
