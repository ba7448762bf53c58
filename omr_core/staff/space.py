"""Staff space and staff-line thickness of a page, a system or a measure crop, from its pixels alone.

    found = estimate_staff_space(rgb)            # (h, w, 3) or (h, w) uint8
    found.staff_space_px, found.line_thickness_px, found.confidence   # None, None, 0.0 when no staff is found
    found.reason                                 # why not, when `found.found` is False

The staff space is the distance between the centres of two neighbouring staff lines (DeepScoresV2's `staff` box
is four of them tall, plus one line). Method: vertical run lengths, the classic staff-line statistic (Fujinaga;
Cardoso & Rebelo), made sub-pixel and checked for staff shape:
1. Ink: each pixel against its paper, the brightest pixel of blocks about 1/24 of the image wide (read on
   8x8 points a block), spread over the
   3x3 neighbouring blocks; ink is darker than INK_RATIOS[0] of its paper. Shadow and uneven light change the
   paper, not the ratio. When that reads no staff with confidence GOOD_ENOUGH, the other ratios are tried (a
   blurred photo's faint lines, a dark one's merged lines) and the most confident reading is kept. Where the "paper" is itself dark (a table around a photographed page), nothing is ink.
2. Every `step`-th column (about 512 columns an image) is read as vertical runs of ink.
3. A staff sample is five consecutive runs of one column that look like staff lines: their four centre-to-centre
   gaps are equal within GAP_TOLERANCE, each run is thinner than half a gap, and the runs are alike in
   thickness. Its staff space is (centre of the 5th run - centre of the 1st) / 4: sub-pixel, since a run's centre
   is (darkness-weighted over the run and a pixel either side). Noteheads, stems and beams make runs too thick or break the sequence; text seldom stacks five equal thin
   strokes at one pitch. Where most samples continue at the same pitch on both sides, the lines are ruled
   paper or a table, not staves.
4. Samples agree when within AGREE of the mode of their staff spaces (a histogram of log staff space in 2% bins).
5. Staves are long: agreeing samples go on a grid of cells two staff spaces wide and half of one high; cells
   linked to the next two cells on the right (one cell up or down: slope, curl) or to the one below form
   tracks. Only tracks at least MIN_TRACK_SPACES staff spaces long count; text and stray patterns form none.
6. The estimate is the mean of the middle half of the tracked samples (robust like a median, finer than
   the 1/8-px steps of one sample), the line thickness the median of their run lengths
   (it depends on the ink threshold more than the spacing does: a guide, not a measurement to 0.1 px). A 3x3
   grid of regions gives a median each where it holds REGION_SAMPLES samples: a photo's perspective changes
   the scale across the page, and `spread` says by how much.
Confidence (0-1) = track evidence (tracked staff length / CONFIDENT_SPACES, at most 1) x agreement (share of all
five-run samples that lie on tracks) x precision (1 - relative MAD / 0.05, at least 0; each sample against its
region's value, so that perspective is not taken for imprecision). When fewer than
MIN_SAMPLES samples lie on tracks no value is guessed: `found` is False and `reason` says why.

Cost: reading ~512 columns and a block maximum: a few tens of milliseconds for a 2000x2800 page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from omr_core.structures.graph import components

# Ink is darker than this share of its paper. 0.75 keeps the grey of a 1-px anti-aliased line; a blurred photo
# of a small score has fainter lines (tried next), a heavy one merges them (tried last).
INK_RATIOS = (0.75, 0.85, 0.6)
GOOD_ENOUGH = 0.5  # a confidence at which the next ratio is not tried
DARK_PAPER = 60  # a "paper" darker than this (0-255) is no paper: a table, a border, a black page
GAP_TOLERANCE = 0.2  # largest / smallest of the four line gaps of one sample
AGREE = 0.2  # a sample agrees with the mode within +-20% (a photo's perspective changes the scale across it)
MIN_SPACE_PX = 3.0  # below this no line is resolved
MIN_TRACK_SPACES = 8.0  # a staff is at least this long (a one-beat measure crop is longer)
CONFIDENT_SPACES = 40.0  # tracked staff length that gives full track evidence
MIN_SAMPLES = 8
REGION_SAMPLES = 20
COLUMNS = 512  # columns read per image (fewer in narrow crops: every column)


@dataclass(frozen=True)
class StaffRegion:
    xyxy: tuple[int, int, int, int]  # the region, image px
    staff_space_px: float
    samples: int


@dataclass(frozen=True)
class StaffSpaceEstimate:
    """What `estimate_staff_space` read. `staff_space_px` and `line_thickness_px` are None when no staff was found."""

    staff_space_px: float | None
    line_thickness_px: float | None
    confidence: float  # 0..1, see the module docstring
    samples: int  # five-run column samples on staff tracks
    staff_length_spaces: float  # total length of the staff tracks, in staff spaces
    reason: str = ""  # why no staff was found ("" when one was)
    regions: tuple[StaffRegion, ...] = ()
    spread: float = 0.0  # (largest - smallest region staff space) / estimate; 0 with fewer than two regions
    ink_darkness: float = 1 - INK_RATIOS[0]  # the darkness (0..1 against the paper) that read as ink here
    # The tracked samples: (n, 4) float64 of x (px), centre of the top line (px), staff space (px), thickness (px).
    sample_table: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)), repr=False, compare=False)

    @property
    def found(self) -> bool:
        return self.staff_space_px is not None

    def scaled(self, sx: float, sy: float) -> "StaffSpaceEstimate":
        """The same reading of the image resized by sx, sy (new / old): what `estimate_staff_space` of the
        resized image would say, without reading it again."""
        if not self.found:
            return self
        table = self.sample_table * np.array([sx, sy, sy, sy])
        regions = tuple(StaffRegion((int(r.xyxy[0] * sx), int(r.xyxy[1] * sy), int(r.xyxy[2] * sx), int(r.xyxy[3] * sy)),
                                    r.staff_space_px * sy, r.samples) for r in self.regions)
        return replace(self, staff_space_px=self.staff_space_px * sy, line_thickness_px=self.line_thickness_px * sy,
                       regions=regions, sample_table=table)

    def describe(self) -> str:
        """One sentence for a log line or the page."""
        if not self.found:
            return f"no staff found ({self.reason})"
        text = (f"staff space {self.staff_space_px:.2f} px, lines {self.line_thickness_px:.1f} px thick "
                f"(confidence {self.confidence:.2f}, {self.samples} samples)")
        if len(self.regions) > 1 and self.spread > 0.05:
            text += f"; not uniform: regions differ by {self.spread:.0%}"
        return text

    def to_dict(self) -> dict:
        return {"staff_space_px": _round(self.staff_space_px), "line_thickness_px": _round(self.line_thickness_px),
                "confidence": round(self.confidence, 3), "samples": self.samples,
                "staff_length_spaces": round(self.staff_length_spaces, 1), "reason": self.reason,
                "spread": round(self.spread, 4),
                "regions": [{"xyxy": list(r.xyxy), "staff_space_px": round(r.staff_space_px, 3), "samples": r.samples}
                            for r in self.regions]}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


_GREY_WEIGHTS = {n: np.array([[77 / 256, 150 / 256, 29 / 256] + [0.0] * (n - 3) + [-0.5 + 1 / 512]]) for n in (3, 4)}


def grey(image: np.ndarray) -> np.ndarray:
    """(h, w) uint8 luminance of an (h, w) or (h, w, 3|4) uint8 image (alpha ignored)."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an (h, w) or (h, w, 3|4) image, but got shape {image.shape}")
    # (77 r + 150 g + 29 b) >> 8 in one multithreaded pass: the weights and the sum are exact in floating point,
    # and the offset turns cv2's rounding into the floor (equal on all 2^24 colours: tests/staff/test_space.py)
    return cv2.transform(np.ascontiguousarray(image), _GREY_WEIGHTS[image.shape[2]])


def paper_blocks(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The paper's brightness per block: (bh, bw) uint8 and the block size in px. A block's paper is the brightest
    pixel of it and its 8 neighbours, read on a grid of 8x8 pixels a block: any symbol is smaller than three
    blocks. image: (h, w) or (h, w, 3|4) uint8."""
    height, width = image.shape[:2]
    stride = max(1, int(np.ceil(max(height, width) / 24 / 8)))
    block = 8 * stride
    bh, bw = -(-height // block), -(-width // block)
    sparse = grey(image[stride // 2 :: stride, stride // 2 :: stride])
    padded = np.pad(sparse, ((0, bh * 8 - sparse.shape[0]), (0, bw * 8 - sparse.shape[1])), mode="edge")
    blocks = padded.reshape(bh, 8, bw, 8).max(axis=(1, 3))
    spread = np.pad(blocks, 1, mode="edge")
    out = blocks.copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            np.maximum(out, spread[dy : dy + bh, dx : dx + bw], out=out)
    return out, block


def column_darkness(image: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Every `step`-th column, one row each: its darkness against the paper (n, h) float32 in 0..1 (0 where there
    is no paper), and the columns' x (n,) int64."""
    paper, block = paper_blocks(image)
    xs = np.arange(step // 2, image.shape[1], step, dtype=np.int64)
    cols = grey(np.ascontiguousarray(np.take(image, xs, axis=1).swapaxes(0, 1))).astype(np.float32)  # (n, h)
    col_paper = paper[:, xs // block].T.astype(np.float32).repeat(block, axis=1)[:, : image.shape[0]]
    has_paper = col_paper >= DARK_PAPER
    darkness = np.clip(1 - cols / np.maximum(col_paper, 1), 0, 1)
    darkness[~has_paper] = 0
    return darkness, xs


def vertical_runs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of ink down each column of an (n, h) bool array (a column a row): column index, first row and end
    row (exclusive), each (r,) int64, ordered by column then row."""
    padded = np.zeros((ink.shape[0], ink.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = ink
    change = np.diff(padded, axis=1)
    col, start = np.nonzero(change == 1)
    _, end = np.nonzero(change == -1)
    return col.astype(np.int64), start.astype(np.int64), end.astype(np.int64)


def run_centres(darkness: np.ndarray, col: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Sub-pixel centres (r,) of vertical runs: the darkness-weighted mean row over the run and one pixel on
    either side (an anti-aliased line's grey edges say where in its pixels it lies). darkness: (n, h)."""
    if len(col) == 0:
        return np.zeros(0)
    height = darkness.shape[1]
    window = int((end - start).max()) + 2
    rows = (start - 1)[:, None] + np.arange(window + 1)[None, :]  # (r, window + 1)
    inside = (rows >= 0) & (rows < height) & (rows <= end[:, None])
    flat = col[:, None] * height + np.clip(rows, 0, height - 1)
    weight = np.where(inside, np.take(darkness.ravel(), flat), 0.0)
    mass = weight.sum(axis=1)
    centre = (start + end) / 2.0
    return np.where(mass > 0, (weight * (rows + 0.5)).sum(axis=1) / np.where(mass > 0, mass, 1), centre)


def five_line_samples(col: np.ndarray, start: np.ndarray, end: np.ndarray, darkness: np.ndarray) -> np.ndarray:
    """Staff samples (rule 3) from runs (column index, first row, end row; each (r,)) and the columns' darkness
    (n, h): (m, 6) of column index, top line centre, staff space, thickness, middle line centre, and 1 where the
    five continue as evenly ruled lines on both sides (else 0)."""
    n = len(col) - 4
    if n <= 0:
        return np.zeros((0, 6))
    centre = (start + end) / 2.0
    length = (end - start).astype(np.float64)
    c = np.stack([centre[k : k + n] for k in range(5)], axis=1)
    thick = np.stack([length[k : k + n] for k in range(5)], axis=1)
    gaps = np.diff(c, axis=1)
    gmin, gmax = gaps.min(axis=1), gaps.max(axis=1)
    tmin, tmax = thick.min(axis=1), thick.max(axis=1)
    # run centres on half pixels are up to half a pixel off: one pixel of slack before the sub-pixel check
    ok = ((col[:n] == col[4:]) & (gmin >= MIN_SPACE_PX) & (gmax <= (1 + GAP_TOLERANCE) * gmin + 1)
          & (tmax <= 0.5 * gmin) & (tmax <= tmin + np.maximum(2.0, 0.5 * tmin)))
    first = np.flatnonzero(ok)
    runs = first[:, None] + np.arange(5)[None, :]  # (m, 5) run indices; neighbouring samples share runs
    used, where = np.unique(runs, return_inverse=True)
    fine = run_centres(darkness, col[used], start[used], end[used])[where.reshape(runs.shape)]
    gaps = np.diff(fine, axis=1)
    ok = (gaps.min(axis=1) >= MIN_SPACE_PX) & (gaps.max(axis=1) <= (1 + GAP_TOLERANCE) * gaps.min(axis=1))
    first, fine, thick = first[ok], fine[ok], thick[first[ok]]
    space = (fine[:, 4] - fine[:, 0]) / 4.0
    # a sixth line at the same pitch on both sides: ruled paper or a table, not a staff of five (ledger lines
    # continue a staff on one side, in a few columns)
    before, after = np.maximum(first - 1, 0), np.minimum(first + 5, len(col) - 1)
    ruled = ((col[before] == col[first]) & (first >= 1) & (np.abs(fine[:, 0] - centre[before] - space) <= 0.2 * space + 1)
             & (col[after] == col[first]) & (np.abs(centre[after] - fine[:, 4] - space) <= 0.2 * space + 1))
    return np.column_stack([col[first], fine[:, 0], space, thick.mean(axis=1), fine[:, 2], ruled])


def _mode(values: np.ndarray) -> float:
    logs = np.log(values)
    bins = np.arange(logs.min() - 0.02, logs.max() + 0.04, 0.02)
    counts, edges = np.histogram(logs, bins)
    smooth = np.convolve(counts, np.ones(3), mode="same")
    k = int(np.argmax(smooth))
    return float(np.exp((edges[k] + edges[k + 1]) / 2))


def _central_mean(values: np.ndarray) -> float:
    """The mean of the middle half: as robust as the median, but it averages away the 1/8-px steps that run
    centres (on half pixels) over four gaps give a single sample."""
    lo, hi = np.percentile(values, [25, 75])
    middle = values[(values >= lo) & (values <= hi)]
    return float(middle.mean()) if len(middle) else float(np.median(values))


def track_labels(x: np.ndarray, y: np.ndarray, space: float) -> tuple[np.ndarray, np.ndarray]:
    """Rule 5: a track label per sample (x, middle line y; each (n,) px) and the length (staff spaces) of each
    sample's track."""
    cx = np.floor(x / (2 * space)).astype(np.int64)
    cy = np.floor(y / (space / 2)).astype(np.int64)
    ny = int(cy.max()) + 3
    keys, cell = np.unique(cx * ny + (cy + 1), return_inverse=True)
    firsts, seconds = [], []
    for dx, dy in ((1, -1), (1, 0), (1, 1), (2, -1), (2, 0), (2, 1), (0, 1)):
        target = keys + dx * ny + dy
        at = np.searchsorted(keys, target)
        hit = (at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] == target)
        firsts.append(np.flatnonzero(hit))
        seconds.append(at[hit])
    label = components(len(keys), np.concatenate(firsts), np.concatenate(seconds))
    kx = keys // ny
    lo = np.full(len(keys), np.iinfo(np.int64).max)
    hi = np.full(len(keys), np.iinfo(np.int64).min)
    np.minimum.at(lo, label, kx)
    np.maximum.at(hi, label, kx)
    cell_length = (hi[label] - lo[label] + 1) * 2.0  # staff spaces
    return label[cell], cell_length[cell]


def estimate_staff_space(image: np.ndarray, columns: int = COLUMNS) -> StaffSpaceEstimate:
    """The staff space of an image (see the module docstring). image: (h, w) or (h, w, 3|4) uint8."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, but got {image.dtype}")
    height, width = image.shape[:2]
    if min(height, width) < 5 * MIN_SPACE_PX:
        return _none(f"the image is {width}x{height} px: too small to hold a staff")
    step = max(1, int(round(width / columns)))
    darkness, xs = column_darkness(image, step)
    best = None
    for ratio in INK_RATIOS:
        found = replace(_estimate(darkness, darkness > 1 - ratio, xs, (width, height)), ink_darkness=1 - ratio)
        if best is None or found.confidence > best.confidence:
            best = found
        if best.confidence >= GOOD_ENOUGH:
            break
    return best


def _estimate(darkness: np.ndarray, ink: np.ndarray, xs: np.ndarray, image_wh: tuple[int, int]) -> StaffSpaceEstimate:
    table = five_line_samples(*vertical_runs(ink), darkness)
    if len(table) == 0:
        return _none("no five equally spaced thin lines in any column")
    mode = _mode(table[:, 2])
    agree = table[np.abs(table[:, 2] / mode - 1) <= AGREE]
    x = xs[agree[:, 0].astype(np.int64)].astype(np.float64)
    label, length = track_labels(x, agree[:, 4], mode)
    on_track = length >= MIN_TRACK_SPACES
    if on_track.sum() < MIN_SAMPLES:
        return _none(f"{len(table)} five-line patterns, but none continues for {MIN_TRACK_SPACES:g} staff spaces "
                     "as a staff does (text, a drawing or noise)")
    kept = agree[on_track]
    if kept[:, 5].mean() > 0.5:
        return _none("evenly ruled lines (ruled paper, a table), not staves of five lines")
    space = _central_mean(kept[:, 2])
    thickness = float(np.median(kept[:, 3]))
    staff_length = float(sum(length[on_track][np.unique(label[on_track], return_index=True)[1]]))
    samples = np.column_stack([x[on_track], kept[:, 1], kept[:, 2], kept[:, 3]])
    regions = _regions(samples, image_wh)
    # precision against each sample's own region: a photo's perspective is not imprecision
    local = np.full(len(samples), space)
    for region in regions:
        local[_inside(samples, region.xyxy)] = region.staff_space_px
    mad = float(np.median(np.abs(samples[:, 2] / local - 1)))
    confidence = min(1.0, staff_length / CONFIDENT_SPACES) * (len(kept) / len(table)) * max(0.0, 1 - mad / 0.05)
    spread = (max(r.staff_space_px for r in regions) - min(r.staff_space_px for r in regions)) / space \
        if len(regions) > 1 else 0.0
    return StaffSpaceEstimate(space, thickness, float(confidence), int(len(kept)), staff_length, "", regions,
                              float(spread), sample_table=samples)


def _regions(samples: np.ndarray, image_wh: tuple[int, int]) -> tuple[StaffRegion, ...]:
    width, height = image_wh
    xe = np.linspace(0, width, 4).round().astype(int)
    ye = np.linspace(0, height, 4).round().astype(int)
    out = []
    for j in range(3):
        for i in range(3):
            xyxy = (int(xe[i]), int(ye[j]), int(xe[i + 1]), int(ye[j + 1]))
            inside = _inside(samples, xyxy)
            if inside.sum() >= REGION_SAMPLES:
                out.append(StaffRegion(xyxy, _central_mean(samples[inside, 2]), int(inside.sum())))
    return tuple(out)


def _inside(samples: np.ndarray, xyxy: tuple[int, int, int, int]) -> np.ndarray:
    """Samples (rows of x, top line, space, thickness) whose middle line lies in the box."""
    middle = samples[:, 1] + 2 * samples[:, 2]
    return (samples[:, 0] >= xyxy[0]) & (samples[:, 0] < xyxy[2]) & (middle >= xyxy[1]) & (middle < xyxy[3])


def _none(reason: str) -> StaffSpaceEstimate:
    return StaffSpaceEstimate(None, None, 0.0, 0, 0.0, reason)
