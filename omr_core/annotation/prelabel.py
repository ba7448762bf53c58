"""Pre-labelling: a model's boxes for a whole page, found once and cut into its work units.

    python -m omr_core prelabel --model NAME [SCAN_ID ...] [--all]     # in the background, from the page

The detector reads the whole page once (scale-true, tiled: `SymbolDetector`), never unit by unit. Its boxes
are kept in predictions/<id>.json (everything from MIN_CONF, for the queue's uncertainty) and put on the page's
labels, so that each unit shows them the first time it opens and the export sees them:
- a unit nobody has changed (not seen or only seen) gets the model's boxes from KEEP_FROM, replacing the
  boxes an earlier pre-labelling put there;
- a unit the user has edited or reviewed keeps its boxes; the model's boxes that overlap none of them
  (IoU < NEW_BOX_IOU with every box of their class) are added, marked unsure, for the user to check;
- a box under UNSURE_BELOW is marked unsure (the store keeps the mark until the box is touched).
Boxes whose centre lies in no unit cannot be shown on any canvas; they are counted (`outside_units`), not
written. The save is a merge against the labels it read (a user editing meanwhile loses nothing); a save
both changed differently is redone from the new labels.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from omr_core.annotation.canvas import class_names
from omr_core.annotation.queue import MIN_CONF, save_predictions
from omr_core.annotation.review import unit_states
from omr_core.annotation.store import LabelConflict, read_labels, read_status, save_labels
from omr_core.annotation.units import load_units, unit_of
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.boxes import box_iou
from omr_core.structures.detections import Detections

KEEP_FROM = 0.25  # the detector's usual threshold: weaker boxes would bury a unit in false ones
UNSURE_BELOW = 0.5  # boxes the model is less sure of are marked for checking
NEW_BOX_IOU = 0.5  # a model box overlapping a user's box of its class this much is that box


def to_label_classes(found: Detections, names: list[str]) -> tuple[Detections, int]:
    """The detector's boxes with class ids of the label file's class list (`names`, DeepScores), and how many
    had a class that list does not hold (left out). found.data["class_name"]: (n,) the model's class names."""
    index = {n: i for i, n in enumerate(names)}
    ids = np.array([index.get(str(n), -1) for n in found.data.get("class_name", [])], dtype=np.int64)
    known = ids >= 0
    confidence = found.confidence if found.confidence is not None else np.ones(len(found))
    return Detections(found.xyxy[known], ids[known], confidence[known]), int((~known).sum())


def fill_units(text: str, image_wh: tuple[int, int], n_classes: int, units, states: list[str],
               predictions: Detections) -> tuple[str, list[str], dict]:
    """The label text with the pre-labels put into the units (see the module docstring), the lines to mark
    unsure, and counts {"placed", "added_to_edited", "outside_units", "replaced"}."""
    boxes, _ = parse_labels(text, image_wh)
    lines = text.splitlines()
    known = (boxes.class_id >= 0) & (boxes.class_id < n_classes)
    owner = np.full(len(boxes), -1, dtype=np.int64)
    owner[known] = unit_of(boxes.xyxy[known], units)
    predictions = predictions[predictions.confidence >= KEEP_FROM]
    where = unit_of(predictions.xyxy, units)
    touched = {k for k, s in enumerate(states) if s in ("edited", "reviewed")}
    # the boxes of untouched units go (an earlier pre-labelling's); every other line stays as it is
    replaced = known & (owner >= 0) & ~np.isin(owner, list(touched))
    drop = set(boxes.data["line"][replaced].tolist())
    out = [line for n, line in enumerate(lines, start=1) if line.strip() and n not in drop]
    placed = predictions[(where >= 0) & ~np.isin(where, list(touched))]
    unsure_mask = placed.confidence < UNSURE_BELOW
    # in units the user has worked on, only boxes of none of theirs, all to check
    extra_parts = []
    for k in touched:
        theirs = boxes[known & (owner == k)]
        model = predictions[where == k]
        if not len(model):
            continue
        if len(theirs):
            iou = box_iou(model.xyxy, theirs.xyxy)
            same = model.class_id[:, None] == theirs.class_id[None, :]
            model = model[~((iou >= NEW_BOX_IOU) & same).any(axis=1)]
        extra_parts.append(model)
    extra = Detections.merge(extra_parts) if extra_parts else Detections.empty(with_confidence=True)
    placed_lines = format_labels(placed, image_wh).splitlines()
    extra_lines = format_labels(extra, image_wh).splitlines()
    unsure = [line for line, low in zip(placed_lines, unsure_mask) if low] + extra_lines
    report = {"placed": len(placed), "added_to_edited": len(extra), "outside_units": int((where < 0).sum()),
              "replaced": len(drop)}
    return "".join(line + "\n" for line in out + placed_lines + extra_lines), unsure, report


def prelabel_scan(root: Path, scan_id: str, image: np.ndarray, found: Detections, model: str) -> dict:
    """Keep the model's boxes of one page and put them into its units; returns what was done (counts)."""
    names = class_names()
    boxes, other_classes = to_label_classes(found, names)
    save_predictions(root, scan_id, model, boxes[boxes.confidence >= MIN_CONF], names)
    page_units = load_units(root, scan_id, image)
    image_wh = (image.shape[1], image.shape[0])
    for _ in range(3):
        status, text = read_status(root, scan_id), read_labels(root, scan_id)
        states = unit_states(status, len(page_units.units))
        new_text, unsure, report = fill_units(text, image_wh, len(names), page_units.units, states, boxes)
        try:
            save_labels(root, scan_id, new_text, None, base_version=status.get("version", 0), base_text=text,
                        unsure=unsure, prelabelled={"model": model, "at": time.strftime("%Y-%m-%d %H:%M:%S"),
                                                    "boxes": report["placed"] + report["added_to_edited"]})
            break
        except LabelConflict:
            continue  # someone changed the same boxes meanwhile: put the pre-labels into their version
    else:
        raise LabelConflict(f"{root}: scan {scan_id} kept changing while it was pre-labelled; try again", 0,
                            Path(root), [])
    return {**report, "other_classes": other_classes, "units": len(page_units.units), "unsure": len(unsure)}
