"""Bare-board AOI pairs: the copper layer of a board as a line-scan AOI camera sees it.

The golden half is the defect-free copper of a crop of the board; the test half is the same
crop with one to three of the six bare-board defects (open, short, mousebite, spur, pin hole,
spurious copper) drawn on its traces and pads, each with an exact mask and a YOLO box. The
pairs are written in the inspection-folder layout under ``runs/<run_name>/bare_board/``
(``images/``, ``golden/``, ``boxes/``, ``masks/``, ``classes.txt``), which ``defects_infer``
reads. Each item is drawn from its own seed (run seed + partition id).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdg_factory.backends.registry import check_keys
from sdg_factory.datasets.item_parts import ItemParts, PartsGroup, SharedItem, part_of
from sdg_factory.imaging.bare_board import (
    DEFECT_TYPES,
    DesignRules,
    Nuisance,
    layout_from_copper,
    make_pair,
    pads_in_window,
    route_copper,
    to_crop_pixels,
    yolo_lines,
)
from sdg_factory.pcb.board_cookbooks import ASSETS
from sdg_factory.pcb.copper import BoardCopper, board_copper
from sdg_factory.seeding import item_rng

PARAMS = "conf/base/parameters_bare_board_defects.yml"
WINDOW_TRIES = 12
# bare_board_defects.realistic when it is left out (the values of the shipped parameters file)
REALISTIC = {"line_width_px": [1, 2], "shift_px": [2, 3], "rotation_deg": 0.2, "blur_sigma_px": 0.6,
             "gain": 0.03, "noise_sigma": 2.5}
DESIGN_RULES = {"trace_width_mm": [0.15, 0.3], "clearance_mm": 0.2, "via_outer_mm": 0.6, "via_drill_mm": 0.3,
                "bus_traces": [2, 4], "max_route_mm": 8.0}


def _pair(value: Any, key: str, low: float = 0.0) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2) or not all(
            isinstance(v, (int, float)) for v in value) or not low <= value[0] <= value[1]:
        raise ValueError(f"{PARAMS}: bare_board_defects.{key} must be [min, max] with {low} <= min <= max, "
                         f"got {value!r}")
    return float(value[0]), float(value[1])


def _number(value: Any, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{PARAMS}: bare_board_defects.{key} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class BareBoardSettings:
    """``bare_board_defects`` parameters, checked (see ``conf/base/parameters_bare_board_defects.yml``)."""

    count: int = 60
    crop_px: int = 640
    px_per_mm: float = 48.0
    image: str = "grey"
    nuisance: str = "realistic"
    defects_per_image: tuple = (1, 3)
    supersample: int = 4
    design_rules: dict | None = None
    realistic: dict | None = None

    @classmethod
    def from_params(cls, params: dict) -> BareBoardSettings:
        check_keys(cls, params, "bare_board_defects")
        s = cls(**params)
        _number(s.count, "count", 1, 1e7)
        _number(s.crop_px, "crop_px", 32, 8192)
        _number(s.px_per_mm, "px_per_mm", 2, 1000)
        _number(s.supersample, "supersample", 1, 8)
        _pair(s.defects_per_image, "defects_per_image", 1)
        for key, value, options in (("image", s.image, ("grey", "binary")),
                                    ("nuisance", s.nuisance, ("realistic", "none"))):
            if value not in options:
                raise ValueError(f"{PARAMS}: bare_board_defects.{key} must be one of {list(options)}, got {value!r}")
        return s

    def rules(self) -> DesignRules:
        r = dict(self.design_rules or {})
        defaults = DESIGN_RULES
        _check_section(r, defaults, "design_rules")
        r = {**defaults, **r}
        ppm = float(self.px_per_mm)
        width = _pair(r["trace_width_mm"], "design_rules.trace_width_mm", 0.01)
        bus = _pair(r["bus_traces"], "design_rules.bus_traces", 0)
        outer = _number(r["via_outer_mm"], "design_rules.via_outer_mm", 0.05, 10)
        drill = _number(r["via_drill_mm"], "design_rules.via_drill_mm", 0.01, outer)
        return DesignRules((width[0] * ppm, width[1] * ppm),
                           _number(r["clearance_mm"], "design_rules.clearance_mm", 0.01, 10) * ppm,
                           outer / 2 * ppm, drill / 2 * ppm, (int(bus[0]), int(bus[1])),
                           _number(r["max_route_mm"], "design_rules.max_route_mm", 0.1, 1000) * ppm)

    def nuisance_model(self) -> Nuisance:
        if self.nuisance == "none":
            return Nuisance()
        r = dict(self.realistic or {})
        defaults = REALISTIC
        _check_section(r, defaults, "realistic")
        r = {**defaults, **r}
        return Nuisance(_pair(r["line_width_px"], "realistic.line_width_px"),
                        _pair(r["shift_px"], "realistic.shift_px"),
                        _number(r["rotation_deg"], "realistic.rotation_deg", 0, 10),
                        _number(r["blur_sigma_px"], "realistic.blur_sigma_px", 0, 10),
                        _number(r["gain"], "realistic.gain", 0, 0.5),
                        _number(r["noise_sigma"], "realistic.noise_sigma", 0, 100))


def _check_section(config: dict, defaults: dict, section: str) -> None:
    """Unknown keys of a nested section are errors naming the closest valid key."""
    def accepts(**kwargs):
        return kwargs

    accepts.__signature__ = inspect.Signature(
        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY) for k in defaults])
    check_keys(accepts, config, f"bare_board_defects.{section}")


def _board_copper(pcb_usd_assets: dict[str, Callable], board: str, scene_filename: str) -> BoardCopper:
    key = f"{board}/{scene_filename}"
    if key not in pcb_usd_assets:
        raise FileNotFoundError(
            f"ERROR: no board USD {ASSETS}/{key} for bare_board_defects "
            f"(published: {sorted(pcb_usd_assets) or 'none'}); "
            "run `kedro run --pipeline=pcba_setup`, or pass --params board=…,scene_filename=… of a published board"
        )
    copper = board_copper(pcb_usd_assets[key]())
    if not copper.polygons:
        raise ValueError(f"{ASSETS}/{key} has no copper prims (sdg:material = copper) to draw a bare-board layer "
                         "from; mark the pads and traces of the board USD with sdg:material copper")
    return copper


def item_defect_types(pid: str, rng: np.random.Generator, per_image: tuple[float, float]) -> list[str]:
    """The item's defects: the first cycles through the six types by item number (so any six
    consecutive items show them all), the rest are drawn from the item's seed."""
    count = int(rng.integers(int(per_image[0]), int(per_image[1]) + 1))
    first = DEFECT_TYPES[int(pid) % len(DEFECT_TYPES)]
    return [first] + [str(k) for k in rng.choice(DEFECT_TYPES, count - 1)]


PARTS = ("image", "golden", "mask", "boxes")  # the outputs' order: images/, golden/, masks/, boxes/


def bare_board_parts(pid: str, copper: BoardCopper, settings: BareBoardSettings, seed: int,
                     parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """The ``parts`` (``golden``, ``image``, ``mask``, ``boxes``) of item ``pid``: a window of the
    board drawn from the item's seed, until one holds the item's first defect type. The layout
    and the defects are drawn whatever ``parts`` asks for; only the asked images are rendered
    (each from its own generator: a part is the same whichever others are asked with it)."""
    rng = item_rng(seed, pid)
    kinds = item_defect_types(pid, rng, settings.defects_per_image)
    size = int(settings.crop_px)
    ppm = float(settings.px_per_mm)
    rules = settings.rules()
    xmin, xmax, ymin, ymax = copper.bounds
    span = size / ppm
    rendered = tuple(part for part in ("golden", "image") if part in parts)
    for _ in range(WINDOW_TRIES):
        x0 = float(rng.uniform(xmin, max(xmin, xmax - span)))
        y_top = float(rng.uniform(min(ymax, ymin + span), ymax))
        inside = pads_in_window(copper.polygons, (x0, y_top), ppm, (size, size))
        polygons = [to_crop_pixels(copper.polygons[k], (x0, y_top), ppm) for k in inside]
        if copper.routed:
            window = (x0, y_top), ppm, (size, size)
            traces = [(to_crop_pixels(copper.traces[k][0], *window[:2]), copper.traces[k][1] * ppm)
                      for k in pads_in_window([line for line, _ in copper.traces], *window)]
            holes = [to_crop_pixels(copper.holes[k], *window[:2]) for k in pads_in_window(list(copper.holes), *window)]
            layout = layout_from_copper(polygons, traces, holes, (size, size))
        else:
            layout = route_copper(polygons, (size, size), rng, rules, [copper.groups[k] or str(k) for k in inside])
        pair = make_pair(layout, kinds, rng, ppm, rules, settings.nuisance_model(), int(settings.supersample),
                         settings.image == "binary", rendered)
        if pair is not None:
            made = {"golden": pair.golden, "image": pair.image, "mask": pair.mask,
                    "boxes": yolo_lines(pair.defects, (size, size))}
            return {part: made[part] for part in parts}
    raise RuntimeError(
        f"bare_board_defects item {pid}: no window of the board holds a {kinds[0]} defect after {WINDOW_TRIES} "
        f"tries; widen design_rules (trace_width_mm, bus_traces) or crop_px in {PARAMS}"
    )


def bare_board_item(pid: str, part: str, copper: BoardCopper, settings: BareBoardSettings, seed: int) -> Any:
    """One part (``golden``, ``image``, ``mask`` or ``boxes``) of item ``pid`` (see :func:`bare_board_parts`)."""
    return bare_board_parts(pid, copper, settings, seed, (part,))[part]


def draw_bare_board_pairs(pcb_usd_assets: dict[str, Callable], board: str, scene_filename: str,
                          params: dict, seed: int) -> tuple[dict, dict, dict, dict, str]:
    """Lazy test images, golden images, masks and YOLO boxes per item id, and ``classes.txt``.

    The four parts of an item come from one layout and one set of defects: they share one lazy
    item (:mod:`sdg_factory.datasets.item_parts`), so a run computes it once, in the task of the
    first of the four folders saved, which writes the parts the other three need."""
    settings = BareBoardSettings.from_params(dict(params or {}))
    settings.rules(), settings.nuisance_model()  # checked here, before any worker starts
    copper = _board_copper(pcb_usd_assets, board, scene_filename)
    items = {f"{k:04d}": SharedItem(bare_board_parts, f"{k:04d}", copper, settings, int(seed))
             for k in range(int(settings.count))}
    group = PartsGroup()
    out = [ItemParts({pid: part_of(item, part) for pid, item in items.items()}, part, group) for part in PARTS]
    return out[0], out[1], out[2], out[3], "\n".join(DEFECT_TYPES) + "\n"
