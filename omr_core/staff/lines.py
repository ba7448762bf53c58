"""Staves of a page: where each staff's five lines run, from one end to the other, and its DeepScores box.

    found = estimate_staff_space(rgb)
    staves = find_staves(page_darkness(rgb), found)   # lines are ink as dark as the estimate read them
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
    line_darkness: float = 1.0  # how dark its lines are against the paper where sampled (a blurred photo: less)

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
    """(h, w) float32 in 0..1: how much darker than its paper each pixel is (see `space.paper_blocks`); 0 where
    the paper is itself dark (no paper there)."""
    paper, block = paper_blocks(image)
    g = grey(image)
    height, width = g.shape
    bh, bw = paper.shape
    padded = np.zeros((bh * block, bw * block), dtype=np.float32)
    padded[:height, :width] = g
    scale = np.where(paper >= 60, 1.0 / np.maximum(paper, 1), 0.0).astype(np.float32)  # no paper: no ink
    blocks = padded.reshape(bh, block, bw, block)
    blocks *= scale[:, None, :, None]
    np.subtract(1.0, blocks, out=blocks)
    blocks *= (paper >= 60)[:, None, :, None]
    np.clip(padded, 0, 1, out=padded)
    return padded[:height, :width]


def find_staves(darkness: np.ndarray, estimate: StaffSpaceEstimate) -> list[Staff]:
    """The staves of a page, top to bottom; [] when the estimate found none. darkness: (h, w) of `page_darkness`."""
    table = estimate.sample_table
    if not estimate.found or len(table) == 0:
        return []
    space = estimate.staff_space_px
    ink = estimate.ink_darkness
    x, top, spaces = table[:, 0], table[:, 1], table[:, 2]
    middle = top + 2 * spaces
    label, length = track_labels(x, middle, space)
    groups = [np.flatnonzero(label == k) for k in np.unique(label)]
    groups = [g for g in groups if length[g[0]] >= MIN_STAFF_SPACES / 2]
    groups.sort(key=lambda g: -len(g))
    staves: list[np.ndarray] = []
    fits: list[tuple[float, float]] = []  # each staff's middle line so far: slope, intercept
    for group in groups:
        for k, members in enumerate(staves):
            slope, intercept = fits[k]
            if abs(float(np.median(middle[group] - (intercept + slope * x[group])))) <= 0.5 * space:
                staves[k] = np.concatenate([members, group])
                fits[k] = _line_fit(x[staves[k]], middle[staves[k]])
                break
        else:
            staves.append(group)
            fits.append(_line_fit(x[group], middle[group]))
    # the page's slope (a photo's rotation), for staves read over too short a stretch to have their own
    slopes = [np.polyfit(x[g], middle[g], 1)[0] for g in staves if np.ptp(x[g]) >= 4 * MIN_STAFF_SPACES * space]
    page_slope = float(np.median(slopes)) if slopes else 0.0
    found = []
    for members in staves:
        staff = _follow(darkness, x[members], top[members], spaces[members], estimate.line_thickness_px, ink,
                        page_slope)
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
                keep[j if _outside_ink(darkness, a, columns, ink) <= _outside_ink(darkness, b, columns, ink) else i] = False
    return sorted([f for f, k in zip(found, keep) if k], key=lambda s: s.middle_y)


def _group_median(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The median of `values` in each group (groups: (n,) int labels), in increasing group order."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    return (v[(starts + ends - 1) // 2] + v[(starts + ends) // 2]) / 2


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line y = intercept + slope * x (a sloping staff continues across a gap); level where x
    does not vary."""
    if np.ptp(x) <= 0:
        return 0.0, float(np.median(y))
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def _outside_ink(darkness: np.ndarray, staff: Staff, columns, dark_at: float) -> float:
    """Share of `columns` where the row a space above the staff's top line or below its bottom line is dark."""
    height, width = darkness.shape
    cols = np.clip(np.round(columns).astype(int), 0, width - 1)
    lines = staff.line_y(np.asarray(columns, dtype=np.float64))
    step = staff.space_at(columns)
    dark = np.zeros(len(cols))
    for row in (lines[0] - step, lines[4] + step):
        rows = np.clip(np.round(row).astype(int)[:, None] + np.arange(-1, 2)[None], 0, height - 1)
        dark += darkness[rows, cols[:, None]].max(axis=1) > dark_at
    return float(dark.mean() / 2)


def _overlap(xa, xb) -> float:
    """Share of the shorter track's x-range that the other covers."""
    lo, hi = max(xa.min(), xb.min()), min(xa.max(), xb.max())
    return max(0.0, hi - lo) / max(1e-9, min(np.ptp(xa), np.ptp(xb)))


def _follow(darkness: np.ndarray, x, top, spaces, thickness: float, dark_at: float,
            page_slope: float = 0.0) -> Staff | None:
    space = float(np.median(spaces))
    width = BIN_SPACES * space
    bins = np.floor((x - x.min()) / width).astype(np.int64)
    knots = list(zip(*(_group_median(bins, v).tolist() for v in (x, top, spaces))))
    knots_x, knots_top, knots_space = (np.array(v) for v in zip(*knots))
    # half the darkness of this staff's own lines where they were sampled: a faint photographed staff is
    # followed by its own contrast, not the page's
    height, width = darkness.shape
    rows = np.clip(np.round(top[:, None] + np.arange(5)[None] * spaces[:, None]).astype(int)[:, :, None]
                   + np.arange(-1, 2)[None, None], 0, height - 1)
    peak = darkness[rows, np.clip(x.astype(int), 0, width - 1)[:, None, None]].max(axis=2)
    line_darkness = float(np.median(peak))
    dark_at = float(np.clip(0.5 * line_darkness, 0.08, dark_at))
    first, last = float(x.min()), float(x.max())
    for _ in range(6):  # each round carries the lines a little further along their curl
        left, right, extra = _extend(darkness, knots_x, knots_top, knots_space, first, last, space, dark_at,
                                     page_slope)
        if not extra:
            break
        knots = sorted(knots + extra)
        knots_x, knots_top, knots_space = (np.array(v) for v in zip(*knots))
        first, last = min(first, float(knots_x[0])), max(last, float(knots_x[-1]))
    return Staff(knots_x, knots_top, knots_space, float(left), float(right + 1), float(thickness), line_darkness)


def _extend(darkness: np.ndarray, knots_x, knots_top, knots_space, first: float, last: float, space: float,
            dark_at: float, page_slope: float = 0.0):
    """Rule 3 for every column at once: where the staff's lines (carried on along the slope of its outer knots)
    are lined, and the first and last lined column reached from the samples across gaps of at most MISS_SPACES.
    The line rows are read two pixels either way and re-centred on their thin ink, so the new knots (every
    BIN_SPACES spaces past the samples) follow a photo's curl. Returns (first column, last column, new knots)."""
    height, width = darkness.shape
    columns = np.arange(width, dtype=np.float64)
    top = np.interp(columns, knots_x, knots_top)
    for side, edge in ((columns < knots_x[0], 0), (columns > knots_x[-1], -1)):
        near = slice(0, 3) if edge == 0 else slice(-3, None)
        slope = page_slope  # the staff's own slope where its outer knots span enough to tell it
        if np.ptp(knots_x[near]) >= MIN_STAFF_SPACES * space:
            slope = float(np.polyfit(knots_x[near], knots_top[near], 1)[0])
        top[side] += slope * (columns[side] - knots_x[edge])
    step = np.interp(columns, knots_x, knots_space)
    # only the stretches past the samples are read: inside them the knots say where the lines are
    read = np.flatnonzero((columns <= first) | (columns >= last))
    offsets = np.arange(-2, 3)
    centres = top[read][None] + np.arange(5)[:, None] * step[read][None]  # (5, r)
    rows = np.clip(np.round(centres).astype(int)[:, None, :] + offsets[None, :, None], 0, height - 1)  # (5, 5, r)
    ink = darkness[rows, read[None, None, :]]
    dark = ink.max(axis=1) > dark_at  # (5, r)
    gaps = np.clip(np.round(centres[:4] + step[read] / 2).astype(int), 0, height - 1)
    light = darkness[gaps, read[None, :]] < dark_at
    lined = np.zeros(width, dtype=bool)
    lined[read] = (dark.sum(axis=0) >= 3) & (light.sum(axis=0) >= 3)
    # where the lines are thin (light two pixels out), their ink says where they are
    thin_lines = dark & (ink[:, 0] < dark_at) & (ink[:, -1] < dark_at)
    shift = np.full((5, width), np.nan)
    shift[:, read] = np.where(thin_lines, (ink * offsets[None, :, None]).sum(axis=1)
                              / np.maximum(ink.sum(axis=1), 1e-6), np.nan)
    enough = np.zeros(width, dtype=bool)
    enough[read] = thin_lines.sum(axis=0) >= 3
    limit = int(MISS_SPACES * space)

    def reach(start: int, direction: int) -> int:
        ahead = lined[start:] if direction > 0 else lined[: start + 1][::-1]
        hits = np.flatnonzero(ahead)
        if len(hits) == 0:
            return start
        gaps_between = np.diff(np.concatenate([[0], hits]))
        stop = np.flatnonzero(gaps_between > limit + 1)
        last_hit = hits[stop[0] - 1] if len(stop) and stop[0] > 0 else (hits[-1] if not len(stop) else 0)
        return start + direction * int(last_hit)

    left = reach(int(np.clip(np.floor(first), 0, width - 1)), -1)
    right = reach(int(np.clip(np.ceil(last), 0, width - 1)), 1)
    extra = []
    bin_px = BIN_SPACES * space
    for lo, hi in ((left, first), (last, right)):
        for b0 in np.arange(lo, hi, bin_px):
            inside = slice(int(b0), int(min(hi, b0 + bin_px)) + 1)
            ok = enough[inside]
            if ok.sum() >= 3:
                centre = float(np.mean(columns[inside][ok]))
                extra.append((centre, float(np.median(top[inside][ok]) + np.nanmedian(shift[:, inside][:, ok])),
                              float(np.median(step[inside][ok]))))
    return left, right, [k for k in extra if not (first <= k[0] <= last)]
