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
5. Checked against the whole page (`_complete`): a reading with a thin line a space outside its five on one side
   over most of its length is a stack of ledger lines (high chords), not a staff, and is dropped. The long
   staves then say how the page is bent: a staff's top line at any height is interpolated between the long
   staves above and below it. Every height is tried (1 px steps) against the page's columns (every half staff
   space): a column matches where all five lines are dark and three of the four spaces light. A height whose
   matches beat those within 1.5 staff spaces, cover MIN_STAFF_SPACES and are no ledger stack is a staff; where
   the readings of steps 1-4 missed it, or hold it only in part or shifted by ledger lines (a faint staff under
   beamed chords), it is followed again (step 2-3) from its matched columns and replaces those readings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.staff.space import StaffSpaceEstimate, grey, paper_blocks, track_labels
from omr_core.structures.stats import median

MIN_STAFF_SPACES = 8.0  # a staff shorter than this is text or a stray pattern
BIN_SPACES = 4.0  # top-line bins along x
MISS_SPACES = 3.0  # the lines may be covered this long (a clef, a chord of seconds, a time signature)
LEDGER_STACK = 0.5  # share of a staff's lined columns with a thin line a space outside it (one side): ledger lines


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
        return float(median(self.knots_space))

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
    has_paper = paper >= 60
    scale = np.where(has_paper, 1.0 / np.maximum(paper, 1), 0.0).astype(np.float32)
    blocks = padded.reshape(bh, block, bw, block)
    blocks *= scale[:, None, :, None]
    np.subtract(1.0, blocks, out=blocks)
    if not has_paper.all():  # no paper: no ink
        blocks *= has_paper[:, None, :, None]
    np.maximum(padded, 0, out=padded)  # the upper clip is free: grey x scale >= 0
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
            off = abs(float(median(middle[group] - (intercept + slope * x[group])))) / space
            if off <= 0.5:
                staves[k] = np.concatenate([members, group])
                fits[k] = _line_fit(x[staves[k]], middle[staves[k]])
                break
            if abs(off - round(off)) <= 0.3 and 1 <= round(off) <= 2 and 2 * len(group) <= len(members) \
                    and x[members].min() <= x[group].min() and x[group].max() <= x[members].max():
                break  # ledger lines over part of a staff read longer: its own lines shifted a space or two
        else:
            staves.append(group)
            fits.append(_line_fit(x[group], middle[group]))
    # the page's slope (a photo's rotation), for staves read over too short a stretch to have their own
    slopes = [np.polyfit(x[g], middle[g], 1)[0] for g in staves if np.ptp(x[g]) >= 4 * MIN_STAFF_SPACES * space]
    page_slope = float(median(slopes)) if slopes else 0.0
    found = []
    for members in staves:
        staff = _follow(darkness, x[members], top[members], spaces[members], estimate.line_thickness_px, ink,
                        page_slope)
        if staff is not None and (staff.x1 - staff.x0) >= MIN_STAFF_SPACES * staff.space_px:
            found.append(staff)
    found = _single_readings(darkness, found, space, ink)
    return sorted(_single_readings(darkness, _complete(darkness, found, estimate, page_slope), space, ink),
                  key=lambda s: s.middle_y)


def _single_readings(darkness: np.ndarray, found: list[Staff], space: float, ink: float) -> list[Staff]:
    """A staff read with ledger lines among its five lies whole spaces off the real one and, followed along its
    lines, runs over the same columns: of two such, the one half as long as the other or less is dropped (ledger
    lines run for a few notes, a staff on), else the one with ink a space outside its outer lines (the other's
    line)."""
    keep = [True] * len(found)
    for i in range(len(found)):
        for j in range(i + 1, len(found)):
            a, b = found[i], found[j]
            lo, hi = max(a.x0, b.x0), min(a.x1, b.x1)
            if not (keep[i] and keep[j]) or hi - lo < 0.3 * min(a.x1 - a.x0, b.x1 - b.x0):
                continue
            columns = np.linspace(lo, hi - 1, 48)
            if median(np.abs(a.line_y(columns)[2] - b.line_y(columns)[2])) >= 4.5 * space:
                continue
            length_a, length_b = a.x1 - a.x0, b.x1 - b.x0
            if max(length_a, length_b) >= 2 * min(length_a, length_b):
                keep[j if length_a > length_b else i] = False
            else:
                keep[j if _outside_ink(darkness, a, columns, ink) <= _outside_ink(darkness, b, columns, ink) else i] = False
    return [f for f, k in zip(found, keep) if k]


def _complete(darkness: np.ndarray, found: list[Staff], estimate: StaffSpaceEstimate,
              page_slope: float) -> list[Staff]:
    """Rule 5: the readings checked against every height of the page; staves missed, cut short or shifted are
    followed again from the columns where their five lines match."""
    ink = estimate.ink_darkness
    found = [s for s in found if not _ledger_stack(darkness, s, ink)]
    if not found:
        return []
    space = estimate.staff_space_px
    longest = max(s.x1 - s.x0 for s in found)
    reference = sorted((s for s in found if s.x1 - s.x0 >= 0.5 * longest), key=lambda s: s.middle_y)
    x0, x1 = min(s.x0 for s in reference), max(s.x1 for s in reference)
    columns = np.arange(x0, x1, max(2.0, space / 2))
    top, step_at, match = _page_matches(darkness, reference, columns, ink)
    score = match.mean(axis=1)
    reach = int(1.5 * space)
    padded = np.pad(score, reach)
    window = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1).max(axis=1)
    enough = MIN_STAFF_SPACES * space / (columns[1] - columns[0]) if len(columns) > 1 else np.inf
    peaks = np.flatnonzero((score >= window) & (match.sum(axis=1) >= enough))
    peaks = peaks[np.concatenate([[True], np.diff(peaks) > reach])] if len(peaks) else peaks
    staves = list(found)
    for row in peaks:
        cols = np.flatnonzero(match[row])
        xs, tops, spaces = columns[cols], top[row, cols], step_at(np.full(len(cols), row), cols)
        middle = tops + 2 * spaces
        near = [k for k, s in enumerate(staves) if _covers(s, xs, middle, 2.5 * space)]
        held = [k for k in near if median(np.abs(staves[k].line_y(np.clip(xs, staves[k].x0, staves[k].x1))[2]
                                                    - middle)) <= 0.5 * space]
        if any(staves[k].x0 <= xs.min() + space and staves[k].x1 >= xs.max() - space for k in held):
            continue  # a reading holds this staff whole already
        if _dark_outside(darkness, xs, tops, spaces, ink) > LEDGER_STACK:
            continue
        tops = tops + _recentre(darkness, xs, tops, spaces)
        staff = _follow(darkness, xs, tops, spaces, estimate.line_thickness_px, ink, page_slope)
        if staff is None or (staff.x1 - staff.x0) < MIN_STAFF_SPACES * staff.space_px:
            continue
        # the readings it replaces: parts of it, and readings shifted by ledger lines over its columns
        staves = [s for k, s in enumerate(staves) if k not in near or (s.x1 - s.x0) > (staff.x1 - staff.x0)] + [staff]
    return staves


def _covers(staff: Staff, xs: np.ndarray, middle: np.ndarray, within: float) -> bool:
    """Whether the staff's middle line runs within `within` px of `middle` over some of the columns `xs`."""
    inside = (xs >= staff.x0) & (xs <= staff.x1)
    return bool(inside.any()) and float(median(np.abs(staff.line_y(xs[inside])[2] - middle[inside]))) <= within


def _page_matches(darkness: np.ndarray, reference: list[Staff], columns: np.ndarray, dark_at: float):
    """For every row y of the page (a top line passing y halfway across) and every column: the top line's y
    (h, c), the staff space at given rows and columns (`step_at(rows, cols)`), and whether five lines match
    there (h, c) bool: all five dark (within a pixel) and three of the four spaces light. The top line's course
    is interpolated between the reference staves (sorted top to bottom), carried on parallel above the first
    and below the last."""
    height, width = darkness.shape
    centre = (columns[0] + columns[-1]) / 2
    tops = np.array([s.top_y(columns) for s in reference])  # (n, c)
    spaces = np.array([s.space_at(columns) for s in reference])
    at_centre = np.array([float(s.top_y(centre)) for s in reference])
    rows = np.arange(height, dtype=np.float64)
    cols = np.clip(np.round(columns).astype(np.int64), 0, width - 1)
    if len(reference) == 1:
        top = tops[0][None] + (rows - at_centre[0])[:, None]

        def step_at(r, c):
            return spaces[0][c]
    else:
        upper = np.clip(np.searchsorted(at_centre, rows), 1, len(reference) - 1)
        t = (rows - at_centre[upper - 1]) / np.maximum(at_centre[upper] - at_centre[upper - 1], 1e-6)
        top = tops[upper - 1] + t[:, None] * np.diff(tops, axis=0)[upper - 1]

        def step_at(r, c):
            return spaces[upper[r] - 1, c] + np.clip(t[r], 0, 1) * (spaces[upper[r], c] - spaces[upper[r] - 1, c])
    # the sampled columns only, each dark pixel grown a pixel up and down ("dark within a pixel"); rows -1 and
    # h stand for every row beyond the page, as its first and last row
    sampled = darkness[:, cols]  # (h, c)
    sub = sampled > dark_at
    near = np.zeros((height + 2, len(cols)), dtype=bool)
    near[1:-1] = sub
    near[:-2] |= sub
    near[2:] |= sub
    near[0], near[-1] = sub[0], sub[-1]
    light_at = sampled < dark_at
    # the top line first over every row and column, the other lines only where all above them matched
    rows_at, cols_at = np.nonzero(near[np.clip(np.round(top).astype(np.int64), -1, height) + 1,
                                       np.arange(len(cols))[None]])
    t_at, st = top[rows_at, cols_at], step_at(rows_at, cols_at)
    for k in range(1, 5):
        keep = near[np.clip(np.round(t_at + k * st).astype(np.int64), -1, height) + 1, cols_at]
        rows_at, cols_at, t_at, st = rows_at[keep], cols_at[keep], t_at[keep], st[keep]
    light = np.zeros(len(rows_at), dtype=np.int8)
    for k in range(4):
        light += light_at[np.clip(np.round(t_at + (k + 0.5) * st).astype(np.int64), 0, height - 1), cols_at]
    match = np.zeros(top.shape, dtype=bool)
    match[rows_at[light >= 3], cols_at[light >= 3]] = True
    return top, step_at, match


def _dark_outside(darkness: np.ndarray, xs, tops, spaces, dark_at: float) -> float:
    """Of the columns xs, the larger share (above or below) where a thin line runs a space outside the five
    lines (dark there, light 0.4 spaces either way): near 1 for five ledger lines over a staff (the staff's own
    line, or the next ledger line, is the sixth), under a third for a staff (its own ledger lines, here and
    there; noteheads and beams are no thin line)."""
    height, width = darkness.shape
    cols = np.clip(np.round(xs).astype(np.int64), 0, width - 1)
    if len(cols) == 0:
        return 0.0

    def at(row, spread):
        rows = np.clip(np.round(row).astype(np.int64)[:, None] + np.arange(-spread, spread + 1)[None], 0, height - 1)
        return darkness[rows, cols[:, None]].max(axis=1)

    shares = []
    for row in (tops - spaces, tops + 5 * spaces):
        thin = (at(row, 1) > dark_at) & (at(row - 0.4 * spaces, 0) < dark_at) & (at(row + 0.4 * spaces, 0) < dark_at)
        shares.append(float(thin.mean()))
    return max(shares)


def _ledger_stack(darkness: np.ndarray, staff: Staff, dark_at: float) -> bool:
    """A reading that is five ledger lines of high or low chords: dark a space outside it where it is lined."""
    xs = np.arange(staff.x0, staff.x1, max(2.0, staff.space_px / 2))
    height, width = darkness.shape
    lines = staff.line_y(xs)
    cols = np.clip(np.round(xs).astype(np.int64), 0, width - 1)
    lined = np.ones(len(xs), dtype=bool)
    for k in range(5):
        rows = np.clip(np.round(lines[k]).astype(np.int64)[:, None] + np.arange(-1, 2)[None], 0, height - 1)
        lined &= darkness[rows, cols[:, None]].max(axis=1) > dark_at
    if lined.sum() < 3:
        return False
    return _dark_outside(darkness, xs[lined], lines[0][lined], staff.space_at(xs[lined]), dark_at) > LEDGER_STACK


def _recentre(darkness: np.ndarray, xs, tops, spaces) -> np.ndarray:
    """Per column, the shift (-2..2 px) that puts the five line rows on the most ink: the interpolated course
    is a guess between staves, the ink says where the lines are."""
    height, width = darkness.shape
    cols = np.clip(np.round(xs).astype(np.int64), 0, width - 1)
    offsets = np.arange(-2, 3)
    total = np.zeros((len(offsets), len(xs)))
    for k in range(5):
        rows = np.round(tops + k * spaces).astype(np.int64)
        total += darkness[np.clip(rows[None] + offsets[:, None], 0, height - 1), cols[None]]
    return offsets[np.argmax(total, axis=0)].astype(np.float64)


def _group_median(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The median of `values` in each group (groups: (n,) int labels), in increasing group order."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    starts = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
    ends = np.append(starts[1:], len(g))
    return (v[(starts + ends - 1) // 2] + v[(starts + ends) // 2]) / 2


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line y = intercept + slope * x (a sloping staff continues across a gap); level where x
    does not vary."""
    if np.ptp(x) <= 0:
        return 0.0, float(median(y))
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
    space = float(median(spaces))
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
    line_darkness = float(median(peak))
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
    for lo, hi in ((left, first), (last, right)):
        extra += _bin_knots(lo, hi, BIN_SPACES * space, enough, top, step, shift)
    return left, right, [k for k in extra if not (first <= k[0] <= last)]


def _bin_knots(lo: float, hi: float, bin_px: float, enough: np.ndarray, top: np.ndarray, step: np.ndarray,
               shift: np.ndarray) -> list[tuple[float, float, float]]:
    """One knot per bin of `bin_px` columns from lo to hi (each bin's columns lo..hi inclusive) holding three
    lined columns or more (`enough`): their mean column, median top line re-centred by the median shift of its
    lines' ink (`shift` (5, w), NaN where not read), and median staff space; all bins at once."""
    starts = np.arange(lo, hi, bin_px)
    if len(starts) == 0:
        return []
    first = starts.astype(np.int64)
    ends = np.minimum(np.minimum(hi, starts + bin_px).astype(np.int64) + 1, len(enough))
    lengths = np.maximum(ends - first, 0)
    label = np.repeat(np.arange(len(starts)), lengths)
    column = first[label] + np.arange(len(label)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ok = enough[column]
    label, column = label[ok], column[ok]
    count = np.bincount(label, minlength=len(starts))
    keep = count[label] >= 3
    label, column = label[keep], column[keep]
    if len(label) == 0:
        return []
    bins = np.unique(label)
    centre = np.bincount(label, weights=column.astype(np.float64))[bins] / count[bins]
    moved = shift[:, column]  # (5, n): the NaN of lines not read thin drop out, as nanmedian drops them
    lines_label = np.broadcast_to(label, moved.shape)[~np.isnan(moved)]
    offset = np.full(len(starts), np.nan)
    if len(lines_label):
        offset[np.unique(lines_label)] = _group_median(lines_label, moved[~np.isnan(moved)])
    tops = _group_median(label, top[column]) + offset[bins]
    return list(zip(centre.tolist(), tops.tolist(), _group_median(label, step[column]).tolist()))
