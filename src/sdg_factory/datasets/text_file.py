"""``TextDataset``: one text file at any fsspec path, written atomically and fingerprinted by
content like the JSON and YAML documents (an unchanged text is not rewritten; see
:mod:`sdg_factory.datasets.single_file`).

Catalog example::

    bare_board_classes:
      type: sdg_factory.datasets.TextDataset
      filepath: ${globals:dig_url_root}/runs/demo/bare_board/classes.txt
"""

from __future__ import annotations

from sdg_factory.datasets.json_file import _DocumentDataset


def _text(data: str) -> str:
    return str(data)


class TextDataset(_DocumentDataset):
    """A text file (UTF-8), loaded and saved as one ``str``."""

    KIND = "text"

    parse, dump = staticmethod(_text), staticmethod(_text)
