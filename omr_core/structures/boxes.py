"""Box conventions and the one place that converts between them.

Every other module asks `convert()` instead of doing its own arithmetic, so a convention bug has one home.
Axis-aligned modes hold (n, 4) float arrays; `OBB8` holds (n, 8) corner lists as DeepScoresV2 writes them
(x1 y1 x2 y2 x3 y3 x4 y4, any winding); converting OBB8 to an axis-aligned mode takes the corners' extent.
"""

from __future__ import annotations

from enum import Enum

import numpy as np


class BoxMode(str, Enum):
    XYXY = "xyxy"  # absolute pixels: left, top, right, bottom
    XYWH = "xywh"  # absolute pixels: left, top, width, height (COCO)
    CXCYWH = "cxcywh"  # absolute pixels: centre x, centre y, width, height
    CXCYWHN = "cxcywhn"  # YOLO label convention: centre and size divided by the image width/height
    OBB8 = "obb8"  # absolute pixels: four corners (DeepScoresV2 `o_bbox`)


_WIDTHS = {BoxMode.OBB8: 8}


def _as_boxes(boxes: np.ndarray, mode: BoxMode) -> np.ndarray:
    width = _WIDTHS.get(mode, 4)
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, width)
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{mode.value} boxes must be a 2D array of shape (n, {width}), but got shape {array.shape}")
    return array


def convert(
    boxes: np.ndarray,
    source: BoxMode | str,
    target: BoxMode | str,
    image_wh: tuple[float, float] | None = None,
) -> np.ndarray:
    """Convert boxes between conventions.

    Args:
        boxes: (n, 4) or, for OBB8, (n, 8) float array in the `source` convention.
        source, target: a `BoxMode` or its value ("xyxy", "cxcywhn", ...).
        image_wh: (width, height) in pixels; required when either side is normalised.

    Returns:
        (n, 4) float64 array in the `target` convention (OBB8 as a target gives the box's four corners).
    """
    source, target = BoxMode(source), BoxMode(target)
    array = _as_boxes(boxes, source)
    if source is target:
        return array.copy()  # obb8 -> obb8 must keep a rotated box's corners, not its axis-aligned extent
    if BoxMode.CXCYWHN in (source, target) and image_wh is None:
        raise ValueError("image_wh=(width, height) is required to convert normalised boxes")
    xyxy = _to_xyxy(array, source, image_wh)
    return _from_xyxy(xyxy, target, image_wh)


def _to_xyxy(a: np.ndarray, mode: BoxMode, image_wh) -> np.ndarray:
    if mode is BoxMode.XYXY:
        return a.copy()
    if mode is BoxMode.XYWH:
        return np.column_stack([a[:, 0], a[:, 1], a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]])
    if mode is BoxMode.OBB8:
        xs, ys = a[:, 0::2], a[:, 1::2]
        return np.column_stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)])
    if mode is BoxMode.CXCYWHN:
        w, h = image_wh
        a = a * np.array([w, h, w, h], dtype=np.float64)
    half_w, half_h = a[:, 2] / 2, a[:, 3] / 2
    return np.column_stack([a[:, 0] - half_w, a[:, 1] - half_h, a[:, 0] + half_w, a[:, 1] + half_h])


def _from_xyxy(a: np.ndarray, mode: BoxMode, image_wh) -> np.ndarray:
    if mode is BoxMode.XYXY:
        return a
    w_px, h_px = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    if mode is BoxMode.XYWH:
        return np.column_stack([a[:, 0], a[:, 1], w_px, h_px])
    if mode is BoxMode.OBB8:
        x0, y0, x1, y1 = a.T
        return np.column_stack([x0, y0, x1, y0, x1, y1, x0, y1])
    cxcywh = np.column_stack([(a[:, 0] + a[:, 2]) / 2, (a[:, 1] + a[:, 3]) / 2, w_px, h_px])
    if mode is BoxMode.CXCYWH:
        return cxcywh
    w, h = image_wh
    return cxcywh / np.array([w, h, w, h], dtype=np.float64)


def box_area(xyxy: np.ndarray) -> np.ndarray:
    """Areas of (n, 4) xyxy boxes; boxes with negative extent have area 0. Returns (n,) float64."""
    xyxy = _as_boxes(xyxy, BoxMode.XYXY)
    return np.clip(xyxy[:, 2] - xyxy[:, 0], 0, None) * np.clip(xyxy[:, 3] - xyxy[:, 1], 0, None)


def box_iou(xyxy_a: np.ndarray, xyxy_b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (n, 4) and (m, 4) xyxy boxes. Returns (n, m) float64."""
    a, b = _as_boxes(xyxy_a, BoxMode.XYXY), _as_boxes(xyxy_b, BoxMode.XYXY)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def box_iou_paired(xyxy_a: np.ndarray, xyxy_b: np.ndarray) -> np.ndarray:
    """IoU of row i of (k, 4) xyxy `xyxy_a` with row i of (k, 4) `xyxy_b`. Returns (k,) float64 (0 for empty unions)."""
    a, b = _as_boxes(xyxy_a, BoxMode.XYXY), _as_boxes(xyxy_b, BoxMode.XYXY)
    if a.shape != b.shape:
        raise ValueError(f"paired boxes must have the same shape, but got {a.shape} and {b.shape}")
    wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = wh[:, 0] * wh[:, 1]
    union = box_area(a) + box_area(b) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def to_page(xyxy: np.ndarray, origin_xy, scale: float = 1.0) -> np.ndarray:
    """Boxes of a crop (a tile, a measure image, a canvas) in page pixels. The crop starts at `origin_xy` on
    the page and shows it at `scale` crop px per page px: page = origin + crop / scale.

    Args:
        xyxy: (n, 4) crop px. origin_xy: (x, y) page px.

    Returns:
        (n, 4) float64 page px.
    """
    x0, y0 = origin_xy
    return np.asarray(xyxy, dtype=np.float64) / scale + [x0, y0, x0, y0]


def to_local(xyxy: np.ndarray, origin_xy, scale: float = 1.0) -> np.ndarray:
    """The inverse of `to_page`: page boxes in a crop's pixels, crop = (page - origin) * scale."""
    x0, y0 = origin_xy
    return (np.asarray(xyxy, dtype=np.float64) - [x0, y0, x0, y0]) * scale


def centres_in(xyxy: np.ndarray, region_xyxy) -> np.ndarray:
    """(n,) bool: the box's centre lies in the region (left/top edges in, right/bottom edges out), so a box
    belongs to exactly one of regions that tile a page."""
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    x0, y0, x1, y1 = region_xyxy
    return (centre[:, 0] >= x0) & (centre[:, 0] < x1) & (centre[:, 1] >= y0) & (centre[:, 1] < y1)


def clip_boxes(xyxy: np.ndarray, region_xyxy: tuple[float, float, float, float]) -> np.ndarray:
    """Clip (n, 4) xyxy boxes to a region (x0, y0, x1, y1). Boxes fully outside get zero width or height."""
    xyxy = _as_boxes(xyxy, BoxMode.XYXY)
    x0, y0, x1, y1 = region_xyxy
    return np.column_stack(
        [np.clip(xyxy[:, 0], x0, x1), np.clip(xyxy[:, 1], y0, y1), np.clip(xyxy[:, 2], x0, x1), np.clip(xyxy[:, 3], y0, y1)]
    )
