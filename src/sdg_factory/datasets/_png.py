"""What a PNG's header says, without decoding it (to tell when a file can be copied as it is)."""

from __future__ import annotations

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {0: "gray", 2: "rgb", 3: "palette", 4: "gray_alpha", 6: "rgba"}


def png_kind(data: bytes) -> str | None:
    """``"rgb8"``, ``"gray8"``, ``"rgba16"``, … from the IHDR chunk; None when not a PNG."""
    if len(data) < 26 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    colour = COLOUR_TYPES.get(data[25])
    return f"{colour}{data[24]}" if colour else None
