"""Staves of a page: where each staff's five lines run, from one end to the other, and its DeepScores box.

    found = estimate_staff_space(rgb)
    staves = find_staves(page_darkness(rgb), found)
    staves[0].line_y(x)            # (5,) centres of the five lines at column x (px)
    staves[0].xyxy                 # the `staff` box: the lines' ink from end to end

Method, on the staff samples of `space.estimate_staff_space` (five equally spaced thin runs in one column):
1. Samples are linked into tracks as the estimator links them; tracks are merged into one staff when their
   middle lines meet within half a staff space where they come closest (a staff broken by a chord cluster or a
   beam is one staff).
2. A staff's top line is followed along x: the median of the samples in bins four staff spaces wide, joined
   linearly (a photo's slope and curl), held level past the last bin. Two staves less than 4.5 staff spaces
   apart over the same columns are one staff read twice, once with ledger lines among its five (shifted by
   whole spaces): the reading with ink a space outside its outer lines (the true staff's line) is dropped.
3. Its ends: from the outermost samples, column by column outwards while at least three of the five line rows
   are dark there and three of the four spaces between them light (a barline or brace is dark all the way
   down), across gaps of at most MISS_SPACES staff spaces (a clef, a chord, a time signature cover them).
4. The box: from the first to the last lined column, and from the top edge of the top line to the bottom edge of
   the bottom line over that span, as DeepScoresV2 labels `staff`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.staff.space import StaffSpaceEstimate, grey, paper_blocks, track_labels

MIN_STAFF_SPACES = 8.0  # a staff shorter than this is text or a stray pattern
BIN_SPACES = 4.0  # top-line bins along x
DARK = 0.35  # a line row is inked where it is darker than this share of the paper
MISS_SPACES = 3.0  # the lines may be covered this long (a clef, a chord of seconds, a time signature)


@dataclass(frozen=True)
class Staff:
    """One staff: its top line and spacing sampled along x, its extent, and the thickness of its lines."""

    knots_x: np.ndarray  # (k,) x of the knots (px), increasing
    knots_top: np.ndarray  # (k,) centre of the top line at each knot (px)
    knots_space: np.ndarray  # (k,) staff space at each knot (px)
    x0: float  # where the lines start and end (px)
    x1: float
    thickness_px: float

    def top_y(self, x) -> np.ndarray:
        return np.interp(x, self.knots_x, self.knots_top)

    def space_at(self, x) -> np.ndarray:
        return np.interp(x, self.knots_x, self.knots_space)

    def line_y(self, x) -> np.ndarray:
        """Centres of the five lines at x: (5,) for a scalar, (5, n) for an array."""
        x = np.asarray(x, dtype=np.float64)
        return self.top_y(x)[None] + np.arange(5).reshape((5,) + (1,) * x.ndim) * self.space_at(x)[None] \
            if x.ndim else self.top_y(x) + np.arange(5) * self.space_at(x)

    @property
    def space_px(self) -> float:
        return float(np.median(self.knots_space))

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        xs = np.linspace(self.x0, self.x1, 16)
        lines = self.line_y(xs)
        half = self.thickness_px / 2
        return (float(self.x0), float(lines[0].min() - half), float(self.x1), float(lines[4].max() + half))

    @property
    def middle_y(self) -> float:
        return float(self.line_y((self.x0 + self.x1) / 2)[2])


def page_darkness(image: np.ndarray) -> np.ndarray:
    """(h, w) float32 in 0..1: how much darker than its paper each pixel is (see `space.paper_blocks`)."""
    paper, block = paper_blocks(image)
    g = grey(image).astype(np.float32)
    height, width = g.shape
    full = np.repeat(np.repeat(paper.astype(np.float32), block, axis=0), block, axis=1)[:height, :width]
    out = 1 - g / np.maximum(full, 1)
    np.clip(out, 0, 1, out=out)
    out[full < 60] = 0
    return out


def find_staves(darkness: np.ndarray, estimate: StaffSpaceEstimate) -> list[Staff]:
    """The staves of a page, top to bottom; [] when the estimate found none. darkness: (h, w) of `page_darkness`."""
    table = estimate.sample_table
    if not estimate.found or len(table) == 0:
        return []
    space = estimate.staff_space_px
    x, top, spaces = table[:, 0], table[:, 1], table[:, 2]
    middle = top + 2 * spaces
    label, length = track_labels(x, middle, space)
    groups = [np.flatnonzero(label == k) for k in np.unique(label)]
    groups = [g for g in groups if length[g[0]] >= MIN_STAFF_SPACES / 2]
    groups.sort(key=lambda g: -len(g))
    staves: list[np.ndarray] = []
    for group in groups:
        for k, members in enumerate(staves):
            if abs(_offset(x[members], middle[members], x[group], middle[group])) <= 0.5 * space:
                staves[k] = np.concatenate([members, group])
                break
        else:
            staves.append(group)
    found = []
    for members in staves:
        staff = _follow(darkness, x[members], top[members], spaces[members], estimate.line_thickness_px)
        if staff is not None and (staff.x1 - staff.x0) >= MIN_STAFF_SPACES * staff.space_px:
            found.append(staff)
    # a staff read with ledger lines among its five lies whole spaces off the real one and, followed along its
    # lines, runs over the same columns: of two such, the one with ink a space outside its outer lines (the
    # other's line) is dropped
    keep = [True] * len(found)
    for i in range(len(found)):
        for j in range(i + 1, len(found)):
            a, b = found[i], found[j]
            lo, hi = max(a.x0, b.x0), min(a.x1, b.x1)
            if not (keep[i] and keep[j]) or hi - lo < 0.3 * min(a.x1 - a.x0, b.x1 - b.x0):
                continue
            columns = np.linspace(lo, hi - 1, 48)
            if np.median(np.abs(a.line_y(columns)[2] - b.line_y(columns)[2])) < 4.5 * space:
                keep[j if _outside_ink(darkness, a, columns) <= _outside_ink(darkness, b, columns) else i] = False
    return sorted([f for f, k in zip(found, keep) if k], key=lambda s: s.middle_y)


def _offset(xa, ya, xb, yb) -> float:
    """How far track b lies below track a: the median of b's middle lines less a's line (least squares, so a
    sloping staff continues across a gap) at b's columns."""
    if np.ptp(xa) > 0:
        slope, intercept = np.polyfit(xa, ya, 1)
    else:
        slope, intercept = 0.0, float(np.median(ya))
    return float(np.median(yb - (intercept + slope * xb)))


def _outside_ink(darkness: np.ndarray, staff: Staff, columns) -> float:
    """Share of `columns` where the row a space above the staff's top line or below its bottom line is dark."""
    height, width = darkness.shape
    cols = np.clip(np.round(columns).astype(int), 0, width - 1)
    lines = staff.line_y(np.asarray(columns, dtype=np.float64))
    step = staff.space_at(columns)
    dark = np.zeros(len(cols))
    for row in (lines[0] - step, lines[4] + step):
        rows = np.clip(np.round(row).astype(int)[:, None] + np.arange(-1, 2)[None], 0, height - 1)
        dark += darkness[rows, cols[:, None]].max(axis=1) > DARK
    return float(dark.mean() / 2)


def _overlap(xa, xb) -> float:
    """Share of the shorter track's x-range that the other covers."""
    lo, hi = max(xa.min(), xb.min()), min(xa.max(), xb.max())
    return max(0.0, hi - lo) / max(1e-9, min(np.ptp(xa), np.ptp(xb)))


def _follow(darkness: np.ndarray, x, top, spaces, thickness: float) -> Staff | None:
    space = float(np.median(spaces))
    width = BIN_SPACES * space
    bins = np.floor((x - x.min()) / width).astype(np.int64)
    knots = []
    for b in np.unique(bins):
        inside = bins == b
        knots.append((float(np.median(x[inside])), float(np.median(top[inside])), float(np.median(spaces[inside]))))
    left, left_knots = _walk(darkness, knots, -1, space, float(x.min()))
    right, right_knots = _walk(darkness, knots, 1, space, float(x.max()))
    knots = sorted(left_knots + knots + right_knots)
    knots_x, knots_top, knots_space = (np.array(v) for v in zip(*knots))
    return Staff(knots_x, knots_top, knots_space, float(left), float(right + 1), float(thickness))


def _walk(darkness: np.ndarray, knots: list[tuple[float, float, float]], step: int, space: float, start: float):
    """Rule 3, from the outermost sample (`start`, px) outwards (`step` -1: left, 1: right), following the lines: at each lined
    column the five rows are re-centred on their ink (a photo's lines slope and curl), and every BIN_SPACES
    staff spaces the position becomes a knot. Returns the last lined column and the new knots."""
    height, width = darkness.shape
    xs, tops = np.array([k[0] for k in knots]), np.array([k[1] for k in knots])
    _, _, gap_px = knots[0] if step < 0 else knots[-1]
    near = slice(0, 3) if step < 0 else slice(-3, None)
    slope = 0.0
    if np.ptp(xs[near]) >= MIN_STAFF_SPACES * space:  # start along the staff's own slope, where it is known
        slope = float(np.polyfit(xs[near], tops[near], 1)[0])
    x = start
    top = float(np.interp(x, xs, tops)) + slope * (x - (xs[0] if step < 0 else xs[-1])) * (
        (x < xs[0]) if step < 0 else (x > xs[-1]))
    column, end, missed, new = int(round(x)), int(round(x)), 0, []
    offsets = np.arange(-2, 3)
    while 0 <= column + step < width and missed <= MISS_SPACES * space:
        column += step
        top += slope * step
        centres = top + np.arange(5) * gap_px
        rows = np.clip(np.round(centres).astype(int)[:, None] + offsets[None], 0, height - 1)
        ink = darkness[rows, column]  # (5, 5): each line's rows around its centre
        gaps = np.clip(np.round(centres[:4] + gap_px / 2).astype(int), 0, height - 1)
        dark_lines = ink.max(axis=1) > DARK
        if dark_lines.sum() >= 3 and (darkness[gaps, column] < DARK).sum() >= 3:
            end, missed = column, 0
            # lines that are thin here (light two pixels out) say where they are; a note on a line does not
            thin = dark_lines & (ink[:, 0] < DARK) & (ink[:, -1] < DARK)
            if thin.sum() >= 3:
                shifts = (ink[thin] * offsets).sum(axis=1) / np.maximum(ink[thin].sum(axis=1), 1e-6)
                top += 0.5 * float(np.clip(np.median(shifts), -1, 1))  # follow the ink, half a step at a time
            if abs(column - (new[-1][0] if new else x)) >= BIN_SPACES * space:
                new.append((float(column), float(top), gap_px))
        else:
            missed += 1
    return end, new
