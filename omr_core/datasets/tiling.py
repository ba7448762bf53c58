"""Cut pages into overlapping tiles at native resolution, and decide what happens to symbols a tile edge cuts.

Why: DeepScoresV2 pages are ~1960x2772 px with a staff space of ~17 px; shrunk to 640 px an augmentation dot
(~10 px) becomes 2 px and is lost. Tiles keep every pixel.

Grid: along each axis tiles start every `tile - overlap` px, and the last tile is pushed back to end exactly at
the image edge, so every pixel is covered and no tile is padded. An image no larger than the tile is one tile.

The cut rule (`CutRule`): a box that a tile edge cuts is kept, clipped to the tile, when
  1. at least `min_visibility` (default 0.5) of its area lies inside the tile, or
  2. it is elongated (long side >= `elongation` x short side, default 4), the cut leaves its short side
     whole, and the visible part is itself elongated: a staff, beam, slur, tie, stem or ledger line cut across
     its length is still recognisably itself, while a stub of it is not.
Otherwise it is dropped from that tile and counted. Because tiles overlap, any symbol no larger than the
overlap lies whole in at least one tile, so a dropped fragment is never the symbol's only appearance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.structures.boxes import box_area, clip_boxes
from omr_core.structures.detections import Detections


def tile_starts(size_px: int, tile_px: int, overlap_px: int) -> np.ndarray:
    """Start offsets of tiles along one axis. Returns (k,) int64."""
    if tile_px <= 0 or not 0 <= overlap_px < tile_px:
        raise ValueError(f"need tile_px > 0 and 0 <= overlap_px < tile_px, but got tile {tile_px}, overlap {overlap_px}")
    if size_px <= tile_px:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, size_px - tile_px, tile_px - overlap_px, dtype=np.int64)
    return np.unique(np.append(starts, size_px - tile_px))


def tile_grid(image_wh: tuple[int, int], tile_px: int, overlap_px: int) -> np.ndarray:
    """Tiles covering an image, row by row. Returns (k, 4) int64 xyxy; tiles are min(tile, image) px wide/high."""
    width, height = image_wh
    xs, ys = tile_starts(width, tile_px, overlap_px), tile_starts(height, tile_px, overlap_px)
    tw, th = min(tile_px, width), min(tile_px, height)
    y0, x0 = np.meshgrid(ys, xs, indexing="ij")
    x0, y0 = x0.ravel(), y0.ravel()
    return np.column_stack([x0, y0, x0 + tw, y0 + th])


@dataclass(frozen=True)
class CutRule:
    min_visibility: float = 0.5
    elongation: float = 4.0

    def keep(self, xyxy: np.ndarray, clipped_xyxy: np.ndarray) -> np.ndarray:
        """Which cut boxes to keep. xyxy, clipped_xyxy: (n, 4) float64. Returns (n,) bool."""
        wh = xyxy[:, 2:] - xyxy[:, :2]
        clipped_wh = clipped_xyxy[:, 2:] - clipped_xyxy[:, :2]
        with np.errstate(divide="ignore", invalid="ignore"):
            visibility = np.where(box_area(xyxy) > 0, box_area(clipped_xyxy) / box_area(xyxy), 0.0)
            elongated = wh.max(1) >= self.elongation * wh.min(1)
        short_axis = np.argmin(wh, axis=1)
        rows = np.arange(len(wh))
        short_side_whole = clipped_wh[rows, short_axis] >= wh[rows, short_axis] - 1e-6
        visible_elongated = clipped_wh[rows, 1 - short_axis] >= self.elongation * wh[rows, short_axis]
        return (visibility >= self.min_visibility) | (elongated & short_side_whole & visible_elongated)


def crop_detections(detections: Detections, tile_xyxy: np.ndarray, rule: CutRule = CutRule()) -> tuple[Detections, int]:
    """Boxes of one tile, in tile coordinates, and how many cut boxes the rule dropped.

    Args:
        detections: boxes in page pixels.
        tile_xyxy: (4,) the tile in page pixels.
    """
    x0, y0, x1, y1 = (float(v) for v in tile_xyxy)
    xyxy = detections.xyxy
    touches = (xyxy[:, 0] < x1) & (xyxy[:, 2] > x0) & (xyxy[:, 1] < y1) & (xyxy[:, 3] > y0)
    inside = touches & (xyxy[:, 0] >= x0) & (xyxy[:, 1] >= y0) & (xyxy[:, 2] <= x1) & (xyxy[:, 3] <= y1)
    cut = touches & ~inside
    clipped = clip_boxes(xyxy[cut], (x0, y0, x1, y1))
    keep_cut = rule.keep(xyxy[cut], clipped)
    keep = inside.copy()
    keep[np.flatnonzero(cut)[keep_cut]] = True
    tile = detections[keep]
    tile.xyxy = clip_boxes(tile.xyxy, (x0, y0, x1, y1)) - np.array([x0, y0, x0, y0])
    return tile, int((~keep_cut).sum())
