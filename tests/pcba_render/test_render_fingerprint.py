"""The render's fingerprint holds only the chosen backend's settings (``@reads_parameters``).

``pcba_render`` has a section per backend; the render node reads only the chosen one's, so a
Blender setting changed while the rasterizer renders must not make a rasterizer cell stale.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sdg_factory.backends.render import chosen_render_settings
from sdg_factory.fingerprints.context import parameters_read
from sdg_factory.pipelines.pcba_render.nodes import render_scan_grid
from sdg_factory.pipelines.structural_defect.nodes import render_structural_cells
from tests.kedro_runner import run_pipeline

RUN = "fp"


def test_only_the_chosen_backends_section_is_read():
    arguments = {"render_backend": "params:render_backend", "pcba_render": "params:pcba_render",
                 "seed": "params:seed"}
    settings = {"blender": {"samples": 32}}
    for func in (render_scan_grid, render_structural_cells):
        raster = parameters_read(func, {"params:render_backend": "rasterizer", "params:pcba_render": settings,
                                        "params:seed": 3}, arguments)
        assert raster == {"params:render_backend": "rasterizer", "params:pcba_render": {"rasterizer": None},
                          "params:seed": 3}
        blender = parameters_read(func, {"params:render_backend": "blender", "params:pcba_render": settings},
                                  arguments)
        assert blender["params:pcba_render"] == {"blender": {"samples": 32}}
    assert chosen_render_settings({"pcba_render": settings}) == {"rasterizer": None}  # the default backend
    # a function without the declaration reads its parameters whole
    assert parameters_read(lambda pcba_render: None, {"params:pcba_render": settings},
                           {"pcba_render": "params:pcba_render"}) == {"params:pcba_render": settings}


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def render(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("render_fingerprint")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    run_pipeline("pcba_render", env="smoke", params={"run_name": RUN, "render_patches": 1}, cwd=root)
    return root, root / "data" / "dig" / "runs" / RUN / "usd2roi-components" / "trigger_0000"


def test_a_blender_setting_does_not_rerender_rasterizer_cells(render):
    root, folder = render
    before = _mtimes(folder)
    assert any(name.startswith("rgb_") for name in before)
    run_pipeline("pcba_render", env="smoke", cwd=root,
                 params={"run_name": RUN, "render_patches": 1, "pcba_render": {"blender": {"samples": 7}}})
    assert _mtimes(folder) == before
    # what the rasterizer does read still counts: a new seed re-renders the cell
    run_pipeline("pcba_render", env="smoke", cwd=root, params={"run_name": RUN, "render_patches": 1, "seed": 5})
    after = _mtimes(folder)
    assert [k for k in before if k.startswith("rgb_") and after.get(k) != before[k]]
