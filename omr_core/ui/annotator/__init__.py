"""The annotation canvas: a Streamlit component for correcting a work unit's boxes quickly, shipped as plain
HTML and JavaScript in `frontend/` (no build step, nothing fetched at run time).

    value = annotator(crop_rgb, drawing, drawing_id, classes, colours, new_class, recent, key="...")

What it draws: the unit's picture fitted to the pane's width (zoom from there to 4 screen px per image px,
never sideways scrolling at fit), every box stroked in its class's colour (`viz.draw.class_color`), dashed
when unsure, with a legend of the unit's classes and their counts. No text lies over the music: a box's class
shows on hover, and over the selected box only.

What the user does (the component's help line says the same):
- click a box to select it; drag it to move, drag a handle to resize; Delete removes it; Ctrl+Z undoes;
- drag on the page to draw a box of the new-box class;
- change the selected box's class in one step: a digit (the recent classes, 1-9), a legend entry, or the
  class search (type, Enter); with no box selected these set the new-box class; Shift+click on a box gives
  it the new-box class at once;
- Tab / Shift+Tab go from box to box; A accepts the unit, N / P go to the next / previous unit, U removes the
  unit's unsure boxes (the page's buttons do the same).

It answers, after every change, {"drawing": drawing_id, "seq": n, "boxes": [{"id", "label", "xyxy", "unsure",
"touched"}], "new_class", "recent", "action": None | "accept" | "next" | "previous" | "remove_unsure"}
(`annotation.canvas` reads the boxes). Its boxes start from `drawing` only when `drawing_id` changes, so a
rerun that hands it the boxes it already has keeps its selection, zoom and scroll.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit.components.v1 as components

from omr_core.viz.draw import to_data_uri

FRONTEND = Path(__file__).parent / "frontend"
_component = components.declare_component("scoreeye_annotator", path=str(FRONTEND))


def annotator(crop_rgb: np.ndarray, drawing: dict, drawing_id: str, classes: list[str], colours: dict[str, str],
              new_class: str, recent: list[str], staff_space_px: float | None, key: str,
              max_height_px: int = 760) -> dict | None:
    """Show the canvas for one unit and return its last answer (None before the first change).

    crop_rgb: (h, w, 3) uint8, the page part `drawing["view_xyxy"]`; drawing: `annotation.canvas.unit_drawing`;
    classes: every class, in the order the search lists them; colours: class -> "#rrggbb"."""
    return _component(image=to_data_uri(crop_rgb, "jpeg", quality=92), image_wh=[int(crop_rgb.shape[1]), int(crop_rgb.shape[0])],
                      boxes=drawing["boxes"], drawing_id=drawing_id, classes=classes, colours=colours,
                      new_class=new_class, recent=recent, staff_space_px=staff_space_px,
                      max_height_px=max_height_px, key=key, default=None)
