"""Text fonts, from the project's own Python dependencies: a bare machine (no font package, no fontconfig
fonts) renders the same pages and plots as a desktop.

matplotlib (installed with Ultralytics, pinned in requirements.txt) ships DejaVu Sans and DejaVu Serif in
regular, bold, italic and bold italic, covering Latin with its diacritics, Greek and Cyrillic: the lyrics and
titles of music21's corpus ("sašria ben arėsojlmią"). Verovio lays text out but ships no text font that skia
can read (its Liberation faces are WOFF2 inside CSS), and skia's default typeface is whatever fontconfig finds,
which on a bare machine is nothing: text then came out as "sa??ria ben ar?sojlmi?".
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

STYLES = {"normal": "", "bold": "-Bold", "italic": "-Italic", "bold italic": "-BoldItalic"}


@lru_cache(maxsize=1)
def _font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")  # found, not imported: importing matplotlib costs ~0.3 s
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("matplotlib is not installed: its DejaVu fonts draw text (pip install -r requirements.txt)")
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


def dejavu(family: str = "Serif", style: str = "normal") -> Path:
    """The TrueType file of DejaVu `family` ("Sans" or "Serif") in `style` (normal, bold, italic, bold italic)."""
    if family not in ("Sans", "Serif") or style not in STYLES:
        raise ValueError(f"expected family Sans or Serif and style one of {list(STYLES)}, but got {family!r}, {style!r}")
    path = _font_dir() / f"DejaVu{family}{STYLES[style]}.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: matplotlib's DejaVu {family} {style} is missing; reinstall matplotlib")
    return path
