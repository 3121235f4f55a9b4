"""Multi-view generation (step 2): ``classical`` 2.5-D views, ``qwen_multicamera``, ``zero123``."""

from sdg_factory.backends.perspectives.base import PERSPECTIVE_GENERATORS, PerspectiveGenerator

__all__ = ["PERSPECTIVE_GENERATORS", "PerspectiveGenerator"]
