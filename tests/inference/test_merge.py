"""Seams: a perfect per-tile detector sees each symbol's visible part; merging must give back each symbol once."""

import numpy as np
import pytest

from omr_core.datasets.tiling import tile_grid
from omr_core.inference.merge import MergeRules, merge_tiles, nms, touching_edges
from omr_core.structures.boxes import box_iou
from omr_core.structures.detections import Detections


def perfect_tiles(truth: Detections, tiles: np.ndarray, short_px: float = 0.0) -> list[Detections]:
    """What an ideal model reports per tile: the visible part of every box, in page pixels; with `short_px`,
    a cut box stops that far short of the tile edge (a real model's boxes are not exact)."""
    parts = []
    for x0, y0, x1, y1 in tiles:
        clipped = np.column_stack([np.maximum(truth.xyxy[:, 0], x0), np.maximum(truth.xyxy[:, 1], y0),
                                   np.minimum(truth.xyxy[:, 2], x1), np.minimum(truth.xyxy[:, 3], y1)])
        clipped[:, :2] += short_px * (clipped[:, :2] > truth.xyxy[:, :2])
        clipped[:, 2:] -= short_px * (clipped[:, 2:] < truth.xyxy[:, 2:])
        seen = (clipped[:, 2] - clipped[:, 0] >= 1) & (clipped[:, 3] - clipped[:, 1] >= 1)
        parts.append(Detections(clipped[seen], truth.class_id[seen], np.full(seen.sum(), 0.9)))
    return parts


def assert_same_boxes(found: Detections, truth: Detections, min_iou: float = 0.999):
    assert len(found) == len(truth), f"{len(found)} boxes for {len(truth)} symbols"
    iou = box_iou(truth.xyxy, found.xyxy)
    best = iou.argmax(axis=1)
    assert np.all(iou.max(axis=1) > min_iou) and len(set(best.tolist())) == len(truth)
    assert np.array_equal(found.class_id[best], truth.class_id)


STAFF, BEAM, STEM, HEAD, SLUR = range(5)


def test_long_symbols_cut_by_seams_come_back_whole():
    image_wh = (2000, 1400)
    tiles = tile_grid(image_wh, 640, 96)
    staff = [[20, 100 + 17 * i, 1980, 102 + 17 * i] for i in range(5)]  # five lines across every vertical seam
    truth = Detections(np.array(staff + [
        [300, 600, 1500, 612],      # a beam across two seams
        [1200, 520, 1203, 760],     # a stem across the horizontal seam at 544..640
        [600, 580, 620, 596],       # a notehead inside the overlap corner: seen whole by four tiles
        [530, 500, 560, 530],       # a notehead cut by a seam, whole in the neighbour
        [480, 400, 800, 700],       # a slur larger than the overlap, across both seams (four parts)
    ], dtype=float), np.array([STAFF] * 5 + [BEAM, STEM, HEAD, HEAD, SLUR]))
    found = merge_tiles(perfect_tiles(truth, tiles), tiles, image_wh)
    assert_same_boxes(found, truth)


@pytest.mark.parametrize("short_px", [0.0, 1.5])
@pytest.mark.parametrize("seed", range(8))
def test_random_pages_come_back_symbol_for_symbol(seed, short_px):
    rng = np.random.default_rng(seed)
    image_wh = (1960, 2772)
    tiles = tile_grid(image_wh, 640, 96)
    # Separated symbols on a jittered grid (same-class symbols never touch), sizes from dots to slurs.
    cells = [(x, y) for x in range(40, 1900, 150) for y in range(40, 2700, 150)]
    wh = np.column_stack([rng.choice([6, 15, 40, 140], len(cells)), rng.choice([3, 12, 40, 140], len(cells))])
    xy = np.array(cells) + rng.integers(0, 5, (len(cells), 2))
    xyxy = np.minimum(np.column_stack([xy, xy + wh]), [*image_wh, *image_wh]).astype(float)
    truth = Detections(xyxy, rng.integers(0, 4, len(cells)))
    found = merge_tiles(perfect_tiles(truth, tiles, short_px), tiles, image_wh)
    assert_same_boxes(found, truth, 0.999 if short_px == 0 else 0.9)


def test_boxes_that_stop_short_of_the_seam_still_join():
    image_wh = (2000, 700)
    tiles = tile_grid(image_wh, 640, 96)
    truth = Detections(np.array([[20, 100, 1980, 102], [300, 300, 1500, 312], [530, 500, 560, 530]], float),
                       np.array([STAFF, BEAM, HEAD]))
    found = merge_tiles(perfect_tiles(truth, tiles, short_px=1.5), tiles, image_wh)
    assert_same_boxes(found, truth, min_iou=0.95)


def test_one_tile_is_left_as_it_is_apart_from_duplicates():
    tile = np.array([[0, 0, 500, 400]])
    boxes = Detections(np.array([[0, 0, 10, 10], [1, 0, 10, 10], [0, 0, 10, 10]], float), np.array([0, 0, 1]),
                       np.array([0.9, 0.8, 0.7]))
    found = merge_tiles([boxes], tile, (500, 400))
    assert found.class_id.tolist() == [0, 1] and found.confidence.tolist() == [0.9, 0.7]


def test_parallel_lines_of_one_class_are_not_joined_together():
    image_wh = (1300, 300)
    tiles = tile_grid(image_wh, 640, 96)
    truth = Detections(np.array([[10, 100, 1290, 102], [10, 104, 1290, 106]], float), np.array([STAFF, STAFF]))
    assert_same_boxes(merge_tiles(perfect_tiles(truth, tiles), tiles, image_wh), truth)


def test_nms_is_class_aware_and_keeps_the_most_confident():
    xyxy = np.array([[0, 0, 10, 10], [0, 0, 10, 11], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    keep = nms(xyxy, np.array([0.5, 0.9, 0.8, 0.1]), np.array([0, 0, 1, 0]), iou=0.5)
    assert keep.tolist() == [1, 2, 3]
    assert nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5).size == 0


def test_image_borders_are_not_seams():
    tiles = np.array([[0, 0, 640, 640], [544, 0, 1184, 640]], float)
    boxes = np.array([[0, 5, 10, 10], [630, 5, 640, 10], [544, 5, 560, 10]], float)
    edges = touching_edges(boxes, tiles[[0, 0, 1]], (1184, 640), 2.0)
    assert edges.tolist() == [[False] * 4, [False, False, True, False], [True, False, False, False]]


def test_mismatched_tiles_are_refused():
    with pytest.raises(ValueError, match="one detection set per tile"):
        merge_tiles([], np.zeros((1, 4)), (10, 10), MergeRules())
