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
    contrast = float(np.median([s.line_darkness for s in staves])) if staves else CLEAN_LINES
    dark = DARK * float(np.clip(contrast / CLEAN_LINES, 0.4, 1.0))
    spaces = _head_spaces(heads_xyxy, staves, space_px)
    # the page's turn: the median slope of its staff lines
    tilt = float(np.median([np.polyfit(s.knots_x, s.knots_top, 1)[0] if len(s.knots_x) > 1 else 0.0
                            for s in staves])) if staves else 0.0
    stems, stem_heads, scores = _stems(darkness, heads_xyxy, spaces, dark, tilt)
    ledgers, ledger_heads = _ledgers(darkness, heads_xyxy, staves, dark, tilt)
    staff_boxes = np.array([s.xyxy for s in staves], dtype=np.float64).reshape(-1, 4)
    beams, beam_stems, beam_score = find_beams(darkness, heads_xyxy, stems, stem_heads, spaces,
                                               _head_staves(heads_xyxy, staves), staves, dark)
    return ThinSymbols(stems, stem_heads, scores, ledgers, ledger_heads, staff_boxes, beams,
                       stem_heads[beam_stems], beam_score)


def _head_staves(heads: np.ndarray, staves: list[Staff]) -> np.ndarray:
    """(n,) index of each head's staff (the one whose middle line is nearest at the head), -1 without staves."""
    if not staves or len(heads) == 0:
        return np.full(len(heads), -1, dtype=np.int64)
    cx, cy = (heads[:, 0] + heads[:, 2]) / 2, (heads[:, 1] + heads[:, 3]) / 2
    middle = np.stack([s.line_y(np.clip(cx, s.x0, s.x1))[2] for s in staves])  # (staves, heads)
    return np.argmin(np.abs(middle - cy[None]), axis=0)


def _head_spaces(heads: np.ndarray, staves: list[Staff], space_px: float | None) -> np.ndarray:
    """(n,) the staff space at each head: its nearest staff's, else `space_px`, else the head's height."""
    out = np.full(len(heads), float(space_px)) if space_px else (heads[:, 3] - heads[:, 1]).astype(np.float64)
    owner = _head_staves(heads, staves)
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
        for i in np.flatnonzero(best_col >= 0):
            stem = _stem_at(darkness, int(best_col[i]), heads[i], float(s[i]), up, dark, tilt)
            if stem is not None:
                found.append(stem)
                origin.append(i)
                scores.append(best_cover[i])
                usual.append(best_first[i])
    stems = np.array(found, dtype=np.float64).reshape(-1, 4)
    return _merge_chords(stems, np.array(origin, dtype=np.int64), np.array(scores), np.array(usual, dtype=bool))


def _stem_at(darkness: np.ndarray, column: int, head: np.ndarray, s: float, up: bool, dark: float = DARK,
             tilt: float = 0.0):
    """The stem through `column` beside a head: its tip where its ink ends, its end at the head as engraved
    (STEM_ATTACH past the head's centre), its edges from its ink (`_stem_edges`); None where it is too short
    to be a stem or too wide."""
    height, width = darkness.shape
    x0, y0, x1, y1 = head
    cy = (y0 + y1) / 2
    # the stem's column, from the head to at most 12 spaces past it (the longest beamed stems are ~8)
    lo, hi = (max(0, int(y0 - 12 * s)), int(np.ceil(y1)) + 1) if up else (int(y0), min(height, int(y1 + 12 * s)))
    line = darkness[lo:hi, max(0, column - 1):min(width, column + 2)].max(axis=1)
    tip = lo + _run_end(line, (int(y0 - 0.3 * s) if up else int(y1 + 0.3 * s)) - lo, -1 if up else 1, dark)
    attach = cy - STEM_ATTACH * s if up else cy + STEM_ATTACH * s
    if abs(tip - attach) < STEM_MIN * s + 0.5 * (y1 - y0):
        return None
    top, bottom = min(tip, attach), max(tip, attach)
    edges = _stem_edges(darkness, column + 0.5, top, bottom, s, tilt)
    if edges is None:
        return None
    return (edges[0], top, edges[1], bottom)


def _stem_edges(darkness: np.ndarray, centre: float, top: float, bottom: float, s: float, tilt: float = 0.0):
    """The stem's left and right edge, on the rows where it stands alone (both flanks, a quarter space out,
    light: beside a chord's heads or a staff line they would count other ink): the summed darkness across it is
    its width and its weighted mean its centre, both sub-pixel. On a page turned by `tilt` (the staff lines'
    slope) the stem, square to them, slants: the box widens to all its ink. None where it is wider than a
    stem (a barline pair, a clef, a beam's end); where too few rows stand alone, the median row of it all."""
    height, width = darkness.shape
    rows = np.arange(max(0, int(np.ceil(top))), min(height, int(np.floor(bottom))))
    reach = max(2, int(np.ceil(0.25 * s)) + 1)
    c = int(np.floor(centre))
    if len(rows) == 0 or c - reach < 0 or c + reach >= width:
        return None
    alone = rows[(darkness[rows, c - reach] < 0.3) & (darkness[rows, c + reach] < 0.3)]
    use = alone if len(alone) >= 3 else rows
    cols = np.arange(c - reach + 1, c + reach)
    def reading(part):
        profile = np.median(darkness[np.ix_(part, cols)], axis=0)
        total = float(profile.sum())
        return (float((profile * (cols + 0.5)).sum() / total), total) if 0 < total <= 0.3 * s else None

    whole = reading(use)
    if whole is None:
        return None
    centre, stem_w = whole
    slant = abs(tilt) * (bottom - top) / 2  # a stem stands square to its staff lines: on a turned page it slants
    return centre - stem_w / 2 - slant, centre + stem_w / 2 + slant


def _run_end(column: np.ndarray, start: int, step: int, dark: float = DARK) -> float:
    """Where a dark run down (`step` 1) or up (-1) `column` from `start` ends, sub-pixel: the edge of the last
    dark pixel plus the darkness of the next (anti-aliased ends)."""
    n = len(column)
    row = int(np.clip(start, 0, n - 1))
    ahead = column[row + 1:] if step > 0 else column[:row][::-1]
    light = np.flatnonzero(ahead <= dark)
    run = int(light[0]) if len(light) else len(ahead)
    row += step * run
    beyond = row + step
    partial = float(column[beyond]) if 0 <= beyond < n else 0.0
    return float(row + (1 + partial if step > 0 else -partial))


def _merge_chords(stems: np.ndarray, origin: np.ndarray, scores: np.ndarray, usual: np.ndarray):
    """Stems of one chord, found from each of its heads, become one box: its edges and its end at the heads as
    the heads on the stem's usual side read them (a head set beside the stem in a second ends no stem).
    `usual`: (n,) whether each was found on its head's usual side."""
    if len(stems) < 2:
        return stems, origin, scores
    from omr_core.structures.graph import components

    ov_x = np.minimum(stems[:, None, 2], stems[None, :, 2]) - np.maximum(stems[:, None, 0], stems[None, :, 0])
    ov_y = np.minimum(stems[:, None, 3], stems[None, :, 3]) - np.maximum(stems[:, None, 1], stems[None, :, 1])
    widths = stems[:, 2] - stems[:, 0]
    same = (ov_x > 0.5 * np.minimum(widths[:, None], widths[None, :])) & (ov_y > 0)
    first, second = np.nonzero(np.triu(same, 1))
    label = components(len(stems), first, second)
    merged, heads, best = [], [], []
    for k in np.unique(label):
        members = np.flatnonzero(label == k)
        sure = members[usual[members]] if usual[members].any() else members
        merged.append([np.median(stems[sure, 0]), stems[sure, 1].min(), np.median(stems[sure, 2]), stems[sure, 3].max()])
        heads.append(sure[np.argmax(stems[sure, 3] - stems[sure, 1])])
        best.append(scores[members].max())
    return np.array(merged, dtype=np.float64), origin[np.array(heads)], np.array(best)


def _ledgers(darkness: np.ndarray, heads: np.ndarray, staves: list[Staff], dark: float = DARK, tilt: float = 0.0):
    height, width = darkness.shape
    found, origin = [], []
    owner = _head_staves(heads, staves)
    for i, (x0, y0, x1, y1) in enumerate(heads):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if owner[i] < 0:
            continue
        staff = staves[owner[i]]
        lines = staff.line_y(float(np.clip(cx, staff.x0, staff.x1)))
        s = float(staff.space_at(cx))
        above = (lines[0] - cy) / s
        below = (cy - lines[4]) / s
        offsets = []
        if above > 0.5 - 0.25:  # above the top line by a step or more
            offsets = [lines[0] - k * s for k in range(1, int(np.floor(above + 0.25)) + 1)]
        elif below > 0.5 - 0.25:
            offsets = [lines[4] + k * s for k in range(1, int(np.floor(below + 0.25)) + 1)]
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
    across = np.median(darkness[np.ix_(band, sides)], axis=1)
    thickness = float(across.sum())
    centre = float((across * (band + 0.5)).sum() / max(thickness, 1e-6))
    if thickness <= 0 or thickness > 0.4 * s:
        return None
    slant = abs(tilt) * (x_end - x_start) / 2  # on a turned page the line slants with the staff
    return (x_start, centre - thickness / 2 - slant, x_end, centre + thickness / 2 + slant)
