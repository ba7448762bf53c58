"""Box accuracy: each symbol drawn alone, its ink extent compared with its box.

A symbol's box comes from geometry (the exact extent of its outlines). Its ink extent is measured on a
canvas holding only that symbol, drawn exactly as on the page: the smallest pixel-aligned box around the
pixels at least `coverage` (default 50%) inked. An edge's error is the distance between the two, in pixels.
Rounding alone gives up to 0.5 px on a straight edge; a curve's apex covers its extreme pixel only partly, so
round shapes can reach ~1 px.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import skia

from omr_core.rendering.verovio_page import RenderedPage, Symbol, render_svg


def ink_extent(symbol: Symbol, coverage: float = 0.5, margin_px: int = 3) -> tuple[int, int, int, int] | None:
    """Pixel-aligned xyxy of the symbol's own ink, or None when it inks no pixel that much."""
    x0, y0, x1, y1 = symbol.xyxy
    left, top = int(np.floor(x0)) - margin_px, int(np.floor(y0)) - margin_px
    width, height = int(np.ceil(x1)) + margin_px - left, int(np.ceil(y1)) + margin_px - top
    info = skia.ImageInfo.Make(width, height, skia.ColorType.kGray_8_ColorType, skia.AlphaType.kOpaque_AlphaType)
    surface = skia.Surface.MakeRaster(info)
    canvas = surface.getCanvas()
    canvas.clear(skia.ColorWHITE)
    canvas.translate(-left, -top)
    ink = skia.Paint(AntiAlias=True, Color=skia.ColorBLACK)
    for outline in symbol.outlines:
        canvas.drawPath(outline, ink)
    pixels = np.asarray(surface.makeImageSnapshot(), dtype=np.uint8).reshape(height, width)
    inked = pixels <= 255 * (1 - coverage)
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    if not len(rows):
        return None
    return (left + int(cols[0]), top + int(rows[0]), left + int(cols[-1]) + 1, top + int(rows[-1]) + 1)


def box_errors(page: RenderedPage, coverage: float = 0.5) -> dict[str, np.ndarray]:
    """Class name -> (k, 4) float64 absolute edge errors (left, top, right, bottom) in pixels.

    Symbols too faint to ink any pixel at `coverage` are left out (there is no ink edge to compare)."""
    errors: dict[str, list] = defaultdict(list)
    for symbol in page.symbols:
        extent = ink_extent(symbol, coverage)
        if extent is not None:
            errors[symbol.class_name].append(np.abs(np.subtract(extent, symbol.xyxy)))
    return {name: np.array(rows) for name, rows in errors.items()}


def summarise(errors: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per class and overall ("all"): box count, median, p95 and max edge error in pixels."""
    def stats(values: np.ndarray, n_boxes: int) -> dict:
        return {"boxes": n_boxes, "median_px": float(np.median(values)), "p95_px": float(np.percentile(values, 95)),
                "max_px": float(values.max())}

    out = {name: stats(e.ravel(), len(e)) for name, e in sorted(errors.items())}
    if errors:
        every = np.concatenate([e.ravel() for e in errors.values()])
        out["all"] = stats(every, sum(len(e) for e in errors.values()))
    return out


def check_fonts(fonts: tuple[str, ...], n_pieces: int = 2, seed: int = 0, collections: tuple[str, ...] = ()) -> dict:
    """Engrave the first pages of `n_pieces` corpus pieces in each font and measure every box against its ink.

    Returns {font: summarise(...)} plus "all fonts"."""
    from omr_core.rendering.generate import GenerateConfig, corpus_root, engraver, list_pieces, load_score, plan_tasks

    tasks = [t for t in plan_tasks(GenerateConfig(output="-", seed=seed), list_pieces(collections))
             if not t.piece.endswith(".abc")][:n_pieces]
    per_font: dict[str, dict[str, list]] = {}
    everything: dict[str, list] = defaultdict(list)
    for font in fonts:
        errors: dict[str, list] = defaultdict(list)
        for task in tasks:
            toolkit = engraver(font, task.scale, 2100, (1960, 2772))
            if not toolkit.loadData(load_score(corpus_root() / task.piece)):
                continue
            page = render_svg(toolkit.renderToSVG(1), 1960, 2772, font)
            for name, values in box_errors(page).items():
                errors[name].append(values)
                everything[name].append(values)
        per_font[font] = summarise({k: np.concatenate(v) for k, v in errors.items()})
    per_font["all fonts"] = summarise({k: np.concatenate(v) for k, v in everything.items()})
    return per_font
