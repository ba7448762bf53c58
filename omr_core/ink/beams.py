"""Beams from the page's ink, anchored on the stems `ink.thin` finds (called from `thin.thin_symbols`).

    beams_xyxy, beam_stems, beam_score = find_beams(darkness, heads_xyxy, stems_xyxy, stem_heads, spaces, staves)

A beam is labelled as Verovio draws it, one box per polygon (read from its drawing code and measured on
engraved pages, five SMuFL fonts):
- the primary beam is one polygon from the outer edge of the group's first stem to the outer edge of its last;
  every stem of the group ends on its outer edge;
- each further beam line is one polygon per pair of neighbouring stems it joins, from stem centre to stem
  centre (the group's first and last stems: from their outer edges), BEAM_STEP further in toward the heads
  per level;
- a hook (a fractional beam) is one polygon from its stem as far as a black notehead is wide;
- every line is BEAM_THICKNESS thick (measured 0.50-0.53 space), parallel to the primary, with vertical ends.

Method (all pairs and levels at once, in numpy):
1. Candidates: each stem with the next NEIGHBOURS of its direction in x order, on its staff and on its staff
   and the one above or below together (a piano's beams cross its staves; a chord between the staves may stand
   among a group's stems); the straight line between their tips is where a primary beam's outer edge would run.
2. A pair is joined where, at SAMPLES columns between the two stems, the band a primary beam would fill is
   dark on BEAM_COVER of them (its middle rows: a quarter space, thicker than a staff line, a slur or a tie)
   and darker than the paper just outside it on EDGE_SHARE (a shadow or a badly lit block reads dark
   everywhere). A tip read short of its beam (a blurred photo) or past it (a stem run on into a tuplet's
   number) is moved, at one end of the pair, the least that joins it (out first), up to RETIP_SPACES. Each stem
   keeps the nearest it joins on either side; a stem between a joined pair that crosses their beam is one of
   their group (its tip read past the beam, further than that).
3. Chains of joined pairs are groups, each with its primary beam, its edges measured from its ink: across the
   band at every column read, the run darker than half its darkest pixel, summed (its thickness, as
   anti-aliased coverage) and weighted (its middle); a straight line fitted through the middles.
4. A group's pair is joined at level k >= 1 where it is at level k - 1 and the band k * BEAM_STEP in reads as
   in step 2 (against the gap to the level below): a further beam line.
5. A hook: a group's stem joined at level k on neither side, with a beam line at level k - 1 on one side, has a
   hook there when the band at level k beside it reads as in step 2.
On a turned photo each box is the turned extent of the beam's box on the page before it turned, as the
generator's scan noise moves labels (`_boxes`). Measured: bench/beam_bench.py, README.
"""

from __future__ import annotations

import numpy as np

BEAM_THICKNESS = 0.5  # staff spaces (SMuFL's engraving default, which Verovio draws in all five fonts)
BEAM_STEP = 0.75  # staff spaces from one beam line's outer edge to the next one's: thickness + the gap
GAP = BEAM_STEP - BEAM_THICKNESS
BEAM_COVER = 0.9  # share of the columns read between two stems that are dark at a beam's level
EDGE_SHARE = 0.5  # ... and that stand out against the light beside it (a tuplet's number may lie on a beam)
MAX_LEVELS = 6  # beam lines at most (128th notes: five)
SAMPLES = 12  # columns read between two stems
HOOK_SAMPLES = 6  # ... beside a stem, for a hook
NEIGHBOURS = 3  # stems to the right of each that it may be joined to (the nearest it joins)
RETIP_SPACES, RETIP_STEPS = 1.5, 15  # a tip read off its beam is looked for this far (staff spaces), in steps
STEM_HALF = 0.06  # staff spaces: half a stem's width at most (engraved: 0.05)
CUE_HEAD = 0.85  # a notehead less tall than this (staff spaces) is a cue or grace note's, its staff space smaller


def find_beams(darkness: np.ndarray, heads_xyxy: np.ndarray, stems_xyxy: np.ndarray, stem_heads: np.ndarray,
               head_spaces: np.ndarray, head_staves: np.ndarray, staves: list = (), dark: float = 0.5):
    """Beams joining the stems `ink.thin` found. darkness: (h, w) float in 0..1; heads_xyxy: (n, 4) px;
    stems_xyxy: (m, 4) px; stem_heads: (m,) int, the head each stem was found from; head_spaces: (n,) the staff
    space at each head (px); head_staves: (n,) int, each head's staff (-1: none): stems join on one staff or two
    neighbouring ones; staves: the page's (`staff.lines.Staff`), whose slope at a beam says how a photo turned
    it there (its label is a turned box, see `_boxes`); dark: how dark a pixel of ink is at least (`thin` lowers
    it on a faint photo).

    Returns beams_xyxy (b, 4) px, beam_stems (b,) int, the index of one of each beam's stems, and beam_score (b,),
    the share of the columns read that were dark (a primary: the least over its pairs)."""
    stems_xyxy = np.asarray(stems_xyxy, dtype=np.float64).reshape(-1, 4)
    stem_heads = np.asarray(stem_heads, dtype=np.int64)
    empty = np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0)
    if len(stems_xyxy) < 2:
        return empty
    heads = np.asarray(heads_xyxy, dtype=np.float64).reshape(-1, 4)[stem_heads]
    spaces = np.asarray(head_spaces, dtype=np.float64)[stem_heads]
    ratio = (heads[:, 3] - heads[:, 1]) / spaces  # fonts' normal heads: 1.0-1.3 spaces tall; cue heads 0.6-0.75
    space_px = spaces * np.where(ratio < CUE_HEAD, np.clip(ratio / 1.03, 0.6, 1.0), 1.0)
    up = (stems_xyxy[:, 1] + stems_xyxy[:, 3]) / 2 < (heads[:, 1] + heads[:, 3]) / 2
    centre = (stems_xyxy[:, 0] + stems_xyxy[:, 2]) / 2
    staff_of = np.asarray(head_staves, dtype=np.int64)[stem_heads]
    order = np.lexsort((centre, up))
    st, so, xc, upo, staff = stems_xyxy[order], space_px[order], centre[order], up[order], staff_of[order]
    head_w = (heads[:, 2] - heads[:, 0])[order]
    tip = np.where(upo, st[:, 1], st[:, 3])
    inward = np.where(upo, 1.0, -1.0)  # from the tip toward the head
    n = len(st)

    # 1. each stem with the next NEIGHBOURS of its direction on its staff, and on its staff and the one above or
    # below together (a beam across the two staves of a piano), far enough apart, their line no steeper than
    # 45 degrees
    pairs = []
    for key in (staff, (staff + 1) // 2, staff // 2):
        line = np.lexsort((xc, upo, key))
        same = np.column_stack([key[line], upo[line]])
        for k in range(1, NEIGHBOURS + 1):
            joint = (same[k:] == same[:-k]).all(axis=1)
            pairs.append(np.column_stack([line[:-k], line[k:]])[joint])
    code = np.unique(np.concatenate([p[:, 0] * n + p[:, 1] for p in pairs]))
    a, b = code // n, code % n
    s = (so[a] + so[b]) / 2
    dx = xc[b] - xc[a]
    ok = (dx > 0.9 * s) & (np.abs(tip[b] - tip[a]) < dx)
    a, b, s = a[ok], b[ok], s[ok]
    if len(a) == 0:
        return empty
    xa, xb, ya, yb, d = xc[a], xc[b], tip[a], tip[b], inward[a]

    # 2. joined at the primary's level; tips read off the beam moved where a beam's band crosses between them
    joined0 = _joins(*_cover(darkness, xa, ya, xb, yb, d, s, 1, dark))[:, 0]
    retry = np.flatnonzero(~joined0)
    retry = retry[_band_between(darkness, xa[retry], ya[retry], xb[retry], yb[retry], d[retry], s[retry], dark)]
    if len(retry):
        steps = np.arange(1, RETIP_STEPS + 1) * RETIP_SPACES / RETIP_STEPS  # staff spaces
        r = np.repeat(retry, len(steps))
        # the least step that joins, of the four ways; out (a tip short of its beam) before in: moved in, the line
        # from a tip short of the primary can meet the beam line below it
        best = np.full(len(retry), 2 * len(steps))
        move_a, move_b = np.zeros(len(retry)), np.zeros(len(retry))
        for sign in (-1.0, 1.0):
            for at_a in (True, False):
                moves = (sign * d[retry] * s[retry])[:, None] * steps[None]  # (retry, steps) px
                ya_try = (ya[retry, None] + moves).ravel() if at_a else ya[r]
                yb_try = yb[r] if at_a else (yb[retry, None] + moves).ravel()
                hits = _joins(*_cover(darkness, xa[r], ya_try, xb[r], yb_try, d[r], s[r], 1, dark))[:, 0]
                at = _first_run_middle(hits.reshape(len(retry), -1))
                rank = at + (len(steps) if sign > 0 else 0)
                better = (at < len(steps)) & (rank < best)
                best[better] = rank[better]
                move = moves[np.arange(len(retry)), np.minimum(at, len(steps) - 1)]
                (move_a if at_a else move_b)[better] = move[better]
                (move_b if at_a else move_a)[better] = 0.0
        found = best < 2 * len(steps)
        ya[retry[found]] += move_a[found]
        yb[retry[found]] += move_b[found]
        joined0[retry[found]] = True
    on = _nearest(a, b, np.flatnonzero(joined0))
    if len(on) == 0:
        return empty
    a, b, s, xa, xb, ya, yb, d = a[on], b[on], s[on], xa[on], xb[on], ya[on], yb[on], d[on]
    # a stem between a joined pair's that crosses their beam is one of its group (its tip read past the beam,
    # into a tuplet's number): the pair is split at it, its tip on the beam's line
    middle = ya[:, None] + (yb - ya)[:, None] * (xc[None] - xa[:, None]) / (xb - xa)[:, None] \
        + (d * s * BEAM_THICKNESS / 2)[:, None]  # (pairs, stems) the band's middle at each stem
    inside = (upo[None] == (d > 0)[:, None]) & (xc[None] > xa[:, None] + 0.5 * s[:, None]) \
        & (xc[None] < xb[:, None] - 0.5 * s[:, None]) & (st[None, :, 1] <= middle) & (st[None, :, 3] >= middle)
    if inside.any():
        split = inside.any(axis=1)
        parts = [np.column_stack([a[~split], b[~split], ya[~split], yb[~split]])]
        for p in np.flatnonzero(split):
            through = np.flatnonzero(inside[p])  # in x order (stems of a direction are)
            ends = np.r_[a[p], through, b[p]]
            tips = np.r_[ya[p], middle[p, through] - d[p] * s[p] * BEAM_THICKNESS / 2, yb[p]]
            parts.append(np.column_stack([ends[:-1], ends[1:], tips[:-1], tips[1:]]))
        a, b, ya, yb = np.concatenate(parts).T
        a, b = a.astype(np.int64), b.astype(np.int64)
        on = _nearest(a, b, np.arange(len(a)))
        a, b, ya, yb = a[on], b[on], ya[on], yb[on]
        s, xa, xb, d = (so[a] + so[b]) / 2, xc[a], xc[b], inward[a]
    cover, edged = _cover(darkness, xa, ya, xb, yb, d, s, MAX_LEVELS, dark)
    joined = np.logical_and.accumulate(_joins(cover, edged), axis=1)  # (pairs, levels)
    joined[:, 0] = True

    # 3. groups: chains of joined pairs
    from omr_core.structures.graph import components

    label = components(n, a, b)
    _, run = np.unique(label[a], return_inverse=True)  # (pairs,) each pair's group
    groups = int(run.max()) + 1
    left_pair, right_pair = np.full(n, -1), np.full(n, -1)  # the group's pair on each side of a stem
    right_pair[a], left_pair[b] = np.arange(len(a)), np.arange(len(a))
    first, last = a[left_pair[a] < 0], b[right_pair[b] < 0]
    first, last = first[np.argsort(run[right_pair[first]])], last[np.argsort(run[left_pair[last]])]
    group = np.full(n, -1)
    group[a], group[b] = run, run
    g_space = so[first]
    # the primary's edges from its ink; where too few columns read as a beam, the line through its tips
    xs, middle, width = _measure(darkness, xa, ya, xb, yb, d, s)
    col_group = np.repeat(run, SAMPLES)
    x, y, w = xs.ravel(), middle.ravel(), width.ravel()
    good = np.isfinite(y)
    slope, at0 = _group_fit(col_group, x, np.where(good, y, 0.0), good, groups)
    # a staff line or a number on the beam moves a few columns: those a tenth of a space off the fit are left out
    good &= np.abs(y - (at0[col_group] + slope[col_group] * x)) < 0.1 * g_space[col_group]
    slope, at0 = _group_fit(col_group, x, np.where(good, y, 0.0), good, groups)
    measured = np.bincount(col_group, good, groups) >= SAMPLES // 2
    thick = np.where(measured, _group_median(col_group, w, good, groups), BEAM_THICKNESS * g_space)
    at0 = at0 - np.where(upo[first], 1.0, -1.0) * thick / 2  # from the middle to the outer edge
    tips_slope, tips_at0 = _group_fit(np.r_[run, run], np.r_[xa, xb], np.r_[ya, yb], np.ones(2 * len(a), bool),
                                      groups)
    slope, at0 = np.where(measured, slope, tips_slope), np.where(measured, at0, tips_at0)
    g_in = np.where(upo[first], 1.0, -1.0)
    # the page's turn at each group: its staff's slope (a photo's keystone turns each staff its own way; a line
    # fitted through the staff's knots, which a chord or a beam on the lines moves one by one)
    slopes = np.array([np.polyfit(k.knots_x, k.knots_top, 1)[0] if len(k.knots_x) > 1 else 0.0 for k in staves])
    mine = (staff[first] >= 0) & (staff[first] < len(slopes))
    tilt = np.where(mine, slopes[np.where(mine, staff[first], 0)] if len(slopes) else 0.0, 0.0)
    # a stem's outer edge: half a stem from its centre (a box widened for a turned page's slant is wider)
    half = np.minimum((st[:, 2] - st[:, 0]) / 2, STEM_HALF * so)
    anchor = xc.copy()
    anchor[first], anchor[last] = xc[first] - half[first], xc[last] + half[last]
    boxes = [_boxes(anchor[first], anchor[last], slope, at0, g_in, 0, g_space, thick, tilt)]
    owners = [first]
    low = np.ones(groups)
    np.minimum.at(low, run, cover[:, 0])
    scores = [low]

    # 4. further beam lines, from stem to stem: the centre of an inner stem, the outer edge of a first or last
    p, k = np.nonzero(joined[:, 1:])
    k = k + 1
    g = run[p]
    boxes.append(_boxes(anchor[a[p]], anchor[b[p]], slope[g], at0[g], g_in[g], k, g_space[g], thick[g], tilt[g]))
    owners.append(a[p])
    scores.append(cover[p, k])

    # 5. hooks, level by level: a side of a stem holding a beam line at level k - 1 (joined or a hook) may hold
    # one at level k
    sides = np.stack([left_pair, right_pair], axis=1)  # (n, 2)
    has_side = sides >= 0
    hooked = np.zeros((n, 2), dtype=bool)  # at the level below
    for k in range(1, MAX_LEVELS):
        through = has_side & joined[np.maximum(sides, 0), k]
        below = has_side & (joined[np.maximum(sides, 0), k - 1] | hooked)
        stem, side = np.nonzero(below & ~through.any(axis=1, keepdims=True))
        if len(stem) == 0:
            break
        g = group[stem]
        sk = so[stem]
        sign = np.where(side == 1, 1.0, -1.0)
        pair = sides[stem, side]
        neighbour = np.where(side == 1, b[pair], a[pair])
        reach = np.minimum(head_w[stem], np.abs(xc[neighbour] - xc[stem]) - 0.3 * sk)
        u = np.linspace(0.0, 1.0, HOOK_SAMPLES)[None]
        hx = xc[stem][:, None] + sign[:, None] * (0.25 * sk[:, None] + u * (reach - 0.45 * sk)[:, None])
        outer = at0[g][:, None] + slope[g][:, None] * hx
        step = (g_in[g] * sk)[:, None]
        band = _band(darkness, hx, outer + step * (k * BEAM_STEP + BEAM_THICKNESS / 2), sk[:, None])
        light = _gap(darkness, hx, outer + step * (k * BEAM_STEP - GAP / 2), sk[:, None])
        in_band = (band > dark).mean(axis=1)
        edge = ((band > dark) & (band - light > dark / 2)).mean(axis=1)
        found = np.flatnonzero(_joins(in_band, edge) & (reach > 0.5 * sk))
        # one hook a stem at a level: where both sides read as one, the darker
        found = found[np.lexsort((-in_band[found], stem[found]))]
        found = found[np.r_[True, stem[found][1:] != stem[found][:-1]]] if len(found) else found
        hooked = np.zeros((n, 2), dtype=bool)
        hooked[stem[found], side[found]] = True
        j, right = stem[found], side[found] == 1
        x0 = np.where(right, anchor[j], anchor[j] - head_w[j])
        gj = group[j]
        boxes.append(_boxes(x0, x0 + head_w[j], slope[gj], at0[gj], g_in[gj], k, g_space[gj], thick[gj], tilt[gj]))
        owners.append(j)
        scores.append(in_band[found])
    return np.concatenate(boxes), order[np.concatenate(owners)], np.concatenate(scores).astype(np.float64)


def _nearest(a: np.ndarray, b: np.ndarray, joined: np.ndarray) -> np.ndarray:
    """Of the `joined` pairs (indices into (k,) stem indices a < b, stems in x order), each stem's to the nearest
    it joins on its right, and of those each stem's to the nearest on its left: every stem joins at most one on
    each side (a group is a chain). Returns the kept pairs' indices, sorted."""
    on = joined[np.lexsort((b[joined], a[joined]))]
    on = on[np.r_[True, a[on][1:] != a[on][:-1]]] if len(on) else on
    on = on[np.lexsort((-a[on], b[on]))]
    on = on[np.r_[True, b[on][1:] != b[on][:-1]]] if len(on) else on
    return np.sort(on)


def _cover(darkness, xa, ya, xb, yb, inward, s, levels: int, dark: float) -> tuple[np.ndarray, np.ndarray]:
    """At each beam level between two stems (their centres xa, xb and tips ya, yb, all (pairs,) px), the share
    of the columns read whose band is dark (`_band`), and the share where it is also darker, by half of `dark`,
    than the light it should stand against (`_gap`: the gap to the level below, the paper outside the
    primary). inward: (pairs,) +1 where the heads lie below the tips, -1 above; s: (pairs,) the staff space.
    Returns two (pairs, levels) arrays."""
    xs, outer = _columns(xa, ya, xb, yb, s)
    k = np.arange(levels)[None, :, None]
    step = (inward * s)[:, None, None]
    middle = outer[:, None, :] + step * (k * BEAM_STEP + BEAM_THICKNESS / 2)
    gap = outer[:, None, :] + step * (k * BEAM_STEP - GAP / 2)
    xs = np.broadcast_to(xs[:, None, :], middle.shape)
    band = _band(darkness, xs, middle, s[:, None, None])
    is_dark = band > dark
    return is_dark.mean(axis=2), (is_dark & (band - _gap(darkness, xs, gap, s[:, None, None]) > dark / 2)).mean(axis=2)


def _columns(xa, ya, xb, yb, s) -> tuple[np.ndarray, np.ndarray]:
    """(pairs, SAMPLES) the columns read between two stems, clear of them, and the tips' line at each (px)."""
    t = np.linspace(0.0, 1.0, SAMPLES)[None]
    x_lo, x_hi = xa + 0.3 * s, xb - 0.3 * s
    xs = x_lo[:, None] + t * (x_hi - x_lo)[:, None]
    return xs, ya[:, None] + ((yb - ya) / (xb - xa))[:, None] * (xs - xa[:, None])


def _joins(cover: np.ndarray, edged: np.ndarray) -> np.ndarray:
    """Where a beam line joins two stems (or reaches out from one), from `_cover`'s two shares."""
    return (cover >= BEAM_COVER) & (edged >= EDGE_SHARE)


def _band_between(darkness, xa, ya, xb, yb, inward, s, dark: float) -> np.ndarray:
    """(pairs,) whether, at a quarter, half and three quarters of the way between two stems, a band as dark as
    a beam's middle (three reads an eighth of a space apart) lies within RETIP_SPACES of their tips' line."""
    t = np.array([0.25, 0.5, 0.75])[None]
    xs = xa[:, None] + t * (xb - xa)[:, None]  # (pairs, 3)
    outer = ya[:, None] + t * (yb - ya)[:, None]
    offsets = np.arange(-RETIP_SPACES, RETIP_SPACES + BEAM_THICKNESS + 1e-9, 0.125)[None, None]
    middle = outer[..., None] + (inward * s)[:, None, None] * offsets
    dark_at = _read(darkness, np.broadcast_to(xs[..., None], middle.shape), middle) > dark  # (pairs, 3, offsets)
    return (dark_at[..., :-2] & dark_at[..., 1:-1] & dark_at[..., 2:]).any(axis=2).all(axis=1)


def _first_run_middle(hits: np.ndarray) -> np.ndarray:
    """(r,) per row of (r, d) bool `hits`, the middle of its first run of True (the step that centres the band on
    the beam), or d where there is none."""
    d = hits.shape[1]
    start = np.where(hits.any(axis=1), hits.argmax(axis=1), d)
    after = (np.arange(d)[None] >= start[:, None]) & ~hits
    end = np.where(after.any(axis=1), after.argmax(axis=1), d)  # the first miss after the run
    return np.where(start < d, (start + end - 1) // 2, d)


def _measure(darkness, xa, ya, xb, yb, inward, s):
    """A primary beam's middle and thickness from its ink, at the columns `_cover` reads between two stems:
    across the band, the run darker than half its darkest pixel that holds the expected middle, with the
    anti-aliased pixel at each end, summed (its thickness, as coverage) and weighted (its middle), sub-pixel.
    Returns xs, middle, thickness: (pairs, samples) px, middle NaN where the run is not a beam's."""
    height, width = darkness.shape
    xs, outer = _columns(xa, ya, xb, yb, s)
    expected = outer + (inward * s * BEAM_THICKNESS / 2)[:, None]
    reach = (s * (BEAM_THICKNESS / 2 + 0.35))[:, None]  # the band and a third of a space beyond (a tip a bit off)
    top = np.floor(expected - reach).astype(np.int64)
    rows = top[..., None] + np.arange(int(np.ceil(2 * reach.max())) + 2)  # (pairs, samples, r)
    inside = rows <= (expected + reach)[..., None]
    v = np.where(inside, darkness[np.clip(rows, 0, height - 1),
                                  np.clip(np.floor(xs).astype(np.int64), 0, width - 1)[..., None]], 0.0)
    m = np.clip(np.floor(expected).astype(np.int64) - top, 0, rows.shape[2] - 1)[..., None]
    peak = v.max(axis=2, keepdims=True)
    low = v <= peak / 2
    index = np.arange(rows.shape[2])
    before = np.where(low & (index < m), index, -1).max(axis=2, keepdims=True)
    after = np.where(low & (index > m), index, rows.shape[2]).min(axis=2, keepdims=True)
    weight = np.where((index >= before) & (index <= after), v, 0.0)
    total = weight.sum(axis=2)
    middle = (weight * (rows + 0.5)).sum(axis=2) / np.maximum(total, 1e-9)
    thickness = total / np.maximum(peak[..., 0], 1e-9)
    is_beam = ~np.take_along_axis(low, m, axis=2)[..., 0] & (before[..., 0] >= 0) & (after[..., 0] < rows.shape[2]) \
        & (np.abs(thickness / (BEAM_THICKNESS * s[:, None]) - 1) < 0.25)
    return xs, np.where(is_beam, middle, np.nan), thickness


def _group_fit(label: np.ndarray, x: np.ndarray, y: np.ndarray, use: np.ndarray, groups: int):
    """Per group, the least-squares line y = at0 + slope * x through its points where `use` (all (k,) arrays;
    label: each point's group). Returns slope, at0: (groups,); a group with fewer than two points: 0, 0."""
    w = use.astype(np.float64)
    sw, sx, sy = (np.bincount(label, v, groups) for v in (w, w * x, w * y))
    mx, my = sx / np.maximum(sw, 1), sy / np.maximum(sw, 1)
    dxp = x - mx[label]
    sxx = np.bincount(label, w * dxp * dxp, groups)
    sxy = np.bincount(label, w * dxp * (y - my[label]), groups)
    slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1), 0.0)
    return slope, my - slope * mx


def _group_median(label: np.ndarray, values: np.ndarray, use: np.ndarray, groups: int) -> np.ndarray:
    """(groups,) the (lower) median of `values` where `use`, per group; NaN for a group with none."""
    keep = np.flatnonzero(use)
    by = keep[np.lexsort((values[keep], label[keep]))]
    counts = np.bincount(label[by], minlength=groups)
    starts = np.cumsum(counts) - counts
    out = np.full(groups, np.nan)
    has = counts > 0
    out[has] = values[by[starts[has] + (counts[has] - 1) // 2]]
    return out


def _read(darkness: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The darkness of the pixels holding points (x, y) (px, any shape; outside the page: its edge)."""
    height, width = darkness.shape
    rows = np.minimum(np.maximum(y, 0), height - 1).astype(np.intp)  # (non-negative: truncation is floor)
    cols = np.minimum(np.maximum(x, 0), width - 1).astype(np.intp)
    return darkness[rows, cols]  # (page_darkness gives a view of a padded array: ravel() would copy the page)


def _band(darkness: np.ndarray, x: np.ndarray, middle: np.ndarray, s: np.ndarray) -> np.ndarray:
    """How dark a beam's band is at columns x around rows `middle`: the least of its middle row and the rows an
    eighth of a space to each side (a quarter space together: thicker than a staff line, a slur or a tie, and a
    beam line holds them with an eighth of a space to spare, for a tip read a pixel or two off)."""
    return np.minimum.reduce([_read(darkness, x, middle + d * s / 8) for d in (-1, 0, 1)])


def _gap(darkness: np.ndarray, x: np.ndarray, middle: np.ndarray, s: np.ndarray) -> np.ndarray:
    """How dark the gap beside a beam line is around rows `middle`: the lesser of two rows 0.16 space apart (a
    staff line in the gap darkens one of them; a notehead or a blob both)."""
    return np.minimum(_read(darkness, x, middle - 0.08 * s), _read(darkness, x, middle + 0.08 * s))


def _boxes(x0, x1, slope, at0, inward, level, s, thickness, tilt=0.0) -> np.ndarray:
    """(k, 4) the boxes of beam lines at `level` from x0 to x1 (px) in from their outer lines y = at0 + slope * x,
    toward +y (inward 1) or -y (-1); s: the staff space, thickness: the beam's (px); all (k,) or scalars.
    On a page turned by `tilt` there (its staff lines' slope) a label is the turned extent of the beam's box on the
    page before it turned (as `datasets.scan_noise` moves boxes), so the box is found that way: the beam's
    corners turned back, their extent, its corners turned again, their extent."""
    x0, x1 = np.broadcast_arrays(np.asarray(x0, dtype=np.float64), np.asarray(x1, dtype=np.float64))
    outer = np.stack([at0 + slope * x0, at0 + slope * x1], axis=1) + np.reshape(inward * level * BEAM_STEP * s, (-1, 1))
    inner = outer + np.reshape(inward * thickness, (-1, 1))
    xs = np.stack([x0, x1, x1, x0], axis=1)
    ys = np.concatenate([outer, inner[:, ::-1]], axis=1)  # (k, 4) corners
    if np.any(tilt):
        turn = np.reshape(np.arctan(tilt), (-1, 1))
        cos, sin = np.cos(turn), np.sin(turn)
        cx, cy = xs.mean(axis=1, keepdims=True), ys.mean(axis=1, keepdims=True)
        u, v = (xs - cx) * cos + (ys - cy) * sin, (ys - cy) * cos - (xs - cx) * sin  # turned back, level
        u = np.stack([u.min(axis=1), u.max(axis=1), u.max(axis=1), u.min(axis=1)], axis=1)
        v = np.stack([v.min(axis=1), v.min(axis=1), v.max(axis=1), v.max(axis=1)], axis=1)
        xs, ys = cx + u * cos - v * sin, cy + v * cos + u * sin
    return np.column_stack([xs.min(axis=1), ys.min(axis=1), xs.max(axis=1), ys.max(axis=1)]).reshape(-1, 4)
