"""Fonts for charts in every report language: Latin text keeps its look (DejaVu Sans, the
Matplotlib default), Chinese text is drawn in Noto Sans CJK **SC** (the Simplified Chinese
face of the collection, not the JP or TC one whose glyphs differ).

Matplotlib picks a font per glyph from ``font.family`` (a fallback list, Matplotlib 3.6 and
newer), and reads TrueType collections sub-font by sub-font (3.11). Its font cache can predate
the install of the CJK fonts, so :func:`register` adds the files explicitly. They come from
Debian's ``fonts-noto-cjk`` (``make setup`` installs it when it is missing and the user is
root) or from any folder named in ``$PLAYBOOK_FONTS``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

#: The Simplified Chinese face of Noto Sans CJK.
CJK_FAMILY = "Noto Sans CJK SC"
#: Latin first, then CJK: every glyph falls back along this list.
FAMILIES = ["DejaVu Sans", CJK_FAMILY]
FONT_DIRS = [Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"),
             Path("/usr/local/share/fonts")]
FONTS_ENV = "PLAYBOOK_FONTS"
FILE_NAMES = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Regular.otf",
              "NotoSansCJKsc-Bold.otf", "NotoSansSC-Regular.otf", "NotoSansSC-Bold.otf")


def font_files() -> list[Path]:
    """The CJK font files found: ``$PLAYBOOK_FONTS`` first, then the system's font folders."""
    folders = [Path(p) for p in os.environ.get(FONTS_ENV, "").split(os.pathsep) if p] + FONT_DIRS
    return [folder / name for folder in folders for name in FILE_NAMES if (folder / name).is_file()]


@functools.cache
def _add_fonts() -> bool:
    from matplotlib import font_manager

    for path in font_files():
        font_manager.fontManager.addfont(str(path))
    return any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist)


def register() -> bool:
    """Add the CJK fonts to Matplotlib's font manager (once) and put :data:`FAMILIES` first in
    ``font.sans-serif`` (every call: a seaborn theme resets it); True when the SC face is
    available."""
    import matplotlib

    have = _add_fonts()
    if have:
        rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f not in FAMILIES]
        matplotlib.rcParams["font.sans-serif"] = FAMILIES + rest
        matplotlib.rcParams["font.family"] = FAMILIES
    return have


def missing_message() -> str:
    """What to do when the CJK fonts are missing."""
    return (f"no font with Chinese glyphs ({CJK_FAMILY}) was found: install Debian's "
            f"fonts-noto-cjk (sudo apt-get install fonts-noto-cjk, or `make setup` as root) or "
            f"name a folder holding NotoSansCJK-Regular.ttc in ${FONTS_ENV}")


__all__ = ["CJK_FAMILY", "FAMILIES", "FONTS_ENV", "font_files", "missing_message", "register"]
