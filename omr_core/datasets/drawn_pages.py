"""Simple drawn score pages in DeepScoresV2 format: the first-start default before real rendered pages exist.

Each page has staves of five lines with notes (black, half and whole noteheads on lines and in spaces, stems,
beamed pairs, augmentation dots, ledger lines), accidentals, key-signature accidentals, whole and half rests,
time-signature digits and barlines (unlabelled, as in DeepScores). It is drawn with OpenCV primitives, not a
music font: good enough to exercise the whole pipeline, not to train a useful model.

Every symbol is drawn alone on a local canvas first and its box is the extent of its own ink, so boxes are
exact even where symbols overlap on the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from omr_core.catalog.deepscores import name_to_id
from omr_core.formats.deepscores import write_deepscores
from omr_core.structures.detections import Detections
from omr_core.structures.record import ImageRecord

PAGE_WH = (1960, 2772)  # DeepScoresV2 geometry
STAFF_SPACE_PX = 17
LINE_PX = 2


class _Page:
    def __init__(self, wh: tuple[int, int]):
        self.pixels = np.full((wh[1], wh[0]), 255, dtype=np.uint8)
        self.boxes: list[tuple[str, tuple[float, float, float, float]]] = []

    def stamp(self, name: str | None, region_xyxy, draw: Callable[[np.ndarray, int, int], None]) -> None:
        """Draw one symbol on a blank canvas covering `region_xyxy`, box its ink, and merge it onto the page.

        `draw(canvas, x0, y0)` draws in page coordinates shifted by (-x0, -y0)."""
        h, w = self.pixels.shape
        x0, y0 = max(int(region_xyxy[0]), 0), max(int(region_xyxy[1]), 0)
        x1, y1 = min(int(np.ceil(region_xyxy[2])), w), min(int(np.ceil(region_xyxy[3])), h)
        if x1 <= x0 or y1 <= y0:
            return
        canvas = np.full((y1 - y0, x1 - x0), 255, dtype=np.uint8)
        draw(canvas, x0, y0)
        ink = canvas < 128
        if not ink.any():
            return
        np.minimum(self.pixels[y0:y1, x0:x1], canvas, out=self.pixels[y0:y1, x0:x1])
        if name:
            rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
            self.boxes.append((name, (x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1)))


def _line(p0, p1, thickness):
    def draw(canvas, x0, y0):
        cv2.line(canvas, (int(p0[0] - x0), int(p0[1] - y0)), (int(p1[0] - x0), int(p1[1] - y0)), 0, thickness, cv2.LINE_8)
    return draw


def _notehead(cx, cy, s, kind):
    axes = {"Black": (0.62 * s, 0.45 * s), "Half": (0.62 * s, 0.45 * s), "Whole": (0.8 * s, 0.48 * s)}[kind]

    def draw(canvas, x0, y0):
        centre = (int(round(cx - x0)), int(round(cy - y0)))
        size = (int(round(axes[0])), int(round(axes[1])))
        angle = 0 if kind == "Whole" else -20
        cv2.ellipse(canvas, centre, size, angle, 0, 360, 0, -1 if kind == "Black" else max(2, s // 6), cv2.LINE_8)
    return draw


def _accidental(cx, cy, s, kind):
    def draw(canvas, x0, y0):
        def seg(a, b, t):
            cv2.line(canvas, (int(a[0] - x0), int(a[1] - y0)), (int(b[0] - x0), int(b[1] - y0)), 0, t, cv2.LINE_8)
        if kind == "Sharp":
            for dx in (-0.25 * s, 0.25 * s):
                seg((cx + dx, cy - 1.4 * s), (cx + dx, cy + 1.4 * s), 2)
            for dy in (-0.45 * s, 0.45 * s):
                seg((cx - 0.55 * s, cy + dy + 0.15 * s), (cx + 0.55 * s, cy + dy - 0.15 * s), max(3, s // 4))
        elif kind == "Natural":
            seg((cx - 0.3 * s, cy - 1.4 * s), (cx - 0.3 * s, cy + 0.6 * s), 2)
            seg((cx + 0.3 * s, cy - 0.6 * s), (cx + 0.3 * s, cy + 1.4 * s), 2)
            for dy in (-0.45 * s, 0.45 * s):
                seg((cx - 0.3 * s, cy + dy + 0.1 * s), (cx + 0.3 * s, cy + dy - 0.1 * s), max(3, s // 4))
        else:  # Flat
            seg((cx - 0.35 * s, cy - 1.8 * s), (cx - 0.35 * s, cy + 0.5 * s), 2)
            cv2.ellipse(canvas, (int(cx - x0), int(cy - 0.05 * s - y0)), (int(0.45 * s), int(0.5 * s)), -30, -90, 130, 0, max(2, s // 6))
    return draw


def _rect(xyxy):
    def draw(canvas, x0, y0):
        cv2.rectangle(canvas, (int(xyxy[0] - x0), int(xyxy[1] - y0)), (int(xyxy[2] - x0) - 1, int(xyxy[3] - y0) - 1), 0, -1)
    return draw


def _poly(points):
    def draw(canvas, x0, y0):
        cv2.fillPoly(canvas, [np.round(np.asarray(points) - [x0, y0]).astype(np.int32)], 0, cv2.LINE_8)
    return draw


def _digit(text, x, baseline, s):
    scale = 2.0 * s / 22.0  # Hershey duplex digits are ~22 px high at scale 1

    def draw(canvas, x0, y0):
        cv2.putText(canvas, text, (int(x - x0), int(baseline - y0)), cv2.FONT_HERSHEY_DUPLEX, scale, 0, max(2, s // 5), cv2.LINE_8)
    return draw


def draw_page(rng: np.random.Generator, wh: tuple[int, int] = PAGE_WH, s: int = STAFF_SPACE_PX) -> _Page:
    """One page. Returns the page with its pixels (h, w) uint8 and its boxes (class name, xyxy)."""
    page = _Page(wh)
    width, height = wh
    margin_x, top = int(0.06 * width), int(0.06 * height)
    n_staves = int(rng.integers(8, 12))
    gap = (height - 2 * top) / n_staves
    for k in range(n_staves):
        y_top = top + k * gap + 3 * s
        lines = [y_top + i * s for i in range(5)]
        x_left, x_right = margin_x, width - margin_x
        page.stamp("staff", (x_left, lines[0] - 2, x_right + 2, lines[4] + 3),
                   lambda c, x0, y0, L=lines: [cv2.line(c, (x_left - x0, int(y - y0)), (x_right - x0, int(y - y0)), 0, LINE_PX) for y in L])
        _draw_staff_content(page, rng, lines, x_left, x_right, s)
    return page


def _y_of(lines, position):
    """Position 0 is the bottom line, 1 the space above it, ..., 8 the top line; may go beyond."""
    return lines[4] - position * (lines[1] - lines[0]) / 2


def _draw_staff_content(page: _Page, rng, lines, x_left, x_right, s):
    x = x_left + 1.5 * s
    for _ in range(int(rng.integers(0, 4))):  # key signature
        kind = "Sharp" if rng.random() < 0.5 else "Flat"
        cy = _y_of(lines, int(rng.integers(3, 9)))
        page.stamp(f"key{kind}", (x - s, cy - 2.2 * s, x + s, cy + 2.2 * s), _accidental(x, cy, s, kind))
        x += 1.2 * s
    if rng.random() < 0.6:  # time signature: two digits stacked
        x += 0.8 * s
        for digit, baseline in ((str(rng.choice([2, 3, 4, 6])), lines[2]), (str(rng.choice([2, 4, 8])), lines[4])):
            page.stamp(f"timeSig{digit}", (x - 0.2 * s, baseline - 2.6 * s, x + 2.2 * s, baseline + 0.6 * s), _digit(digit, x, baseline, s))
        x += 2.6 * s
    x += 1.5 * s
    measure_start = x
    while x < x_right - 4 * s:
        choice = rng.random()
        if choice < 0.08:
            _rest(page, rng, lines, x, s)
            x += 2.5 * s
        elif choice < 0.25:
            x = _beamed_pair(page, rng, lines, x, s) + 2.2 * s
        else:
            x = _note(page, rng, lines, x, s) + 2.4 * s
        if x - measure_start > 14 * s and x < x_right - 4 * s:  # barline: drawn, not labelled (no DS class)
            page.stamp(None, (x - 2, lines[0] - 1, x + 3, lines[4] + 2), _line((x, lines[0]), (x, lines[4]), 2))
            x += 1.5 * s
            measure_start = x
    page.stamp(None, (x_right - 2, lines[0] - 1, x_right + 3, lines[4] + 2), _line((x_right, lines[0]), (x_right, lines[4]), 3))


def _ledgers(page, lines, cx, position, s):
    steps = range(-2, position - 1, -2) if position < 0 else range(10, position + 1, 2)
    for p in steps:
        y = _y_of(lines, p)
        page.stamp("legerLine", (cx - 1.2 * s, y - 2, cx + 1.2 * s, y + 3), _line((cx - 1.0 * s, y), (cx + 1.0 * s, y), LINE_PX))


def _note(page: _Page, rng, lines, x, s, kind=None, position=None, stem_up=None, stem_to=None):
    position = int(rng.integers(-4, 13)) if position is None else position
    kind = kind or rng.choice(["Black", "Black", "Black", "Half", "Whole"])
    if rng.random() < 0.15 and stem_to is None:
        acc = rng.choice(["Sharp", "Flat", "Natural"])
        cy = _y_of(lines, position)
        page.stamp(f"accidental{acc}", (x - s, cy - 2.2 * s, x + s, cy + 2.2 * s), _accidental(x, cy, s, acc))
        x += 1.8 * s
    cx, cy = x + 0.8 * s, _y_of(lines, position)
    _ledgers(page, lines, cx, position, s)
    where = "OnLine" if position % 2 == 0 else "InSpace"
    page.stamp(f"notehead{kind}{where}", (cx - s, cy - s, cx + s, cy + s), _notehead(cx, cy, s, kind))
    stem_x = None
    if kind != "Whole":
        stem_up = position < 4 if stem_up is None else stem_up
        stem_x = cx + 0.55 * s if stem_up else cx - 0.55 * s
        end = stem_to if stem_to is not None else (cy - 3.5 * s if stem_up else cy + 3.5 * s)
        y0, y1 = sorted((cy, end))
        page.stamp("stem", (stem_x - 2, y0 - 1, stem_x + 3, y1 + 1), _line((stem_x, y0), (stem_x, y1), 2))
    if rng.random() < 0.12 and stem_to is None:
        dot_y = cy if position % 2 else cy - s / 2
        dx = cx + 1.4 * s
        page.stamp("augmentationDot", (dx - s / 2, dot_y - s / 2, dx + s / 2, dot_y + s / 2),
                   lambda c, x0, y0: cv2.circle(c, (int(dx - x0), int(dot_y - y0)), max(2, int(0.2 * s)), 0, -1))
    return cx + s if stem_x is None else stem_x


def _beamed_pair(page: _Page, rng, lines, x, s):
    p1, p2 = (int(v) for v in rng.integers(0, 9, size=2))
    up = (p1 + p2) / 2 < 4
    far = min(_y_of(lines, p1), _y_of(lines, p2)) - 3.5 * s if up else max(_y_of(lines, p1), _y_of(lines, p2)) + 3.5 * s
    x1 = _note(page, rng, lines, x, s, "Black", p1, up, far)
    x2 = _note(page, rng, lines, x + 3 * s, s, "Black", p2, up, far)
    thick = 0.5 * s
    y_in = far + thick if up else far - thick
    ys = sorted((far, y_in))
    page.stamp("beam", (x1 - 2, ys[0] - 2, x2 + 3, ys[1] + 2), _poly([(x1, ys[0]), (x2 + 1, ys[0]), (x2 + 1, ys[1]), (x1, ys[1])]))
    return x2


def _rest(page: _Page, rng, lines, x, s):
    if rng.random() < 0.5:  # whole rest hangs from the 4th line
        y = lines[1]
        page.stamp("restWhole", (x - 2, y - 2, x + 1.3 * s, y + 0.6 * s), _rect((x, y, x + 1.2 * s, y + 0.5 * s)))
    else:  # half rest sits on the middle line
        y = lines[2]
        page.stamp("restHalf", (x - 2, y - 0.6 * s, x + 1.3 * s, y + 2), _rect((x, y - 0.5 * s, x + 1.2 * s, y)))


DRAWN_PAGES = 60  # a folder of drawn pages, unless told otherwise


def make_drawn_source(folder: Path | str, n_pages: int = DRAWN_PAGES, seed: int = 0, test_fraction: float = 0.1,
                      wh: tuple[int, int] = PAGE_WH, progress=None) -> Path:
    """Write a DeepScores-format folder: `images/*.png`, `deepscores_train.json`, `deepscores_test.json`.

    `progress(done, total, message)` is called after each page."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    ids = name_to_id("deepscores")
    rng = np.random.default_rng(seed)
    n_test = int(round(test_fraction * n_pages))
    records: dict[str, list[ImageRecord]] = {"train": [], "test": []}
    for i in range(n_pages):
        page = draw_page(rng, wh)
        file_name = f"drawn-{seed}-{i:04d}.png"
        cv2.imwrite(str(folder / "images" / file_name), page.pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        names = [n for n, _ in page.boxes]
        xyxy = np.array([b for _, b in page.boxes], dtype=np.float64).reshape(-1, 4)
        det = Detections(xyxy, np.array([ids[n] for n in names], dtype=np.int64))
        split = "test" if i >= n_pages - n_test else "train"
        records[split].append(ImageRecord(str(i + 1), file_name, wh[0], wh[1], det, {}))
        if progress:
            progress(i + 1, n_pages, f"drawing {file_name}")
    for split, recs in records.items():
        write_deepscores(folder / f"deepscores_{split}.json", recs,
                         info={"description": f"omr_core drawn pages (seed {seed})", "version": "2.0"})
    return folder
