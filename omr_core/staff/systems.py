"""Systems of a page: which of its staves are played together, from the strokes that join them.

    staves = find_staves(darkness, estimate)               # omr_core.staff.lines
    groups = group_systems(darkness, staves, estimate.ink_darkness)   # [[0, 1], [2, 3], ...] staff indices

Engravers join the staves of one system by a vertical stroke: the system's opening line at its left end, a
brace or a bracket, and (in piano and choral scores) barlines drawn through the gaps; staves of different
systems are never joined. So two neighbouring staves are one system when some stroke runs from the upper
staff's bottom line to the lower staff's top line:
1. The gap between them is straightened: every column's rows from the upper staff's bottom line to the lower
   staff's top line are resampled to one height (GAP_ROWS), so a photo's slope and curl leave a barline
   upright and a brace a curve.
2. Thin ink there (a horizontal top-hat BACKGROUND_SPACES wide: darker than the page's ink threshold over its
   surroundings, so a photo's shadow or the dark edge of the paper is no stroke) is cut into connected strokes.
   A stroke that reaches both
   edges of the gap (within EDGE_ROWS) and is at most JOIN_SPACES staff spaces wide joins the two staves (a
   barline, the system's opening line, a brace, a bracket); wider ink that spans the gap (a cross-staff
   beam with its stems) says nothing.
3. Staves are read across the page's whole staff width and a margin on the left (a brace or bracket stands
   before the lines' start; a staff found short in a shadow still meets its system's opening line), their
   lines carried on along their slope past the ends where they were found.
"""

from __future__ import annotations

import cv2
import numpy as np

from omr_core.staff.lines import Staff

GAP_ROWS = 48  # rows of the straightened gap
EDGE_ROWS = 3  # a stroke reaching this close to the gap's top and bottom edges spans it
JOIN_SPACES = 2.5  # widest stroke that joins two staves (a brace is about one staff space wide)
LEFT_SPACES = 4.0  # margin read left of the staves' start, for braces and brackets
BACKGROUND_SPACES = 3.0  # ink wider than this is background (a shadow, the paper's edge), not a stroke


def group_systems(darkness: np.ndarray, staves: list[Staff], dark_at: float) -> list[list[int]]:
    """The staves (indices into `staves`, which run top to bottom) in systems, top to bottom; a staff joined to
    neither neighbour is a system of its own. darkness: (h, w) float32 0..1 of `staff.lines.page_darkness`."""
    if not staves:
        return []
    groups = [[0]]
    for k in range(1, len(staves)):
        if joined(darkness, staves[k - 1], staves[k], dark_at, page_x=_page_x(staves, darkness.shape[1])):
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _page_x(staves: list[Staff], width: int) -> tuple[int, int]:
    space = float(np.median([s.space_px for s in staves]))
    return max(0, int(min(s.x0 for s in staves) - LEFT_SPACES * space)), min(width, int(np.ceil(max(s.x1 for s in staves))))


def line_course(staff: Staff, x: np.ndarray, line: int) -> np.ndarray:
    """The centre of one of the staff's lines (0 top .. 4 bottom) at columns x (px), carried on past its ends
    along the slope of its outer stretch (Staff.line_y holds the end value)."""
    x = np.asarray(x, dtype=np.float64)
    y = staff.line_y(np.clip(x, staff.x0, staff.x1))[line]
    reach = min(staff.x1 - staff.x0, 8 * staff.space_px)
    for outside, edge, inner in ((x < staff.x0, staff.x0, staff.x0 + reach), (x > staff.x1, staff.x1, staff.x1 - reach)):
        if outside.any() and reach > 0:
            slope = float((staff.line_y(inner)[line] - staff.line_y(edge)[line]) / (inner - edge))
            y[outside] = staff.line_y(edge)[line] + slope * (x[outside] - edge)
    return y


def straightened_gap(darkness: np.ndarray, upper: Staff, lower: Staff, x0: int, x1: int) -> np.ndarray:
    """(GAP_ROWS, x1 - x0) float32: the gap from the upper staff's bottom line to the lower staff's top line,
    each column resampled to GAP_ROWS rows (linear interpolation)."""
    height = darkness.shape[0]
    x = np.arange(x0, x1, dtype=np.float64)
    top = line_course(upper, x, 4) + upper.thickness_px
    bottom = line_course(lower, x, 0) - lower.thickness_px
    t = (np.arange(GAP_ROWS, dtype=np.float64) + 0.5) / GAP_ROWS
    rows = top[None] + t[:, None] * (bottom - top)[None]  # (GAP_ROWS, n)
    lo = np.clip(np.floor(rows).astype(np.int64), 0, height - 1)
    hi = np.clip(lo + 1, 0, height - 1)
    frac = (rows - np.floor(rows)).astype(np.float32)
    cols = np.arange(x0, x1)[None]
    return darkness[lo, cols] * (1 - frac) + darkness[hi, cols] * frac


def joined(darkness: np.ndarray, upper: Staff, lower: Staff, dark_at: float,
           page_x: tuple[int, int] | None = None) -> bool:
    """Whether a stroke no wider than JOIN_SPACES staff spaces runs across the gap between two staves."""
    x0, x1 = page_x or (int(min(upper.x0, lower.x0)), int(np.ceil(max(upper.x1, lower.x1))))
    if x1 - x0 < 2:
        return False
    middle = np.linspace(x0, x1 - 1, 16)
    if np.any(line_course(lower, middle, 0) - line_course(upper, middle, 4) <= 2 * (upper.thickness_px + 1)):
        return False  # the staves touch or cross: no gap to read (a misreading upstream)
    space = 0.5 * (upper.space_px + lower.space_px)
    gap = straightened_gap(darkness, upper, lower, x0, x1)
    wide = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(round(BACKGROUND_SPACES * space)) | 1), 1))
    ink = (cv2.morphologyEx(gap, cv2.MORPH_TOPHAT, wide) > dark_at).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    for k in range(1, count):
        top, tall, wide = stats[k, cv2.CC_STAT_TOP], stats[k, cv2.CC_STAT_HEIGHT], stats[k, cv2.CC_STAT_WIDTH]
        if top <= EDGE_ROWS and top + tall >= GAP_ROWS - EDGE_ROWS and wide <= JOIN_SPACES * space:
            return True
    return False
