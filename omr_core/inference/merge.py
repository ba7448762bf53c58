"""Merge the detections of overlapping tiles into one set for the page (pure numpy).

A tile sees a symbol in one of three ways, and each has its rule:

1. Whole, and another tile sees it whole too (it lies in their overlap): the two boxes nearly coincide and
   class-aware NMS keeps the more confident one.
2. Cut by the tile's edge, where another tile sees past that edge: the cut box touches an inner tile edge (an
   edge that is not the image border) and lies inside a same-class box that reaches past the cut. It is a
   fragment and is dropped, unless it also reaches past a cut of that box (then both are parts: rule 3).
3. Cut in every tile that holds a part (beams, slurs, ties, staff lines, long stems: anything longer than the
   overlap): the parts touch the seam from both sides, overlap across it and agree on the other axis. They are
   joined into one box (their union), transitively, so a staff line across five tiles comes back as one box.

"Touches" means within `edge_px` of the edge: a model's box of a cut symbol ends at the tile edge, give or take a
pixel or two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.structures.boxes import box_area, box_iou
from omr_core.structures.detections import Detections
from omr_core.structures.graph import components


@dataclass(frozen=True)
class MergeRules:
    iou: float = 0.5  # class-aware NMS: same class and IoU above this -> one box
    edge_px: float = 2.0  # a box this close to an inner tile edge was cut by it
    contained: float = 0.8  # a cut box with this share of its area inside a whole same-class box is its fragment
    join_overlap: float = 0.5  # parts joined across a seam must share this share of the shorter extent along the seam


def nms(xyxy: np.ndarray, confidence: np.ndarray, class_id: np.ndarray, iou: float) -> np.ndarray:
    """Class-aware greedy non-maximum suppression.

    Args:
        xyxy: (n, 4) float px; confidence: (n,) float; class_id: (n,) int.
        iou: a box is dropped when it overlaps a kept, more confident box of its class by more than this.

    Returns:
        (k,) int64 indices of the kept boxes, most confident first.
    """
    if len(xyxy) == 0:
        return np.zeros(0, dtype=np.int64)
    # Classes never suppress each other: shift each class's boxes to a region of its own.
    shift = (class_id.astype(np.float64) * (float(np.abs(xyxy).max()) + 1.0))[:, None]
    boxes = xyxy + shift
    order = np.argsort(-confidence, kind="stable")
    keep: list[int] = []
    while order.size:
        best = order[0]
        keep.append(int(best))
        if order.size == 1:
            break
        rest = order[1:]
        overlap = box_iou(boxes[best : best + 1], boxes[rest])[0]
        order = rest[overlap <= iou]
    return np.asarray(keep, dtype=np.int64)


def touching_edges(xyxy: np.ndarray, tile_xyxy: np.ndarray, image_wh: tuple[int, int], edge_px: float) -> np.ndarray:
    """Which inner tile edges each box touches: (n, 4) bool for left, top, right, bottom. `tile_xyxy` is each
    box's tile, (n, 4), in page pixels; an edge on the image border is never inner."""
    width, height = image_wh
    inner = np.column_stack([tile_xyxy[:, 0] > 0, tile_xyxy[:, 1] > 0,
                             tile_xyxy[:, 2] < width, tile_xyxy[:, 3] < height])
    near = np.column_stack([xyxy[:, 0] - tile_xyxy[:, 0] <= edge_px, xyxy[:, 1] - tile_xyxy[:, 1] <= edge_px,
                            tile_xyxy[:, 2] - xyxy[:, 2] <= edge_px, tile_xyxy[:, 3] - xyxy[:, 3] <= edge_px])
    return inner & near


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) intersection areas."""
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    return wh[..., 0] * wh[..., 1]


def _reaches_past(a: np.ndarray, b_cut: np.ndarray, b_tile: np.ndarray) -> np.ndarray:
    """(n, m): box a[i] reaches past an inner edge that cut box b[j] (it sees what b's tile could not)."""
    past = np.zeros((len(a), len(b_cut)), dtype=bool)
    for side, sign in ((0, -1), (1, -1), (2, 1), (3, 1)):  # left/top: a starts before; right/bottom: ends after
        past |= b_cut[None, :, side] & (sign * (a[:, None, side] - b_tile[None, :, side]) > 0)
    return past


def _fragments(xyxy, class_id, cut, tiles, rules: MergeRules) -> np.ndarray:
    """Cut boxes that lie inside a same-class box which reaches past their cut, and whose own cuts they do
    not reach past (rule 2). Two parts of one long symbol each reach past the other's cut: they are joined.
    (A box merely lying near an edge counts as cut there; reaching past any one cut edge is enough.)"""
    fragment = np.zeros(len(xyxy), dtype=bool)
    candidates = np.flatnonzero(cut.any(axis=1))
    if candidates.size == 0:
        return fragment
    f, f_cut, f_tile = xyxy[candidates], cut[candidates], tiles[candidates]
    inside = _intersection(f, xyxy) / np.maximum(box_area(f), 1e-9)[:, None]
    same = class_id[candidates][:, None] == class_id[None, :]
    container_sees = _reaches_past(xyxy, f_cut, f_tile).T  # (candidates, all)
    fragment_sees = _reaches_past(f, cut, tiles)
    fragment[candidates] = ((inside >= rules.contained) & same & container_sees & ~fragment_sees).any(axis=1)
    return fragment


def _join_groups(xyxy, class_id, tile_index, cut, rules: MergeRules) -> np.ndarray:
    """Group labels after joining parts across seams (rule 3): the smallest index of each joined group."""
    n = len(xyxy)
    parts = np.flatnonzero(cut.any(axis=1))
    if parts.size < 2:
        return np.arange(n)
    a = xyxy[parts]
    inter_w = np.minimum(a[:, None, 2], a[None, :, 2]) - np.maximum(a[:, None, 0], a[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], a[None, :, 3]) - np.maximum(a[:, None, 1], a[None, :, 1])
    w, h = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    c = cut[parts]
    # Across a vertical seam: one part cut on its right, the other on its left; they overlap in x (the
    # tiles' overlap) and agree in y. Likewise across a horizontal seam.
    across_x = ((c[:, None, 2] & c[None, :, 0]) | (c[:, None, 0] & c[None, :, 2])) & (inter_w >= 0) & \
        (inter_h >= rules.join_overlap * np.minimum(h[:, None], h[None, :]))
    across_y = ((c[:, None, 3] & c[None, :, 1]) | (c[:, None, 1] & c[None, :, 3])) & (inter_h >= 0) & \
        (inter_w >= rules.join_overlap * np.minimum(w[:, None], w[None, :]))
    joinable = (across_x | across_y) & (class_id[parts][:, None] == class_id[parts][None, :]) & \
        (tile_index[parts][:, None] != tile_index[parts][None, :])
    i, j = np.nonzero(np.triu(joinable, 1))
    return components(n, parts[i], parts[j])


def merge_tiles(parts: list[Detections], tiles_xyxy: np.ndarray, image_wh: tuple[int, int],
                rules: MergeRules = MergeRules()) -> Detections:
    """One page's detections from its tiles' detections. `parts[k]` holds tile k's boxes in page pixels;
    `tiles_xyxy` (k, 4) are the tiles. Returns boxes most confident first, with confidence."""
    if len(parts) != len(tiles_xyxy):
        raise ValueError(f"expected one detection set per tile ({len(tiles_xyxy)}), but got {len(parts)}")
    counts = [len(p) for p in parts]
    if sum(counts) == 0:
        return Detections.empty(with_confidence=True)
    found = Detections.merge(parts)
    tile_index = np.repeat(np.arange(len(parts)), counts)
    tiles = np.asarray(tiles_xyxy, dtype=np.float64)
    cut = touching_edges(found.xyxy, tiles[tile_index], image_wh, rules.edge_px)
    keep = ~_fragments(found.xyxy, found.class_id, cut, tiles[tile_index], rules)
    found, tile_index, cut = found[keep], tile_index[keep], cut[keep]

    groups = _join_groups(found.xyxy, found.class_id, tile_index, cut, rules)
    labels, inverse = np.unique(groups, return_inverse=True)
    xyxy = np.empty((len(labels), 4))
    xyxy[:, :2] = np.inf
    xyxy[:, 2:] = -np.inf
    np.minimum.at(xyxy[:, 0], inverse, found.xyxy[:, 0])
    np.minimum.at(xyxy[:, 1], inverse, found.xyxy[:, 1])
    np.maximum.at(xyxy[:, 2], inverse, found.xyxy[:, 2])
    np.maximum.at(xyxy[:, 3], inverse, found.xyxy[:, 3])
    confidence = np.zeros(len(labels))
    np.maximum.at(confidence, inverse, found.confidence)
    joined = Detections(xyxy, found.class_id[labels], confidence)

    kept = nms(joined.xyxy, joined.confidence, joined.class_id, rules.iou)
    return joined[kept]
