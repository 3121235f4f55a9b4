"""PCBA render backends: the built-in rasterizer (default) and Blender Cycles (a subprocess).

``build_render_backend(name, settings)`` returns a backend whose ``cells(...)`` gives one lazy
:class:`~sdg_factory.pcb.render.RenderCell` per scan-grid cell; the render node saves them
through the Replicator render folder, whatever the backend.
"""

from sdg_factory.backends.render.base import (
    RENDER_BACKENDS,
    RenderBackend,
    build_render_backend,
    chosen_render_settings,
)

__all__ = ["RENDER_BACKENDS", "RenderBackend", "build_render_backend", "chosen_render_settings"]
