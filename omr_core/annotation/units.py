"""Work units of a page: the pieces the annotation canvas shows one at a time, covering every inked region.

    units = find_units(rgb)                      # [WorkUnit], top to bottom
    units[0].name, units[0].kind, units[0].xyxy  # "system 1 (2 staves)", "system", (x0, y0, x1, y1) page px
    owner = unit_of(boxes.xyxy, units)           # (n,) the unit each box belongs to (-1: none)

A unit is a system where staves are found (`staff.lines.find_staves`, grouped by `staff.systems`), so a staff is
never cut from the staves it is played with:
- its region runs from the system's top line to its bottom line, out to halfway to the next system (or
  MARGIN_SPACES staff spaces above the first and below the last: ledger lines, dynamics, lyrics), across the
  page's staff width and LEFT_SPACES before it (brace, instrument names);
- ink that touches a unit's region and runs out of it (a measure number, a high note's ledger lines, a slur, a
  title over the first staff) widens it, up to halfway to the neighbouring system;
- ink that touches no system (a title block, a footer; a whole page where no staff is found) is cut into
  bands at blank rows, each its own unit of kind "ink", named by where it lies. Specks (dust, JPEG noise: fewer
  than MIN_INK_SPACES2 square staff spaces of ink) are no region; nor is a photo's shadow (ink is read with a
  top-hat BACKGROUND_SPACES wide, as `staff.systems` reads strokes).
So the units cover all ink and no unit is blank paper. Regions do not overlap: a box belongs to the unit its
centre lies in. The canvas shows a unit's region widened to hold its boxes whole (`view_xyxy`).

Units are found once per scan and kept in units/<id>.json (`load_units`), so review states that name a unit by
its number keep meaning the same part of the page when the finder changes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from omr_core.fileio import write_atomic
from omr_core.staff.lines import find_staves, page_darkness
from omr_core.staff.space import estimate_staff_space
from omr_core.staff.systems import group_systems, line_course
from omr_core.structures.problems import Problem, ProblemLog

MARGIN_SPACES = 5.0  # above the first system and below the last (high notes' ledger lines, lyrics)
LEFT_SPACES = 5.0  # before the staves' start: brace, bracket, instrument names
SIDE_SPACES = 2.0  # after their end
GROW_SPACES = 12.0  # how far ink running out of a system widens it (a title is a unit of its own beyond that)
MIN_INK_SPACES2 = 0.5  # ink regions smaller than this (square staff spaces) are specks
BACKGROUND_SPACES = 3.0  # ink wider and taller than this is shadow or a dark table, not ink
BLANK_SPACES = 1.5  # blank rows that separate two ink bands
MAX_BAND_SPACES = 40.0  # an ink band taller than this is cut at its emptiest row
FALLBACK_SPACE_PX = 12.0  # the staff space assumed where none is found (a 300-dpi page's, roughly)
UNITS_FORMAT = 1


@dataclass(frozen=True)
class WorkUnit:
    xyxy: tuple[int, int, int, int]  # the unit's region, page px; regions of one page do not overlap
    kind: str  # "system": staves and what belongs to them; "ink": ink where no staff is
    name: str  # what the user reads: "system 2 (2 staves)", "ink above system 1 (no staff)"
    staves: int = 0


@dataclass(frozen=True)
class PageUnits:
    units: list[WorkUnit]
    staves: int
    staff_space_px: float | None
    note: str  # how they were found, in words


def find_units(image: np.ndarray) -> PageUnits:
    """The work units of a page. image: (h, w, 3) or (h, w) uint8."""
    height, width = image.shape[:2]
    estimate = estimate_staff_space(image)
    darkness = page_darkness(image)
    dark_at = estimate.ink_darkness
    staves = find_staves(darkness, estimate) if estimate.found else []
    space = float(np.median([s.space_px for s in staves])) if staves else FALLBACK_SPACE_PX
    ink, factor = _ink_mask(darkness, dark_at, space)
    groups = group_systems(darkness, staves, dark_at) if staves else []
    systems = _system_regions(staves, groups, (width, height), space)
    limits = [(max(0, int(b[1] - GROW_SPACES * space)) if k == 0 else b[1],
               min(height, int(b[3] + GROW_SPACES * space)) if k == len(systems) - 1 else b[3])
              for k, b in enumerate(systems)]
    for _ in range(3):  # ink that touches what a system took in belongs to it too
        grown = _grow(systems, limits, ink, factor, width)
        if grown == systems:
            break
        systems = grown
    units = [WorkUnit(box, "system", f"system {k + 1} ({len(g)} staff)" if len(g) == 1 else
                      f"system {k + 1} ({len(g)} staves)", len(g)) for k, (box, g) in enumerate(zip(systems, groups))]
    leftover = ink.copy()
    for x0, y0, x1, y1 in systems:
        leftover[y0 // factor : -(-y1 // factor), x0 // factor : -(-x1 // factor)] = 0
    for box in _bands(leftover, factor, space, (width, height)):
        box = _outside(box, systems)
        if box is not None:
            units.append(WorkUnit(box, "ink", _ink_name(box, systems)))
    units.sort(key=lambda u: (u.xyxy[1], u.xyxy[0]))
    if staves:
        note = f"{len(staves)} staves in {len(systems)} systems (staff space {space:.1f} px)"
        extra = sum(u.kind == "ink" for u in units)
        if extra:
            note += f", and {extra} inked region{'s' if extra > 1 else ''} without a staff"
    else:
        note = (f"no staff found ({estimate.reason}): the page is cut into its {len(units)} inked regions"
                if units else "no staff and no ink: a blank page")
    return PageUnits(units, len(staves), space if staves else None, note)


def _ink_mask(darkness: np.ndarray, dark_at: float, space: float) -> tuple[np.ndarray, int]:
    """Ink at 1/factor of the page's size (max over factor x factor pixels), without shadows, specks removed:
    (h / factor, w / factor) uint8, and factor."""
    factor = max(1, int(space // 4))
    height, width = darkness.shape
    h, w = -(-height // factor), -(-width // factor)
    padded = np.zeros((h * factor, w * factor), np.float32)
    padded[:height, :width] = darkness
    small = padded.reshape(h, factor, w, factor).max(axis=(1, 3))
    size = max(3, int(round(BACKGROUND_SPACES * space / factor)) | 1)
    flat = cv2.morphologyEx(small, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    ink = (flat > dark_at).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    specks = stats[:, cv2.CC_STAT_AREA] * factor * factor < MIN_INK_SPACES2 * space * space
    specks[0] = False
    ink[specks[labels]] = 0
    return ink, factor


def _system_regions(staves, groups, image_wh, space) -> list[tuple[int, int, int, int]]:
    width, height = image_wh
    x0 = max(0, int(min(s.x0 for s in staves) - LEFT_SPACES * space)) if staves else 0
    x1 = min(width, int(np.ceil(max(s.x1 for s in staves) + SIDE_SPACES * space))) if staves else width
    columns = np.linspace(x0, x1, 32)
    spans = []
    for group in groups:
        top = float(min(line_course(staves[k], columns, 0).min() for k in group)) - staves[group[0]].thickness_px
        bottom = float(max(line_course(staves[k], columns, 4).max() for k in group)) + staves[group[-1]].thickness_px
        spans.append((top, bottom))
    boxes = []
    for k, (top, bottom) in enumerate(spans):
        # halfway to the neighbouring systems, never into their staves
        y0 = top - MARGIN_SPACES * space if k == 0 else max(spans[k - 1][1] + 1, (spans[k - 1][1] + top) / 2)
        y1 = bottom + MARGIN_SPACES * space if k == len(spans) - 1 else min(spans[k + 1][0] - 1, (bottom + spans[k + 1][0]) / 2)
        boxes.append((x0, max(0, int(np.floor(y0))), x1, min(height, int(np.ceil(y1)))))
    for k in range(1, len(boxes)):  # shared edges to the pixel: no row in two units
        if boxes[k][1] < boxes[k - 1][3]:
            boxes[k] = (boxes[k][0], boxes[k - 1][3], boxes[k][2], boxes[k][3])
    return boxes


def _grow(systems, limits, ink: np.ndarray, factor: int, width: int) -> list[tuple[int, int, int, int]]:
    """Widen each system's region over the ink that touches it and runs out of it, within its rows `limits`
    (top, bottom): halfway to the next system, GROW_SPACES beyond the first's top and the last's bottom."""
    if not systems:
        return []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    grown = [list(b) for b in systems]
    for c in range(1, count):
        cx0, cy0 = stats[c, 0] * factor, stats[c, 1] * factor
        cx1, cy1 = cx0 + stats[c, 2] * factor, cy0 + stats[c, 3] * factor
        for k, (x0, y0, x1, y1) in enumerate(systems):
            if cx1 <= x0 or cx0 >= x1 or cy1 <= y0 or cy0 >= y1:
                continue
            top, bottom = limits[k]
            g = grown[k]
            g[0], g[2] = max(0, min(g[0], cx0)), min(width, max(g[2], cx1))
            g[1], g[3] = max(top, min(g[1], cy0)), min(bottom, max(g[3], cy1))
            break
    return [tuple(int(v) for v in g) for g in grown]


def _bands(ink: np.ndarray, factor: int, space: float, image_wh) -> list[tuple[int, int, int, int]]:
    """Boxes around the ink, cut into bands at runs of blank rows; a band too tall is cut at its emptiest row."""
    width, height = image_wh
    rows = ink.sum(axis=1)
    inked = np.flatnonzero(rows)
    if len(inked) == 0:
        return []
    blank = max(1, int(BLANK_SPACES * space / factor))
    breaks = np.flatnonzero(np.diff(inked) > blank)
    bands = [(int(a[0]), int(a[-1]) + 1) for a in np.split(inked, breaks + 1)]
    limit = max(4, int(MAX_BAND_SPACES * space / factor))
    cut = []
    while bands:
        y0, y1 = bands.pop(0)
        if y1 - y0 <= limit:
            cut.append((y0, y1))
            continue
        inner = rows[y0 + limit // 4 : y1 - limit // 4]
        at = y0 + limit // 4 + int(np.argmin(inner)) if len(inner) else y0 + limit
        bands[:0] = [(y0, at), (at, y1)]
    boxes = []
    for y0, y1 in cut:
        cols = np.flatnonzero(ink[y0:y1].any(axis=0))
        if len(cols) == 0:
            continue
        boxes.append((max(0, int(cols[0]) * factor - factor), max(0, y0 * factor - factor),
                      min(width, (int(cols[-1]) + 2) * factor), min(height, (y1 + 1) * factor)))
    return boxes


def _outside(box, systems):
    """The band's box trimmed off the system regions it overlaps (its padding reaches into them), or None."""
    x0, y0, x1, y1 = box
    for sx0, sy0, sx1, sy1 in systems:
        if x1 <= sx0 or x0 >= sx1 or y1 <= sy0 or y0 >= sy1:
            continue
        middle_y, middle_x = (y0 + y1) / 2, (x0 + x1) / 2
        if middle_y < sy0:
            y1 = sy0
        elif middle_y >= sy1:
            y0 = sy1
        elif middle_x < sx0:
            x1 = sx0
        else:
            x0 = sx1
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _ink_name(box, systems) -> str:
    if not systems:
        return f"ink at rows {box[1]}-{box[3]} (no staff found)"
    middle = (box[1] + box[3]) / 2
    above = [k for k, s in enumerate(systems) if s[1] >= middle]
    below = [k for k, s in enumerate(systems) if s[3] <= middle]
    if not below:
        return "ink above system 1 (no staff)"
    if not above:
        return f"ink below system {len(systems)} (no staff)"
    if below[-1] + 1 == above[0]:
        return f"ink between systems {below[-1] + 1} and {above[0] + 1} (no staff)"
    return f"ink beside system {below[-1] + 2} (no staff)"


def unit_of(xyxy: np.ndarray, units: list[WorkUnit]) -> np.ndarray:
    """(n,) int64: the unit whose region holds each box's centre, -1 where none does. xyxy: (n, 4) page px."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    owner = np.full(len(xyxy), -1, dtype=np.int64)
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
    for k, unit in reversed(list(enumerate(units))):  # the first unit wins where regions touch
        x0, y0, x1, y1 = unit.xyxy
        owner[(cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)] = k
    return owner


def view_xyxy(unit: WorkUnit, boxes_xyxy: np.ndarray, image_wh: tuple[int, int], pad_px: int = 4) -> tuple[int, int, int, int]:
    """The part of the page the canvas shows for a unit: its region, widened to hold its boxes whole.
    boxes_xyxy: (n, 4) page px of the unit's own boxes."""
    x0, y0, x1, y1 = unit.xyxy
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    if len(boxes):
        x0, y0 = min(x0, int(np.floor(boxes[:, 0].min())) - pad_px), min(y0, int(np.floor(boxes[:, 1].min())) - pad_px)
        x1, y1 = max(x1, int(np.ceil(boxes[:, 2].max())) + pad_px), max(y1, int(np.ceil(boxes[:, 3].max())) + pad_px)
    width, height = image_wh
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


# -- the units of a scan, kept -------------------------------------------------------------------------------

def units_path(root: Path, scan_id: str) -> Path:
    return Path(root) / "units" / f"{scan_id}.json"


def load_units(root: Path, scan_id: str, image: np.ndarray | None = None, problems: ProblemLog | None = None
               ) -> PageUnits:
    """A scan's units as first found; found now (from `image`, or the scan's own PNG) and kept where there are
    none yet. A file that cannot be read is reported in `problems` and found again (nothing else depends on
    more than the units' numbers)."""
    path = units_path(root, scan_id)
    if path.is_file():
        try:
            document = json.loads(path.read_bytes().decode("utf-8"))
            if document.get("format") != UNITS_FORMAT:
                raise ValueError(f"expected format {UNITS_FORMAT}, but got {document.get('format')!r}")
            units = [WorkUnit(tuple(int(v) for v in u["xyxy"]), str(u["kind"]), str(u["name"]), int(u.get("staves", 0)))
                     for u in document["units"]]
            if any(len(u.xyxy) != 4 or u.xyxy[2] <= u.xyxy[0] or u.xyxy[3] <= u.xyxy[1] for u in units):
                raise ValueError("every unit needs a box (x0, y0, x1, y1) with x0 < x1 and y0 < y1")
            return PageUnits(units, int(document.get("staves", 0)), document.get("staff_space_px"),
                             str(document.get("note", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if problems is not None:
                problems.add(Problem("bad_units", str(path), f"scan {scan_id}", str(exc), "found again"))
    if image is None:
        from omr_core.formats.images import read_image

        image = read_image(Path(root) / "images" / f"{scan_id}.png")
    found = find_units(image)
    write_atomic(path, json.dumps({"format": UNITS_FORMAT, "staves": found.staves,
                                   "staff_space_px": found.staff_space_px, "note": found.note,
                                   "units": [asdict(u) for u in found.units]}, indent=1).encode())
    return found
