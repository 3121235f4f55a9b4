"""Reading a board's cookbooks from the published assets and resolving their sentinels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sdg_factory.cookbooks import CookbookError, check_resolved, resolve_sentinels

ASSETS = "datasets/pcb/assets"


def usd2roi_output(dig_url_root: str, run_name: str) -> str:
    return f"{str(dig_url_root).rstrip('/')}/runs/{run_name}/usd2roi-components"


def board_cookbook(pcb_cookbooks: dict[str, Callable[[], dict]], board: str, name: str) -> dict:
    """Load ``assets/<board>/<name>.yaml`` or say which boards and cookbooks exist."""
    key = f"{board}/{name}"
    if key not in pcb_cookbooks:
        boards = sorted({k.split("/")[0] for k in pcb_cookbooks})
        if board not in boards:
            raise CookbookError(
                f"board {board!r} has no cookbooks under {ASSETS}/ (boards found: {boards or 'none'}). "
                "Publish the demo boards with `kedro run --pipeline=pcba_setup`, or pass "
                "--params board=<one of those>."
            )
        raise CookbookError(f"{ASSETS}/{board}/{name}.yaml is missing; publish it or re-run pcba_setup")
    doc = pcb_cookbooks[key]()
    if not isinstance(doc, dict):
        raise CookbookError(f"{ASSETS}/{board}/{name}.yaml must be a YAML mapping, got {type(doc).__name__}")
    return doc


def sentinel_values(dig_url_root: str, run_name: str, board: str, scene_filename: str,
                    crop_max_emit: Any, cookbook: dict) -> dict[str, Any]:
    """What each sentinel means for this run; ``None`` leaves it unresolved (an error later)."""
    blank = crop_max_emit in (None, "", "null")
    max_count = cookbook.get("max_emit_default") if blank else int(crop_max_emit)
    return {
        "__OUTPUT__": usd2roi_output(dig_url_root, run_name),
        "__MAX_IMAGE_COUNT__": max_count,
        "__SCENE__": f"{str(dig_url_root).rstrip('/')}/{ASSETS}/{board}/{scene_filename}",
        "__BOARD__": board,
    }


def resolve(doc: dict, values: dict[str, Any], source: str) -> dict:
    resolved = resolve_sentinels(doc, values)
    check_resolved(resolved, source)
    return resolved
