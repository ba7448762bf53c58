"""Find the staff systems of a page: the annotation canvas shows one at a time, at 2-3x (it has no zoom).

Staff-line projection:
1. ink: pixels darker than Otsu's threshold;
2. the page is cut into six vertical strips (so that a photo's bent or sloping lines are near-horizontal
   within a strip); in each, long horizontal runs only: an opening with a line a third of the strip long keeps
   staff lines (and beams that long), drops notes and text;
3. rows where those runs cover at least `min_cover` of the strip's widest row are line rows; consecutive rows
   are one line; five lines at a near-constant spacing are a staff piece; pieces of neighbouring strips at the
   same height (middle lines within two staff spaces) are one staff; a piece found in one strip alone is not;
4. consecutive staves joined by a vertical stroke (a barline or system bracket spanning the gap between them)
   form one system; a staff joined to nothing is a system of its own.
Each system's box reaches `margin` staff spaces above and below its outer lines (ledger lines, stems,
dynamics), is clipped halfway to the neighbouring systems, and spans the staff lines' width plus a margin.
Pages where no staff is found (a photo at an angle, a blank page) fall back to fixed-size crops (`grid_crops`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Staff:
    lines_y: tuple[float, ...]  # the five line centres, top to bottom (px)
    x0: int
    x1: int

    @property
    def space(self) -> float:
        return float(np.diff(self.lines_y).mean())


def _ink(image: np.ndarray) -> np.ndarray:
    grey = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink


def _staves_in(lines: np.ndarray, x_offset: int, min_cover: float) -> list[Staff]:
    """Staves in one vertical strip of the long-line image."""
    cover = (lines > 0).sum(axis=1).astype(np.float64)
    if cover.max() == 0:
        return []
    rows = np.flatnonzero(cover >= min_cover * cover.max())
    groups = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    centres = np.array([g.mean() for g in groups])
    staves: list[Staff] = []
    i = 0
    while i + 5 <= len(centres):
        gaps = np.diff(centres[i : i + 5])
        if gaps.min() > 2 and gaps.max() <= 1.3 * gaps.min():
            columns = np.flatnonzero(lines[np.concatenate(groups[i : i + 5])].any(axis=0))
            staves.append(Staff(tuple(float(c) for c in centres[i : i + 5]), x_offset + int(columns.min()),
                                x_offset + int(columns.max()) + 1))
            i += 5
        else:
            i += 1
    return staves


def find_staves(image: np.ndarray, strips: int = 6, min_cover: float = 0.5, ink: np.ndarray | None = None) -> list[Staff]:
    """Staves, top to bottom. The page is cut into vertical strips so that a photographed page whose lines
    bend or slope still gives near-horizontal line pieces; a staff's pieces in neighbouring strips are joined
    (their middle lines within two staff spaces)."""
    ink = _ink(image) if ink is None else ink  # `ink`: the page's ink mask, when the caller has it already
    width = ink.shape[1]
    strip = max(64, width // strips)
    pieces: list[Staff] = []
    for x0 in range(0, width, strip):
        part = ink[:, x0 : x0 + strip]
        if part.shape[1] < strip // 2:
            continue
        lines = cv2.morphologyEx(part, cv2.MORPH_OPEN,
                                 cv2.getStructuringElement(cv2.MORPH_RECT, (max(8, part.shape[1] // 3), 1)))
        pieces.extend(_staves_in(lines, x0, min_cover))
    pieces.sort(key=lambda s: s.lines_y[2])
    staves: list[list[Staff]] = []
    for piece in pieces:
        for group in staves:
            if abs(group[-1].lines_y[2] - piece.lines_y[2]) <= 2 * piece.space and \
                    not any(p.x0 == piece.x0 for p in group):
                group.append(piece)
                break
        else:
            staves.append([piece])
    merged = []
    for group in staves:
        if len(group) < min(2, len(range(0, width, strip))):  # a lone piece in one strip: text or a beam
            continue
        order = sorted(group, key=lambda p: p.x0)
        lines_y = tuple(float(np.mean([p.lines_y[k] for p in order])) for k in range(5))
        x0, x1 = _extent(ink, order, min(p.x0 for p in order), max(p.x1 for p in order))
        merged.append(Staff(lines_y, x0, x1))
    return sorted(merged, key=lambda s: s.lines_y[0])


def _extent(ink: np.ndarray, pieces: list[Staff], x0: int, x1: int) -> tuple[int, int]:
    """Where the staff's lines really start and end: strips only tell which strips hold them. Columns where
    at least three of the five lines have ink (lines grown by a pixel), followed outwards from the pieces."""
    space = float(np.mean([p.space for p in pieces]))
    hits = np.zeros(ink.shape[1], dtype=np.int64)
    for k in range(5):
        ys = [p.lines_y[k] for p in pieces]
        top, bottom = int(min(ys) - 1), int(np.ceil(max(ys) + 1))
        band = ink[max(0, top) : bottom + 1] > 0
        hits += band.any(axis=0)
    lined = hits >= 3
    gap = max(2, int(space))  # a note or a barline may break the lines for a moment
    while x0 > 0 and lined[max(0, x0 - gap) : x0].any():
        x0 = max(0, x0 - gap) + int(np.argmax(lined[max(0, x0 - gap) : x0]))
    while x1 < ink.shape[1] and lined[x1 : x1 + gap].any():
        x1 = x1 + len(lined[x1 : x1 + gap]) - int(np.argmax(lined[x1 : x1 + gap][::-1]))
    return x0, x1


def _joined(ink: np.ndarray, upper: Staff, lower: Staff) -> bool:
    """A vertical stroke runs from the upper staff's bottom line to the lower staff's top line."""
    top, bottom = int(round(upper.lines_y[-1])), int(round(lower.lines_y[0]))
    x0, x1 = max(upper.x0, lower.x0), min(upper.x1, lower.x1)
    if bottom <= top or x1 <= x0:
        return False
    band = ink[top : bottom + 1, x0:x1] > 0
    # allow a pixel of anti-aliasing gap: a column counts if it is inked on all but 2% of the rows
    return bool((band.mean(axis=0) >= 0.98).any())


def find_systems(image: np.ndarray, margin: float = 4.0) -> list[tuple[int, int, int, int]]:
    """System boxes (x0, y0, x1, y1) in page pixels, top to bottom; [] when no staff is found."""
    ink = _ink(image)
    staves = find_staves(image, ink=ink)
    if not staves:
        return []
    groups = [[staves[0]]]
    for upper, lower in zip(staves, staves[1:]):
        if _joined(ink, upper, lower):
            groups[-1].append(lower)
        else:
            groups.append([lower])
    height, width = image.shape[:2]
    spans = []
    for group in groups:
        space = float(np.mean([s.space for s in group]))
        spans.append((group[0].lines_y[0] - margin * space, group[-1].lines_y[-1] + margin * space,
                      min(s.x0 for s in group) - 2 * space, max(s.x1 for s in group) + 2 * space))
    boxes = []
    for k, (y0, y1, x0, x1) in enumerate(spans):
        # where two systems' margins meet, the boundary is halfway between them, shared to the pixel
        if k > 0 and spans[k - 1][1] > y0:
            y0 = int((spans[k - 1][1] + y0) / 2)
        if k + 1 < len(spans) and spans[k + 1][0] < y1:
            y1 = int((y1 + spans[k + 1][0]) / 2)
        boxes.append((max(0, int(x0)), max(0, int(y0)), min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))))
    return boxes


def grid_crops(image_wh: tuple[int, int], size: int = 800, overlap: int = 100) -> list[tuple[int, int, int, int]]:
    """Fixed-size crops covering the page (the fallback work units)."""
    from omr_core.datasets.tiling import tile_grid

    return [tuple(int(v) for v in t) for t in tile_grid(image_wh, size, overlap)]
