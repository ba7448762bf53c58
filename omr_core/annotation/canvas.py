"""Boxes between a scan's label text and the annotation canvas (`omr_core.ui.annotator`), one work unit at a time.

The canvas is given a unit's boxes in the unit's own pixels (page px - the view's origin; zooming is the
canvas's business), each with an id (its line number in the label text it was drawn from), its class name
and whether it is unsure. It answers with the boxes as they are now: an untouched box keeps its id, a box
moved, resized or given another class is `touched` (and no longer unsure), a new box has no id.

    drawing = unit_drawing(text, image_wh, names, units, k, unsure_lines)
    edit = apply_edit(text, image_wh, names, units, k, drawing["view_xyxy"], reported_boxes)
    save_labels(..., edit.text, unsure=edit.unsure, sure=edit.sure)

An untouched box is written back as the very line it came from, so that the store's box-by-box merge and
its unsure marks see the same box, never one re-rounded. Lines of other units, and lines that do not parse
(reported when the labels are read), are kept as they are: an edit of one unit changes nothing else.

Labels of the real-scan set are DeepScores class names; on disk their index is the DeepScores category id - 1
(the `deepscores` annotation set), so any class set can be cut from them by name at export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.annotation.store import normal_line
from omr_core.annotation.units import WorkUnit, unit_of, view_xyxy
from omr_core.catalog.deepscores import categories
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.detections import Detections


def class_names() -> list[str]:
    """The label file's class list: DeepScores (deepscores set) names, index = category id - 1."""
    cats = categories("deepscores")
    return [cats[i].name for i in sorted(cats)]


def _lines(text: str) -> list[str]:
    return text.splitlines()


def owned_lines(text: str, image_wh: tuple[int, int], n_classes: int, units: list[WorkUnit]) -> dict[int, int]:
    """Line number (1-based) -> the unit its box belongs to (-1: none), for every line that is a box of a known
    class."""
    boxes, _ = parse_labels(text, image_wh)
    known = (boxes.class_id >= 0) & (boxes.class_id < n_classes)
    owner = unit_of(boxes.xyxy[known], units)
    return dict(zip(boxes.data["line"][known].tolist(), owner.tolist()))


def unit_lines(text: str, image_wh: tuple[int, int], n_classes: int, units: list[WorkUnit], unit: int) -> list[str]:
    """The label lines of one unit's boxes."""
    lines = _lines(text)
    return [lines[n - 1] for n, k in owned_lines(text, image_wh, n_classes, units).items() if k == unit]


def unit_drawing(text: str, image_wh: tuple[int, int], names: list[str], units: list[WorkUnit], unit: int,
                 unsure: set[str] | list[str] = ()) -> dict:
    """What the canvas is given for one unit: {"view_xyxy": the page part shown, "boxes": [{"id", "label",
    "xyxy" (unit px), "unsure"}]}."""
    boxes, _ = parse_labels(text, image_wh)
    known = (boxes.class_id >= 0) & (boxes.class_id < len(names))
    boxes = boxes[known]
    mine = boxes[unit_of(boxes.xyxy, units) == unit]
    view = view_xyxy(units[unit], mine.xyxy, image_wh)
    lines = _lines(text)
    marked = {normal_line(u) for u in unsure}
    local = mine.xyxy - np.array([view[0], view[1], view[0], view[1]], dtype=np.float64)
    return {"view_xyxy": list(view), "boxes": [
        {"id": int(line), "label": names[int(c)], "xyxy": [round(float(v), 3) for v in box],
         "unsure": normal_line(lines[line - 1]) in marked}
        for line, c, box in zip(mine.data["line"].tolist(), mine.class_id, local)]}


@dataclass(frozen=True)
class Edit:
    text: str  # the scan's label text with the unit's boxes as the canvas has them
    unsure: list[str]  # lines of the unit still unsure
    sure: list[str]  # lines of the unit that are not (touched, drawn, or never unsure)
    unknown: list[str]  # labels the canvas held that are no class (those boxes are left out, never renamed)
    changed: bool  # whether the unit's boxes differ from the text's


def apply_edit(text: str, image_wh: tuple[int, int], names: list[str], units: list[WorkUnit], unit: int,
               view: tuple[int, int, int, int] | list[int], reported: list[dict]) -> Edit:
    """The label text after the canvas reported `reported` (its boxes, see the module docstring) for one unit
    whose view started at view[:2] on the page."""
    lines = _lines(text)
    owner = owned_lines(text, image_wh, len(names), units)
    theirs = [n for n, k in owner.items() if k == unit]
    index = {n: i for i, n in enumerate(names)}
    width, height = image_wh
    kept_lines, new_rows, new_classes, unsure_flags, unknown = [], [], [], [], []
    for box in reported or []:
        line_id = box.get("id")
        if isinstance(line_id, int) and line_id in theirs and not box.get("touched"):
            kept_lines.append((lines[line_id - 1], bool(box.get("unsure"))))
            continue
        label = box.get("label")
        if label not in index:
            unknown.append(str(label))
            continue
        x0, y0, x1, y1 = (float(v) for v in box["xyxy"])
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        page = np.clip([x0 + view[0], y0 + view[1], x1 + view[0], y1 + view[1]], 0, [width, height, width, height])
        if page[2] - page[0] < 1 or page[3] - page[1] < 1:
            continue  # a click, not a box
        new_rows.append(page)
        new_classes.append(index[label])
    new_lines = format_labels(Detections(np.asarray(new_rows, dtype=np.float64).reshape(-1, 4), new_classes),
                              image_wh).splitlines()
    others = [line for n, line in enumerate(lines, start=1) if owner.get(n) != unit and line.strip()]
    mine = [line for line, _ in kept_lines] + new_lines
    changed = sorted(normal_line(line) for line in mine) != sorted(normal_line(lines[n - 1]) for n in theirs)
    return Edit("".join(line + "\n" for line in others + mine),
                unsure=[line for line, flag in kept_lines if flag],
                sure=[line for line, flag in kept_lines if not flag] + new_lines,
                unknown=unknown, changed=changed)


def without_unsure(text: str, image_wh: tuple[int, int], n_classes: int, units: list[WorkUnit], unit: int,
                   unsure: set[str] | list[str]) -> tuple[str, int]:
    """The label text without the unit's unsure boxes, and how many were removed."""
    marked = {normal_line(u) for u in unsure}
    owner = owned_lines(text, image_wh, n_classes, units)
    out, removed = [], 0
    for n, line in enumerate(_lines(text), start=1):
        if owner.get(n) == unit and normal_line(line) in marked:
            removed += 1
        elif line.strip():
            out.append(line)
    return "".join(line + "\n" for line in out), removed
