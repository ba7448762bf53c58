"""Boxes between the page and the annotation canvas, which shows one system crop at `zoom` (2-3x).

    canvas px = (page px - crop origin) * zoom          page px = crop origin + canvas px / zoom

The canvas speaks Fabric.js JSON: `LabeledRect` objects with left/top/width/height, a scale (a resized box
keeps width/height and changes scaleX/scaleY) and an origin; a box's label is its class name. Predictions
pre-filled into the canvas carry their confidence; those under `low_conf` are drawn dashed in orange, so the
user sees what to check first.

Labels of the real-scan set are DeepScores class names; on disk their index is the DeepScores category id - 1
(the `deepscores` annotation set), so any class set can be cut from them by name at export.
"""

from __future__ import annotations

import numpy as np

from omr_core.catalog.deepscores import categories
from omr_core.structures.boxes import centres_in, to_local, to_page
from omr_core.structures.detections import Detections

ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}
LOW = "#ff7f0e"
SURE = "#1f77b4"


def class_names() -> list[str]:
    """The label file's class list: DeepScores (deepscores set) names, index = category id - 1."""
    cats = categories("deepscores")
    return [cats[i].name for i in sorted(cats)]


def to_canvas(page_boxes: Detections, names: list[str], crop_xyxy, zoom: float, low_conf: float = 0.5) -> dict:
    """Fabric JSON (`initial_drawing`) for the boxes whose centre lies in the crop."""
    inside = np.flatnonzero(centres_in(page_boxes.xyxy, crop_xyxy))
    local = to_local(page_boxes.xyxy[inside], crop_xyxy[:2], zoom)
    objects = []
    for i, (bx0, by0, bx1, by1) in zip(inside, local):
        conf = None if page_boxes.confidence is None else float(page_boxes.confidence[i])
        low = conf is not None and conf < low_conf
        objects.append({
            "type": "LabeledRect", "label": names[int(page_boxes.class_id[i])],
            "left": bx0, "top": by0, "width": bx1 - bx0, "height": by1 - by0,
            "originX": "left", "originY": "top", "scaleX": 1, "scaleY": 1, "angle": 0,
            "stroke": LOW if low else SURE, "strokeWidth": 2, "strokeDashArray": [6, 4] if low else None,
            "fill": "rgba(0, 0, 0, 0)", "lockRotation": True, "strokeUniform": True,
            **({"confidence": conf} if conf is not None else {}),
        })
    return {"objects": objects}


def from_canvas(json_data: dict | None, names: list[str], crop_xyxy, zoom: float) -> tuple[Detections, list[str]]:
    """Page-pixel boxes from the canvas JSON, and the labels it holds that are no class (those boxes are left
    out and named, never silently renamed)."""
    index = {n: i for i, n in enumerate(names)}
    rows, classes, unknown = [], [], []
    for obj in (json_data or {}).get("objects", []):
        if obj.get("type") != "LabeledRect":
            continue
        width = obj.get("width", 0) * obj.get("scaleX", 1)
        height = obj.get("height", 0) * obj.get("scaleY", 1)
        left = obj.get("left", 0) - ORIGIN[obj.get("originX", "left")] * width
        top = obj.get("top", 0) - ORIGIN[obj.get("originY", "top")] * height
        label = obj.get("label", "")
        if label not in index:
            unknown.append(label)
            continue
        if width < 0:
            left, width = left + width, -width
        if height < 0:
            top, height = top + height, -height
        rows.append([left, top, left + width, top + height])
        classes.append(index[label])
    xyxy = to_page(np.asarray(rows, dtype=np.float64).reshape(-1, 4), crop_xyxy[:2], zoom)
    return Detections(xyxy, np.asarray(classes, dtype=np.int64)), unknown


def replace_in_crop(page_boxes: Detections, crop_boxes: Detections, crop_xyxy) -> Detections:
    """The page's labels after editing one crop: boxes whose centre lies in the crop are replaced by the
    crop's boxes; all others are kept as they were."""
    inside = centres_in(page_boxes.xyxy, crop_xyxy)
    kept = page_boxes[~inside]
    return Detections(np.concatenate([kept.xyxy, crop_boxes.xyxy]), np.concatenate([kept.class_id, crop_boxes.class_id]))
