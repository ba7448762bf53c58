"""One Verovio SVG page -> a grey page image and its DeepScoresV2 boxes.

Every element of the SVG becomes a filled outline in page pixels (glyphs: their SMuFL path; strokes: skia's
stroke outline), drawn by skia with anti-aliasing and nonzero winding. A symbol's box is the exact extent of
its outlines (curves included), so it matches the ink to a fraction of a pixel without looking at pixels.

Grouping into symbols:
- a glyph (`<use>`) is one symbol; its class comes from `smufl.glyph_class` (noteheads get OnLine/InSpace
  from their staff position, small glyphs the ...Small classes);
- a primitive (path, polygon, rect, ellipse) is one symbol when its nearest group is in `smufl.PRIMITIVES`
  (a stem, a ledger line, a beam, a tie...); a hairpin's lines, an arpeggio's and an octave bracket's pieces
  and a brace's two curves are one symbol each (a bracket, which DeepScores has no class for, is not);
- the five lines of a staff, drawn per measure, are one `staff` symbol per staff and system;
- everything else (text, barlines, brackets, slashes) is drawn but not labelled, as in DeepScores.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import skia

from omr_core.rendering.smufl import (
    COMBINED_DYNAMICS,
    DYNAMIC_LETTERS,
    PRIMITIVES,
    UNLABELLED,
    clef_class,
    glyph_class,
    hairpin_class,
)
from omr_core.rendering.svg_path import parse_path, parse_transform, to_skia_matrix

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_GLYPH_ID = re.compile(r"^#?([0-9A-Fa-f]{4})-")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")
GROUPED = {"hairpin", "arpeg", "octave", "grpSym"}  # groups whose pieces together are one symbol


@dataclass
class Symbol:
    class_name: str
    xyxy: tuple[float, float, float, float]  # page pixels
    element_id: str  # id of the nearest enclosing Verovio element (a note's id for its notehead)
    source: str  # "glyph E0A4" or "primitive stem": how it was drawn, for checks and debugging
    outlines: list = field(default_factory=list, repr=False)  # skia paths in page pixels: the symbol's ink


@dataclass
class RenderedPage:
    pixels: np.ndarray  # (h, w) uint8, white paper, black ink
    symbols: list[Symbol]
    staff_space_px: float


@dataclass
class _Item:
    outline: skia.Path  # filled outline in page pixels
    groups: tuple[tuple[str, str], ...]  # (class, id) of the enclosing groups, outermost first
    glyph: str | None = None  # SMuFL code point of a <use>
    origin: tuple[float, float] = (0.0, 0.0)  # the glyph origin in page pixels
    scale: float = 1.0  # the <use>'s own scale
    tag: str = ""
    matrix: np.ndarray | None = None  # glyph units -> page pixels, for a <use>


class VerovioSvgError(ValueError):
    pass


def render_svg(svg: str, width_px: int, height_px: int, font: str = "Leipzig") -> RenderedPage:
    """Draw one page of Verovio SVG at `width_px` x `height_px` and label its symbols.

    `font` is the SMuFL font Verovio engraved with (its metrics place the letters of combined dynamics)."""
    root = ET.fromstring(svg)
    inner = root.find(f"{SVG}svg")
    if inner is None or "viewBox" not in inner.attrib:
        raise VerovioSvgError("expected Verovio's inner <svg class='definition-scale' viewBox=...>")
    _, _, vb_w, vb_h = (float(v) for v in inner.attrib["viewBox"].split())
    to_px = np.diag([width_px / vb_w, height_px / vb_h, 1.0])
    glyphs = _glyph_defs(root)
    items: list[_Item] = []
    texts: list[tuple[np.ndarray, ET.Element]] = []
    _walk(inner, to_px, (), glyphs, items, texts)
    pixels = _rasterise(items, texts, width_px, height_px)
    symbols, staff_space = _label(items, font)
    return RenderedPage(pixels, symbols, staff_space)


def _glyph_defs(root: ET.Element) -> dict[str, skia.Path]:
    defs = {}
    for group in root.iter(f"{SVG}defs"):
        for glyph in group:
            path = glyph.find(f"{SVG}path")
            if path is None:
                continue
            defs[glyph.attrib["id"]] = _cached_path(path.attrib["d"], path.attrib.get("transform", ""))
    return defs


@lru_cache(maxsize=4096)
def _cached_path(d: str, transform: str) -> skia.Path:
    path = parse_path(d)
    path.transform(to_skia_matrix(parse_transform(transform)))
    return path


def _walk(node: ET.Element, matrix: np.ndarray, groups: tuple, glyphs: dict, items: list, texts: list) -> None:
    for child in node:
        tag = child.tag.replace(SVG, "")
        attrib = child.attrib
        css = attrib.get("class", "")
        if "placeholder" in css.split() or tag in ("defs", "desc", "style"):
            continue
        m = matrix @ parse_transform(attrib.get("transform")) if "transform" in attrib else matrix
        if tag in ("g", "svg"):
            inner = groups + ((css.split()[0], attrib.get("id", "")),) if css else groups
            if tag == "svg" and "viewBox" in attrib:  # a nested figure: its own coordinate system
                x, y = float(attrib.get("x", 0)), float(attrib.get("y", 0))
                m = m @ np.array([[1, 0, x], [0, 1, y], [0, 0, 1.0]])
            _walk(child, m, inner, glyphs, items, texts)
        elif tag == "use":
            href = attrib.get(XLINK_HREF, "")
            glyph = glyphs.get(href.lstrip("#"))
            if glyph is None:
                continue
            outline = skia.Path(glyph)
            outline.transform(to_skia_matrix(m))
            code = _GLYPH_ID.match(href)
            items.append(_Item(outline, groups, code.group(1).upper() if code else None, (m[0, 2], m[1, 2]),
                               abs(m[0, 0]) / abs(matrix[0, 0]), tag, m))
        elif tag in ("path", "polygon", "rect", "ellipse", "polyline", "line"):
            outline = _primitive_outline(tag, attrib, m)
            if outline is not None:
                items.append(_Item(outline, groups, tag=tag))
        elif tag == "text":
            texts.append((m, child))


def _primitive_outline(tag: str, attrib: dict, m: np.ndarray) -> skia.Path | None:
    """Fill and stroke of one primitive as a single filled outline in pixels (Verovio's CSS strokes every
    shape with currentColor; the width comes from the element)."""
    if tag == "path":
        shape = parse_path(attrib["d"])
    elif tag in ("polygon", "polyline"):
        v = [float(t) for t in _NUMBER.findall(attrib.get("points", ""))]
        shape = skia.Path.Polygon([skia.Point(x, y) for x, y in zip(v[0::2], v[1::2])], tag == "polygon")
    elif tag == "rect":
        x, y, w, h = (float(attrib.get(k, 0)) for k in ("x", "y", "width", "height"))
        shape = skia.Path.Rect(skia.Rect.MakeXYWH(x, y, w, h))
    elif tag == "ellipse":
        cx, cy, rx, ry = (float(attrib.get(k, 0)) for k in ("cx", "cy", "rx", "ry"))
        shape = skia.Path.Oval(skia.Rect.MakeLTRB(cx - rx, cy - ry, cx + rx, cy + ry))
    else:  # line
        x1, y1, x2, y2 = (float(attrib.get(k, 0)) for k in ("x1", "y1", "x2", "y2"))
        shape = skia.Path.Line(skia.Point(x1, y1), skia.Point(x2, y2))
    shape.transform(to_skia_matrix(m))
    width = float(attrib.get("stroke-width", 1.0)) * abs(m[0, 0])  # uniform scale in Verovio's output
    stroke = skia.Paint(Style=skia.Paint.kStroke_Style, StrokeWidth=width,
                        StrokeCap=skia.Paint.kRound_Cap if attrib.get("stroke-linecap") == "round" else skia.Paint.kButt_Cap,
                        StrokeJoin=skia.Paint.kRound_Join if attrib.get("stroke-linejoin") == "round" else skia.Paint.kMiter_Join)
    outline = skia.Path()
    stroke.getFillPath(shape, outline)
    if tag != "polyline" and not shape.isLine():
        outline.addPath(shape)  # the fill
    return outline if not outline.isEmpty() else None


def _rasterise(items: list[_Item], texts: list, width_px: int, height_px: int) -> np.ndarray:
    info = skia.ImageInfo.Make(width_px, height_px, skia.ColorType.kGray_8_ColorType, skia.AlphaType.kOpaque_AlphaType)
    surface = skia.Surface.MakeRaster(info)
    canvas = surface.getCanvas()
    canvas.clear(skia.ColorWHITE)
    ink = skia.Paint(AntiAlias=True, Color=skia.ColorBLACK)
    for item in items:
        canvas.drawPath(item.outline, ink)
    for matrix, element in texts:
        _draw_text(canvas, matrix, element, ink)
    return np.asarray(surface.makeImageSnapshot(), dtype=np.uint8).reshape(height_px, width_px).copy()


_TYPEFACES: dict[str, skia.Typeface] = {}


def _typeface(style: str) -> skia.Typeface:
    """DejaVu Serif from its file in the project's dependencies (`omr_core.fonts`), never the system's fonts."""
    if style not in _TYPEFACES:
        from omr_core.fonts import dejavu

        typeface = skia.Typeface.MakeFromFile(str(dejavu("Serif", style)))
        if typeface is None:
            raise RuntimeError(f"skia cannot read {dejavu('Serif', style)}")
        _TYPEFACES[style] = typeface
    return _TYPEFACES[style]


def _draw_text(canvas: skia.Canvas, matrix: np.ndarray, element: ET.Element, paint: skia.Paint) -> None:
    """Text (titles, lyrics, tempo words) is drawn for realism and never labelled, as in DeepScores.

    A <tspan> with its own x or y starts a new run; font sizes and the anchor are inherited."""
    runs: list[list] = []  # [x, y, size, anchor, text]

    def visit(node: ET.Element, x: float, y: float, size: float, anchor: str) -> None:
        nonlocal runs
        size = float(node.attrib.get("font-size", f"{size}px").rstrip("px") or size)
        anchor = node.attrib.get("text-anchor", anchor)
        if "x" in node.attrib or "y" in node.attrib or not runs:
            x, y = float(node.attrib.get("x", x)), float(node.attrib.get("y", y))
            runs.append([x, y, size, anchor, ""])
        if node.text and node.text.strip():
            runs[-1][2] = max(runs[-1][2], size)
            runs[-1][4] += node.text
        for child in node:
            visit(child, x, y, size, anchor)
            if child.tail and child.tail.strip():
                runs[-1][4] += child.tail

    visit(element, 0.0, 0.0, 0.0, "start")
    for x, y, size, anchor, words in runs:
        words = words.strip()
        if not words or size <= 0:
            continue
        px, py, _ = matrix @ np.array([x, y, 1.0])
        font = skia.Font(_typeface("normal"), size * abs(matrix[0, 0]))
        width = font.measureText(words)
        px -= width if anchor == "end" else width / 2 if anchor == "middle" else 0
        canvas.drawString(words, px, py, font, paint)


def _label(items: list[_Item], font: str) -> tuple[list[Symbol], float]:
    staves = _staves(items)
    spaces = [s["space"] for s in staves.values()]
    staff_space = float(np.median(spaces)) if spaces else float("nan")
    scales = [it.scale for it in items if it.glyph and "notehead" in dict(it.groups)]
    normal_scale = float(np.median(scales)) if scales else 1.0
    symbols: list[Symbol] = []
    grouped: dict[tuple[str, str], list[_Item]] = defaultdict(list)
    staff_lines: dict[tuple[str, float], list[skia.Path]] = defaultdict(list)
    for item in items:
        names = [c for c, _ in item.groups]
        if any(n in UNLABELLED for n in names):
            continue
        group_class, group_id = item.groups[-1] if item.groups else ("", "")
        element_id = _element_id(item)
        special = next(((c, i) for c, i in reversed(item.groups) if c in GROUPED), None)
        if special:
            grouped[special].append(item)
            continue
        if item.glyph in COMBINED_DYNAMICS:
            for letter, path in _split_letters(item.glyph, COMBINED_DYNAMICS[item.glyph], item.matrix, font):
                symbols.append(Symbol(DYNAMIC_LETTERS[letter], _xyxy(path), element_id,
                                      f"glyph {item.glyph} letter {letter}", [path]))
        elif item.glyph:
            staff = _staff_of(item, staves)
            position = None
            if "notehead" in names and staff:
                position = int(round((staff["bottom"] - item.origin[1]) / (staff["space"] / 2)))
            name = glyph_class(item.glyph, tuple(names), item.scale < 0.85 * normal_scale, position)
            if name and name.startswith("clef") and staff:
                name = clef_class(name, 1 + int(round((staff["bottom"] - item.origin[1]) / staff["space"])))
            if name:
                symbols.append(Symbol(name, _xyxy(item.outline), element_id, f"glyph {item.glyph}", [item.outline]))
        elif group_class == "staff" and item.tag == "path":
            staff_id = staves.get(group_id)
            if staff_id:
                staff_lines[(staff_id["system"], round(staff_id["top"], 1))].append(item.outline)
        elif group_class in PRIMITIVES:
            symbols.append(Symbol(PRIMITIVES[group_class], _xyxy(item.outline), element_id, f"primitive {group_class}",
                                  [item.outline]))
        elif group_class == "barLine" and item.tag == "ellipse":
            symbols.append(Symbol("repeatDot", _xyxy(item.outline), element_id, "primitive barLine dot", [item.outline]))
    for (system, _), outlines in staff_lines.items():
        boxes = np.array([_xyxy(o) for o in outlines])
        symbols.append(Symbol("staff", (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()),
                              system, "primitive staff", outlines))
    for (group_class, group_id), members in grouped.items():
        boxes = np.array([_xyxy(m.outline) for m in members])
        xyxy = (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
        if group_class == "hairpin":
            name = _hairpin(members)
        elif group_class == "grpSym":
            # Verovio draws a brace as two curves, a bracket as glyphs and a rect (DeepScores has no bracket class)
            if any(m.tag == "rect" for m in members):
                continue
            name = "brace"
        else:
            name = {"arpeg": "arpeggiato", "octave": "ottavaBracket"}[group_class]
        symbols.append(Symbol(name, xyxy, group_id, f"group {group_class}", [m.outline for m in members]))
    return symbols, staff_space


_LETTER_GLYPHS = {"p": "E520", "m": "E521", "f": "E522", "r": "E523", "s": "E524", "z": "E525"}


def _split_letters(code: str, letters: str, matrix: np.ndarray, font: str) -> list[tuple[str, skia.Path]]:
    """The letters of a combined dynamics glyph ("ff" is one glyph, often one joined contour), each as its
    single-letter glyph of the same font, placed at the summed advance widths; the small kerning difference
    is spread over the gaps so the last letter ends where the combined glyph ends."""
    metrics = font_metrics(font)
    singles = [_LETTER_GLYPHS[letter] for letter in letters]
    offsets = np.concatenate([[0.0], np.cumsum([metrics[c]["advance"] for c in singles[:-1]])])
    combined_right = metrics[code]["x"] + metrics[code]["w"]
    last_right = offsets[-1] + metrics[singles[-1]]["x"] + metrics[singles[-1]]["w"]
    if len(letters) > 1:
        offsets += (combined_right - last_right) * np.arange(len(letters)) / (len(letters) - 1)
    out = []
    for letter, glyph, dx in zip(letters, singles, offsets):
        path = skia.Path(font_glyph(font, glyph))
        path.transform(to_skia_matrix(matrix @ np.array([[1, 0, dx], [0, 1, 0], [0, 0, 1.0]])))
        out.append((letter, path))
    return out


def _verovio_data() -> str:
    import os

    import verovio

    return os.path.join(os.path.dirname(verovio.__file__), "data")


@lru_cache(maxsize=8)
def font_metrics(font: str) -> dict[str, dict]:
    """SMuFL code point -> glyph box (x, y, w, h) and advance width, in font units, from Verovio's data."""
    import os

    tree = ET.parse(os.path.join(_verovio_data(), f"{font}.xml"))
    return {g.attrib["c"]: {"x": float(g.attrib["x"]), "y": float(g.attrib["y"]), "w": float(g.attrib["w"]),
                            "h": float(g.attrib["h"]), "advance": float(g.attrib.get("h-a-x", g.attrib["w"]))}
            for g in tree.getroot().iter("g")}


@lru_cache(maxsize=2048)
def font_glyph(font: str, code: str) -> skia.Path:
    """A glyph's outline in font units (y up turned y down, as Verovio's defs have it)."""
    import os

    path = ET.parse(os.path.join(_verovio_data(), font, f"{code}.xml")).getroot().find(f"{SVG}path")
    if path is None:
        path = ET.parse(os.path.join(_verovio_data(), font, f"{code}.xml")).getroot().find("path")
    return _cached_path(path.attrib["d"], path.attrib.get("transform", ""))


def _append(path: skia.Path, verb, points) -> None:
    if verb == skia.Path.kMove_Verb:
        path.moveTo(points[0])
    elif verb == skia.Path.kLine_Verb:
        path.lineTo(points[1])
    elif verb == skia.Path.kQuad_Verb:
        path.quadTo(points[1], points[2])
    elif verb == skia.Path.kCubic_Verb:
        path.cubicTo(points[1], points[2], points[3])
    elif verb == skia.Path.kConic_Verb:
        path.quadTo(points[1], points[2])
    elif verb == skia.Path.kClose_Verb:
        path.close()


def _element_id(item: _Item) -> str:
    return next((i for _, i in reversed(item.groups) if i), "")


def _xyxy(path: skia.Path) -> tuple[float, float, float, float]:
    r = path.computeTightBounds()
    return (r.left(), r.top(), r.right(), r.bottom())


def _staves(items: list[_Item]) -> dict[str, dict]:
    """Staff group id -> its lines' geometry (top, bottom, space) and the system it belongs to."""
    lines: dict[str, list[float]] = defaultdict(list)
    system_of: dict[str, str] = {}
    for item in items:
        if item.tag == "path" and item.groups and item.groups[-1][0] == "staff":
            staff_id = item.groups[-1][1]
            r = item.outline.computeTightBounds()
            lines[staff_id].append((r.top() + r.bottom()) / 2)
            system_of[staff_id] = next((i for c, i in item.groups if c == "system"), "")
    staves = {}
    for staff_id, ys in lines.items():
        if len(ys) >= 2:
            ys = sorted(ys)
            staves[staff_id] = {"top": ys[0], "bottom": ys[-1], "space": (ys[-1] - ys[0]) / (len(ys) - 1),
                                "system": system_of[staff_id]}
    return staves


def _staff_of(item: _Item, staves: dict[str, dict]) -> dict | None:
    for group_class, group_id in reversed(item.groups):
        if group_class == "staff" and group_id in staves:
            return staves[group_id]
    return None


def _hairpin(members: list[_Item]) -> str:
    """The vertical spread of the ink at each end decides: a crescendo opens to the right. (Verovio draws a
    hairpin as one polyline through its three points; other engravers as two lines.)"""
    points = np.concatenate([
        np.array([(p.x(), p.y()) for p in m.outline.getPoints(m.outline.countPoints())]) for m in members
    ])
    left, right = points[:, 0].min(), points[:, 0].max()
    reach = 0.1 * (right - left)
    left_gap = np.ptp(points[points[:, 0] <= left + reach, 1])
    right_gap = np.ptp(points[points[:, 0] >= right - reach, 1])
    return hairpin_class(float(left_gap), float(right_gap))