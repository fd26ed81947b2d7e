"""Babel extraction of the strings in the templates' code cells (``notebooks/*.ipynb``).

Registered in ``src/playbook/locale/babel.cfg`` as ``[playbook.i18n.extract:extract_notebook:
notebooks/*.ipynb]``: every code cell is read by Babel's Python extractor, with the cell's
number in place of a line number. Markdown cells are not extracted: their translations are
cells of their own, tagged ``lang:<tag>`` (:mod:`playbook.i18n.cells`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python


def extract_notebook(fileobj: IO[bytes], keywords: Mapping[str, Any],
                     comment_tags: Collection[str],
                     options: Any) -> Iterator[tuple[Any, ...]]:
    """Babel's extractor interface over the code cells of one notebook."""
    nb = json.loads(fileobj.read().decode("utf-8"))
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for found in extract_python(io.BytesIO(text.encode("utf-8")), keywords, comment_tags,
                                    options):
            yield (number, *found[1:])
