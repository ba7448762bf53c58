import numpy as np
import pytest

from omr_core.datasets.tiling import CutRule, crop_detections, tile_grid, tile_starts
from omr_core.structures import Detections


@pytest.mark.parametrize(
    "size, tile, overlap, expected",
    [(640, 640, 128, [0]), (500, 640, 128, [0]), (1000, 640, 128, [0, 360]), (1960, 640, 160, [0, 480, 960, 1320])],
)
def test_tile_starts(size, tile, overlap, expected):
    assert tile_starts(size, tile, overlap).tolist() == expected


@pytest.mark.parametrize("wh", [(1960, 2772), (2707, 3828), (641, 639), (100, 3000)])
@pytest.mark.parametrize("tile, overlap", [(640, 160), (1024, 256)])
def test_every_pixel_covered_no_tile_outside(wh, tile, overlap):
    tiles = tile_grid(wh, tile, overlap)
    covered = np.zeros((wh[1], wh[0]), dtype=bool)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= wh[0] and 0 <= y0 < y1 <= wh[1]
        assert x1 - x0 == min(tile, wh[0]) and y1 - y0 == min(tile, wh[1])
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    # neighbouring tiles overlap by at least the overlap (so a symbol that small is whole in one of them)
    xs = np.unique(tiles[:, 0])
    assert all(b - a <= tile - overlap for a, b in zip(xs, xs[1:]))


@pytest.mark.parametrize("bad", [dict(tile_px=0, overlap_px=0), dict(tile_px=640, overlap_px=640), dict(tile_px=64, overlap_px=-1)])
def test_bad_grid(bad):
    with pytest.raises(ValueError, match="tile"):
        tile_starts(1000, **bad)


TILE = np.array([100.0, 100, 200, 200])


def test_rule_thresholds_are_settings():
    det = Detections(np.array([[85.0, 120, 110, 140]]), [0])  # 40% visible
    assert len(crop_detections(det, TILE, CutRule(min_visibility=0.4))[0]) == 1


@pytest.mark.parametrize(
    "box, kept, expected_in_tile",
    [
        ((120, 120, 140, 140), True, (20, 20, 40, 40)),  # inside: moved into tile coordinates
        ((90, 120, 110, 140), True, (0, 20, 10, 40)),  # half visible: kept (visibility 0.5), clipped
        ((85, 120, 110, 140), False, None),  # 40% visible notehead: dropped
        ((0, 150, 400, 154), True, (0, 50, 100, 54)),  # staff line cut across its length: kept
        ((150, 0, 152, 400), True, (50, 0, 52, 100)),  # long stem cut at both ends: kept
        ((190, 150, 260, 154), False, None),  # a 10 px stub of a long thin symbol: not elongated itself, dropped
        ((300, 300, 320, 320), None, None),  # outside: not in the tile, not counted
    ],
)
def test_cut_rule(box, kept, expected_in_tile):
    det = Detections(np.array([box], dtype=float), [5])
    tile, dropped = crop_detections(det, TILE)
    if kept is None:
        assert len(tile) == 0 and dropped == 0
    elif kept:
        assert len(tile) == 1 and dropped == 0
        np.testing.assert_allclose(tile.xyxy[0], expected_in_tile)
    else:
        assert len(tile) == 0 and dropped == 1
