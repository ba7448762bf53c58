"""Thin symbols from the page's ink, anchored on what the model finds: stems, ledger lines, and `staff` boxes.

    found = thin_symbols(darkness, noteheads_xyxy, staves)      # on the image the model saw (its staff space)
    found.stems_xyxy, found.ledgers_xyxy, found.staves_xyxy        # (n, 4) DeepScores-style boxes, px
    found.beams_xyxy                                                # one per beam line, as Verovio draws them

Why: a stem is ~0.1 staff space wide (1.7 px at 17 px) and a ledger line ~0.12 tall; box regression cannot place
such edges to the half pixel IoU 0.5 asks for, while the ink has them exactly. Noteheads, which a detector finds
reliably, say where to look (as Audiveris seeds its stems and ledger search).

Stems (measured on engraved pages, all five SMuFL fonts: width 0.100 staff space; an up-stem's right edge is its
head's right edge and it ends 0.167 space above the head's centre; a down-stem mirrors it on the left):
1. For each notehead, the columns beside its right edge above it (up) and beside its left edge below it (down)
   are read over a window from 0.2 to 1.5 staff spaces past the head: a stem column is dark on at least
   STEM_COVER of those rows.
2. The stem's edges: the median darkness of each column over the window (staff lines cross only a few rows)
   summed across the stem is its width, and weighted gives its centre: sub-pixel, from anti-aliasing.
3. Its tip: the stem's columns followed away from the head while they stay dark (through other heads of a chord,
   staff lines and a beam it meets); its other end: 0.167 space past the head's centre, as engraved.
4. Stems of one chord (same columns, overlapping rows) become one: from the farthest head to the tip.
Ledger lines: a notehead more than half a space beyond the outer line of its staff has a ledger line at every
whole space between it and the staff; each is kept where a row at that height is dark beyond both sides of the
head (a ledger line is wider than its head), and measured there: its ends where the row turns light, its edges
from the darkness across it. Ledger lines of one chord at one height are one.
Staff boxes are `staff.lines.Staff.xyxy`. Beams: `ink.beams`, from the stems found here.

Everything is numpy over the darkness image of `staff.lines.page_darkness` (0..1 against the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.ink.beams import find_beams
from omr_core.staff.lines import Staff
from omr_core.structures.stats import median

STEM_WIDTH = 0.100  # staff spaces (engraved pages, five fonts)
HEAD_HEIGHT = 1.03  # a notehead's height in staff spaces (black 1.064, half and whole 1.0): cue heads are smaller
STEM_ATTACH = 0.167  # staff spaces from the head's centre to the stem's end at the head
STEM_COVER = 0.85  # share of the window's rows a stem column is dark on
STEM_MIN = 1.5  # staff spaces a stem reaches past its head at least (engraved: 1.8 and more; a letter of text less)
LEDGER_REACH = 0.15  # staff spaces a ledger line reaches past its head on each side, at least
LEDGER_MAX = 0.5  # ... and at most (engraved: 0.27)
DARK = 0.5  # a pixel at least this dark (of the ink against the paper) is ink, for thin symbols
CLEAN_LINES = 0.75  # how dark an engraved page's staff lines read (anti-aliased); a photo's read fainter


@dataclass
class ThinSymbols:
    stems_xyxy: np.ndarray  # (n, 4)
    stem_heads: np.ndarray  # (n,) index of the head each stem was found from (the farthest of its chord)
    stem_score: np.ndarray  # (n,) share of the window's rows the stem was dark on
    ledgers_xyxy: np.ndarray  # (m, 4)
    ledger_heads: np.ndarray  # (m,)
    staves_xyxy: np.ndarray  # (k, 4)
    beams_xyxy: np.ndarray  # (b, 4) one per beam line (primary, secondary, hook), as engraved (`ink.beams`)
    beam_heads: np.ndarray  # (b,) index of the head of one of its stems
    beam_score: np.ndarray  # (b,) share of the columns between its stems that were dark at its level


def thin_symbols(darkness: np.ndarray, heads_xyxy: np.ndarray, staves: list[Staff],
                 space_px: float | None = None) -> ThinSymbols:
    """Stems, ledger lines and staff boxes. darkness: (h, w) float in 0..1; heads_xyxy: (n, 4) noteheads (px);
    staves: the page's (`staff.lines.find_staves`); space_px: the staff space where no staff is near a head."""
    heads_xyxy = np.asarray(heads_xyxy, dtype=np.float64).reshape(-1, 4)
    # a blurred photo's thin strokes are as faint as its staff lines: ink is read against them
    contrast = float(median([s.line_darkness for s in staves])) if staves else CLEAN_LINES
    dark = DARK * float(np.clip(contrast / CLEAN_LINES, 0.4, 1.0))
    owner = _head_staves(heads_xyxy, staves)
    spaces = _head_spaces(heads_xyxy, staves, space_px, owner)
    # the page's turn: the median slope of its staff lines
    tilt = float(median([np.polyfit(s.knots_x, s.knots_top, 1)[0] if len(s.knots_x) > 1 else 0.0
                            for s in staves])) if staves else 0.0
    stems, stem_heads, scores = _stems(darkness, heads_xyxy, spaces, dark, tilt)
    ledgers, ledger_heads = _ledgers(darkness, heads_xyxy, staves, dark, tilt, owner)
    staff_boxes = np.array([s.xyxy for s in staves], dtype=np.float64).reshape(-1, 4)
    beams, beam_stems, beam_score = find_beams(darkness, heads_xyxy, stems, stem_heads, spaces, owner, staves, dark)
    return ThinSymbols(stems, stem_heads, scores, ledgers, ledger_heads, staff_boxes, beams,
                       stem_heads[beam_stems], beam_score)


def _head_staves(heads: np.ndarray, staves: list[Staff]) -> np.ndarray:
    """(n,) index of each head's staff (the one whose middle line is nearest at the head), -1 without staves."""
    if not staves or len(heads) == 0:
        return np.full(len(heads), -1, dtype=np.int64)
    cx, cy = (heads[:, 0] + heads[:, 2]) / 2, (heads[:, 1] + heads[:, 3]) / 2
    middle = np.stack([s.line_y(np.clip(cx, s.x0, s.x1))[2] for s in staves])  # (staves, heads)
    return np.argmin(np.abs(middle - cy[None]), axis=0)


def _head_spaces(heads: np.ndarray, staves: list[Staff], space_px: float | None, owner: np.ndarray) -> np.ndarray:
    """(n,) the staff space at each head: its nearest staff's (`owner`: `_head_staves`), else `space_px`, else
    the head's height."""
    out = np.full(len(heads), float(space_px)) if space_px else (heads[:, 3] - heads[:, 1]).astype(np.float64)
    cx = (heads[:, 0] + heads[:, 2]) / 2
    for k, staff in enumerate(staves):
        mine = owner == k
        if mine.any():
            out[mine] = staff.space_at(cx[mine])
    return out


def _stems(darkness: np.ndarray, heads: np.ndarray, spaces: np.ndarray, dark: float = DARK, tilt: float = 0.0):
    height, width = darkness.shape
    n = len(heads)
    if n == 0:
        return np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0)
    x0, y0, x1, y1 = heads.T
    cy = (y0 + y1) / 2
    s = spaces * np.clip((y1 - y0) / (HEAD_HEIGHT * spaces), 0.6, 1.1)  # a cue head is smaller
    span = int(np.ceil(0.65 * s.max())) + 2
    depth = int(np.ceil(1.3 * s.max())) + 2
    found, origin, scores, usual = [], [], [], []
    # per direction the best side: up on the right, down on the left, else the other side (a head beside its
    # stem in a second); a head of two voices in unison has a stem each way
    for up, sides in ((True, (True, False)), (False, (False, True))):
        r0 = np.clip(np.floor(y0 - 1.5 * s if up else y1 + 0.2 * s), 0, height).astype(int)
        r1 = np.clip(np.ceil(y0 - 0.2 * s if up else y1 + 1.5 * s) + 1, 0, height).astype(int)
        best_cover = np.zeros(n)
        best_col = np.full(n, -1)
        best_first = np.zeros(n, dtype=bool)
        for right in sides:
            edge = x1 if right else x0
            c0 = np.floor(edge - (0.45 if right else 0.2) * s).astype(int)
            c1 = np.ceil(edge + (0.2 if right else 0.45) * s).astype(int)
            cols = c0[:, None] + np.arange(span)[None]  # (n, span)
            valid = (cols <= c1[:, None]) & (cols >= 0) & (cols < width)
            rows = r0[:, None] + np.arange(depth)[None]  # (n, depth)
            in_rows = rows < r1[:, None]
            window = darkness[np.clip(rows, 0, height - 1)[:, :, None], np.clip(cols, 0, width - 1)[:, None, :]] > dark
            cover = np.where(valid, (window & in_rows[:, :, None]).sum(axis=1) / np.maximum(r1 - r0, 1)[:, None], 0.0)
            # of the dark columns, the one where a stem stands on this side: its edge half a stem inside the head's
            # (a chord's heads above darken the whole window; the stem is the column at the edge)
            expected = edge - (0.05 if right else -0.05) * s
            dark_enough = cover >= STEM_COVER
            k = np.argmin(np.where(dark_enough, np.abs(cols + 0.5 - expected[:, None]), np.inf), axis=1)
            value = cover[np.arange(n), k]
            ok = (value >= STEM_COVER) & ((r1 - r0) >= 3) & (value > best_cover + (0.05 if right != sides[0] else 0))
            best_cover = np.where(ok, value, best_cover)
            best_col = np.where(ok, cols[np.arange(n), k], best_col)
            best_first = np.where(ok, right == sides[0], best_first)
        seeded = np.flatnonzero(best_col >= 0)
        boxes, ok = _stems_at(darkness, best_col[seeded], heads[seeded], s[seeded], up, dark, tilt)
        found.append(boxes[ok])
        origin.append(seeded[ok])
        scores.append(best_cover[seeded[ok]])
        usual.append(best_first[seeded[ok]])
    stems = np.concatenate(found).reshape(-1, 4)
    return _merge_chords(stems, np.concatenate(origin).astype(np.int64), np.concatenate(scores),
                         np.concatenate(usual).astype(bool))


def _stems_at(darkness: np.ndarray, columns: np.ndarray, heads: np.ndarray, s: np.ndarray, up: bool,
              dark: float = DARK, tilt: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The stems through `columns` (n,) beside their heads (n, 4), all at once: each one's tip where its ink
    ends (`_tips`), its end at the head as engraved (STEM_ATTACH past the head's centre), its edges from its ink
    (`_stem_edges`). Returns the boxes (n, 4) and whether each is a stem (not too short, not too wide)."""
    if len(columns) == 0:
        return np.zeros((0, 4)), np.zeros(0, dtype=bool)
    y0, y1 = heads[:, 1], heads[:, 3]
    cy = (y0 + y1) / 2
    tips = _tips(darkness, columns, y0, y1, s, up, dark)
    attach = cy - STEM_ATTACH * s if up else cy + STEM_ATTACH * s
    top, bottom = np.minimum(tips, attach), np.maximum(tips, attach)
    left, right, wide_enough = _stem_edges(darkness, columns, top, bottom, s, tilt)
    long_enough = np.abs(tips - attach) >= STEM_MIN * s + 0.5 * (y1 - y0)
    return np.stack([left, top, right, bottom], axis=1).reshape(-1, 4), long_enough & wide_enough


def _tips(darkness: np.ndarray, columns: np.ndarray, y0: np.ndarray, y1: np.ndarray, s: np.ndarray, up: bool,
          dark: float = DARK) -> np.ndarray:
    """(n,) where each stem's ink ends, sub-pixel, followed from 0.3 space past its head away from it (at most
    12 spaces: the longest beamed stems are ~8), on the darkest of its column and the two beside it: the edge
    of the last dark pixel plus the darkness of the next (anti-aliased ends)."""
    height, width = darkness.shape
    if up:
        lo = np.maximum(0, (y0 - 12 * s).astype(np.int64))
        hi = np.minimum(height, np.ceil(y1).astype(np.int64) + 1)
        start = (y0 - 0.3 * s).astype(np.int64) - lo
    else:
        lo = y0.astype(np.int64)
        hi = np.minimum(height, (y1 + 12 * s).astype(np.int64))
        start = (y1 + 0.3 * s).astype(np.int64) - lo
    n_rows = hi - lo
    index = np.arange(int(n_rows.max(initial=0)))[None]  # (1, L)
    rows = np.clip(lo[:, None] + index, 0, height - 1)
    beside = columns[:, None] + np.arange(-1, 2)[None]  # the column and its two neighbours
    inside = (beside >= 0) & (beside < width)
    line = np.where(inside[:, None, :], darkness[rows[:, :, None], np.clip(beside, 0, width - 1)[:, None, :]],
                    0).max(axis=2)  # (n, L)
    row = np.clip(start, 0, n_rows - 1)[:, None]
    light = (line <= dark) & (index < n_rows[:, None])
    count = np.arange(len(columns))
    if up:  # the first light row above `row`: the stem's ink ends below it
        ahead = light & (index < row)
        found = ahead.any(axis=1)
        j = (index.shape[1] - 1) - np.argmax(ahead[:, ::-1], axis=1)
        tip = np.where(found, j + 1 - line[count, j], 0.0)
    else:
        ahead = light & (index > row)
        found = ahead.any(axis=1)
        j = np.argmax(ahead, axis=1)
        tip = np.where(found, j + line[count, j], n_rows.astype(np.float64))
    return lo + tip


def _stem_edges(darkness: np.ndarray, columns: np.ndarray, top: np.ndarray, bottom: np.ndarray, s: np.ndarray,
                tilt: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stem's left and right edge (n,) and whether it is one, on the rows where it stands alone (both
    flanks, a quarter space out, light: beside a chord's heads or a staff line they would count other ink): the
    summed median darkness across it is its width and its weighted mean its centre, both sub-pixel. On a page
    turned by `tilt` (the staff lines' slope) the stem, square to them, slants: the box widens to all its ink.
    Not a stem where it is wider than one (a barline pair, a clef, a beam's end) or holds no ink; where too
    few rows stand alone, the median row of it all."""
    height, width = darkness.shape
    first = np.maximum(0, np.ceil(top).astype(np.int64))
    n_rows = np.maximum(np.minimum(height, np.floor(bottom).astype(np.int64)) - first, 0)
    reach = np.maximum(2, np.ceil(0.25 * s).astype(np.int64) + 1)
    usable = (n_rows > 0) & (columns - reach >= 0) & (columns + reach < width)
    index = np.arange(int(n_rows.max(initial=0)))[None]  # (1, L)
    in_rows = index < n_rows[:, None]
    rows = np.clip(first[:, None] + index, 0, height - 1)  # (n, L)
    c_left = np.clip(columns - reach, 0, width - 1)[:, None]
    c_right = np.clip(columns + reach, 0, width - 1)[:, None]
    alone = in_rows & (darkness[rows, c_left] < 0.3) & (darkness[rows, c_right] < 0.3)
    use = np.where((alone.sum(axis=1) >= 3)[:, None], alone, in_rows)  # (n, L)
    offsets = np.arange(-int(reach.max()) + 1, int(reach.max()))  # (C,)
    cols = columns[:, None] + offsets[None]  # (n, C)
    in_cols = np.abs(offsets)[None] < reach[:, None]
    block = darkness[rows[:, None, :], np.clip(cols, 0, width - 1)[:, :, None]]  # (n, C, L)
    block = np.sort(np.where(use[:, None, :], block, np.inf), axis=2)
    count = use.sum(axis=1)
    lower = np.take_along_axis(block, np.maximum(count - 1, 0)[:, None, None] // 2, axis=2)[:, :, 0]
    upper = np.take_along_axis(block, (count // 2)[:, None, None], axis=2)[:, :, 0]  # the median of each column
    profile = np.where(in_cols & (count > 0)[:, None], (lower + upper) / 2, 0.0)
    total = profile.sum(axis=1)
    ok = usable & (total > 0) & (total <= 0.3 * s)
    centre = (profile * (cols + 0.5)).sum(axis=1) / np.where(ok, total, 1.0)
    slant = abs(tilt) * (bottom - top) / 2  # a stem stands square to its staff lines: on a turned page it slants
    return centre - total / 2 - slant, centre + total / 2 + slant, ok


def _merge_chords(stems: np.ndarray, origin: np.ndarray, scores: np.ndarray, usual: np.ndarray):
    """Stems of one chord, found from each of its heads, become one box: its edges and its end at the heads as
    the heads on the stem's usual side read them (a head set beside the stem in a second ends no stem).
    `usual`: (n,) whether each was found on its head's usual side."""
    if len(stems) < 2:
        return stems, origin, scores
    from omr_core.structures.graph import components

    # the pairs that overlap in x: by left edge, each stem against those starting before its right edge
    n = len(stems)
    order = np.argsort(stems[:, 0], kind="stable")
    ends = np.searchsorted(stems[order, 0], stems[order, 2], side="left")
    counts = np.maximum(ends - np.arange(n) - 1, 0)
    a = np.repeat(np.arange(n), counts)
    b = a + 1 + np.arange(len(a)) - np.repeat(np.cumsum(counts) - counts, counts)
    first, second = order[a], order[b]
    ov_x = np.minimum(stems[first, 2], stems[second, 2]) - np.maximum(stems[first, 0], stems[second, 0])
    ov_y = np.minimum(stems[first, 3], stems[second, 3]) - np.maximum(stems[first, 1], stems[second, 1])
    widths = stems[:, 2] - stems[:, 0]
    same = (ov_x > 0.5 * np.minimum(widths[first], widths[second])) & (ov_y > 0)
    label = np.unique(components(n, first[same], second[same]), return_inverse=True)[1]  # 0, 1, ... in their order
    size = np.bincount(label)
    merged, heads, best = np.zeros((len(size), 4)), np.zeros(len(size), dtype=np.int64), np.zeros(len(size))
    alone = size[label] == 1  # most stems hold one head: kept as found
    merged[label[alone]], heads[label[alone]], best[label[alone]] = stems[alone], np.flatnonzero(alone), scores[alone]
    for k in np.flatnonzero(size > 1):
        members = np.flatnonzero(label == k)
        sure = members[usual[members]] if usual[members].any() else members
        merged[k] = [median(stems[sure, 0]), stems[sure, 1].min(), median(stems[sure, 2]), stems[sure, 3].max()]
        heads[k] = sure[np.argmax(stems[sure, 3] - stems[sure, 1])]
        best[k] = scores[members].max()
    return merged, origin[heads], best


def _ledgers(darkness: np.ndarray, heads: np.ndarray, staves: list[Staff], dark: float, tilt: float,
             owner: np.ndarray):
    """Ledger lines between each head and its staff (`owner`: each head's staff, `_head_staves`)."""
    found, origin = [], []
    cx, cy = (heads[:, 0] + heads[:, 2]) / 2, (heads[:, 1] + heads[:, 3]) / 2
    outer, spaces = np.full((2, len(heads)), np.nan), np.full(len(heads), np.nan)  # top and bottom line at each head
    for k, staff in enumerate(staves):
        mine = owner == k
        if mine.any():
            outer[:, mine] = staff.line_y(np.clip(cx[mine], staff.x0, staff.x1))[[0, 4]]
            spaces[mine] = staff.space_at(cx[mine])
    above, below = (outer[0] - cy) / spaces, (cy - outer[1]) / spaces
    for i in np.flatnonzero((owner >= 0) & ((above > 0.5 - 0.25) | (below > 0.5 - 0.25))):  # a step or more out
        s = float(spaces[i])
        if above[i] > 0.5 - 0.25:
            offsets = [outer[0, i] - k * s for k in range(1, int(np.floor(above[i] + 0.25)) + 1)]
        else:
            offsets = [outer[1, i] + k * s for k in range(1, int(np.floor(below[i] + 0.25)) + 1)]
        x0, x1 = heads[i, 0], heads[i, 2]
        for y in offsets:
            box = _ledger_at(darkness, y, x0, x1, s, dark, tilt)
            if box is not None:
                found.append(box)
                origin.append(i)
    ledgers = np.array(found, dtype=np.float64).reshape(-1, 4)
    origin = np.array(origin, dtype=np.int64)
    if len(ledgers) < 2:
        return ledgers, origin
    from omr_core.structures.graph import components

    ov_x = np.minimum(ledgers[:, None, 2], ledgers[None, :, 2]) - np.maximum(ledgers[:, None, 0], ledgers[None, :, 0])
    same_row = np.abs((ledgers[:, None, 1] + ledgers[:, None, 3]) - (ledgers[None, :, 1] + ledgers[None, :, 3])) < 2
    lengths = ledgers[:, 2] - ledgers[:, 0]
    shared = ov_x > 0.5 * np.minimum(lengths[:, None], lengths[None, :])  # a chord's heads: one line; a neighbour's: its own
    first, second = np.nonzero(np.triu(shared & same_row, 1))
    label = components(len(ledgers), first, second)
    keep = np.unique(label)
    merged = np.array([[ledgers[label == k, 0].min(), ledgers[label == k, 1].mean(), ledgers[label == k, 2].max(),
                        ledgers[label == k, 3].mean()] for k in keep])
    return merged, np.array([origin[label == k][0] for k in keep])


def _ledger_at(darkness: np.ndarray, y: float, x0: float, x1: float, s: float, dark: float = DARK,
               tilt: float = 0.0):
    """The ledger line near row `y` across a head at x0..x1, or None where the row is not dark past both sides."""
    height, width = darkness.shape
    rows = np.arange(max(0, int(np.floor(y - 0.3 * s))), min(height, int(np.ceil(y + 0.3 * s)) + 1))
    if len(rows) == 0:
        return None
    reach = max(1, int(round(LEDGER_REACH * s)))
    left = np.arange(max(0, int(x0) - reach), max(0, int(x0)))
    right = np.arange(min(width, int(np.ceil(x1))), min(width, int(np.ceil(x1)) + reach))
    if len(left) == 0 or len(right) == 0:
        return None
    sides = np.concatenate([left, right])
    profile = darkness[np.ix_(rows, sides)].mean(axis=1)  # the row profile beside the head
    k = int(np.argmax(profile))
    if profile[k] < dark:
        return None
    row = rows[k]
    line = darkness[max(0, row - 1):row + 2].max(axis=0)
    # its ends, at most LEDGER_MAX past the head (the next note's ledger line may be a blur away)
    start, end = int(left[0]), int(right[-1])
    first, last = max(0, int(x0 - LEDGER_MAX * s)), min(width - 1, int(np.ceil(x1 + LEDGER_MAX * s)))
    while start > first and line[start - 1] > dark:
        start -= 1
    while end < last and line[end + 1] > dark:
        end += 1
    x_start = start - float(line[start - 1]) if start > 0 else float(start)
    x_end = end + 1 + (float(line[end + 1]) if end + 1 < width else 0.0)
    # its edges: the darkness across it beside the head, as coverage
    band = np.arange(max(0, row - int(np.ceil(0.3 * s))), min(height, row + int(np.ceil(0.3 * s)) + 1))
    across = median(darkness[np.ix_(band, sides)], axis=1)
    thickness = float(across.sum())
    centre = float((across * (band + 0.5)).sum() / max(thickness, 1e-6))
    if thickness <= 0 or thickness > 0.4 * s:
        return None
    slant = abs(tilt) * (x_end - x_start) / 2  # on a turned page the line slants with the staff
    return (x_start, centre - thickness / 2 - slant, x_end, centre + thickness / 2 + slant)
