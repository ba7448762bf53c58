"""SVG path data and transforms, as Verovio writes them, turned into skia paths and 3x3 matrices.

skia-python draws and measures paths (nonzero winding, anti-aliasing, tight bounds of curves) but has no
parser for SVG's `d` strings; this is one for the commands SVG defines except arcs (Verovio writes none).
"""

from __future__ import annotations

import re

import numpy as np
import skia

_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtZzAa]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate)\s*\(([^)]*)\)")


class SvgPathError(ValueError):
    pass


def parse_path(d: str) -> skia.Path:
    """An SVG path `d` string as a skia path (absolute coordinates, nonzero fill)."""
    tokens = _TOKEN.findall(d)
    path = skia.Path()
    x = y = start_x = start_y = 0.0
    last_control: tuple[float, float] | None = None  # for S/T reflections
    command, i = None, 0
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "Zz":
                path.close()
                x, y, last_control = start_x, start_y, None
                continue
        if command is None:
            raise SvgPathError(f"path data must start with a command, but got {tokens[i]!r} in {d[:60]!r}")
        upper = command.upper()
        if upper == "A":
            raise SvgPathError(f"arcs are not supported (Verovio writes none): {d[:60]!r}")
        n = _ARGS[upper]
        try:
            args = [float(t) for t in tokens[i : i + n]]
        except ValueError as exc:
            raise SvgPathError(f"expected {n} numbers after {command!r} in {d[:60]!r}") from exc
        if len(args) < n:
            raise SvgPathError(f"expected {n} numbers after {command!r}, but the path ends: {d[:60]!r}")
        i += n
        relative = command.islower()
        dx, dy = (x, y) if relative else (0.0, 0.0)
        control = None
        if upper == "M":
            x, y = args[0] + dx, args[1] + dy
            path.moveTo(x, y)
            start_x, start_y = x, y
            command = "l" if relative else "L"  # further pairs are implicit line-tos
        elif upper == "L":
            x, y = args[0] + dx, args[1] + dy
            path.lineTo(x, y)
        elif upper == "H":
            x = args[0] + dx
            path.lineTo(x, y)
        elif upper == "V":
            y = args[0] + dy
            path.lineTo(x, y)
        elif upper == "C":
            x1, y1, x2, y2 = args[0] + dx, args[1] + dy, args[2] + dx, args[3] + dy
            x, y = args[4] + dx, args[5] + dy
            path.cubicTo(x1, y1, x2, y2, x, y)
            control = (x2, y2)
        elif upper == "S":
            x1, y1 = (2 * x - last_control[0], 2 * y - last_control[1]) if last_control else (x, y)
            x2, y2 = args[0] + dx, args[1] + dy
            x, y = args[2] + dx, args[3] + dy
            path.cubicTo(x1, y1, x2, y2, x, y)
            control = (x2, y2)
        elif upper == "Q":
            x1, y1 = args[0] + dx, args[1] + dy
            x, y = args[2] + dx, args[3] + dy
            path.quadTo(x1, y1, x, y)
            control = (x1, y1)
        elif upper == "T":
            x1, y1 = (2 * x - last_control[0], 2 * y - last_control[1]) if last_control else (x, y)
            x, y = args[0] + dx, args[1] + dy
            path.quadTo(x1, y1, x, y)
            control = (x1, y1)
        # S reflects only a cubic's control point, T only a quadratic's
        last_control = control if control is not None and upper in "CSQT" else None
    return path


def parse_transform(text: str | None) -> np.ndarray:
    """An SVG `transform` attribute as a 3x3 float64 matrix (identity for None)."""
    matrix = np.eye(3)
    if not text:
        return matrix
    for name, raw in _TRANSFORM.findall(text):
        v = [float(t) for t in re.split(r"[\s,]+", raw.strip()) if t]
        if name == "translate":
            step = np.array([[1, 0, v[0]], [0, 1, v[1] if len(v) > 1 else 0.0], [0, 0, 1]])
        elif name == "scale":
            sx, sy = v[0], v[1] if len(v) > 1 else v[0]
            step = np.diag([sx, sy, 1.0])
        elif name == "matrix":
            a, b, c, d, e, f = v
            step = np.array([[a, c, e], [b, d, f], [0, 0, 1]])
        else:  # rotate(angle [cx cy])
            angle = np.deg2rad(v[0])
            cx, cy = (v[1], v[2]) if len(v) == 3 else (0.0, 0.0)
            cos, sin = np.cos(angle), np.sin(angle)
            step = np.array([[cos, -sin, cx - cos * cx + sin * cy], [sin, cos, cy - sin * cx - cos * cy], [0, 0, 1]])
        matrix = matrix @ step
    return matrix


def to_skia_matrix(matrix: np.ndarray) -> skia.Matrix:
    """A (3, 3) affine matrix of an SVG transform (column vectors: [x2, y2, 1] = matrix @ [x, y, 1]) as skia's Matrix."""
    m = skia.Matrix()
    m.setAffine([matrix[0, 0], matrix[1, 0], matrix[0, 1], matrix[1, 1], matrix[0, 2], matrix[1, 2]])
    return m


def transformed(path: skia.Path, matrix: np.ndarray) -> skia.Path:
    """A copy of `path` moved by the (3, 3) affine `matrix`."""
    out = skia.Path(path)
    out.transform(to_skia_matrix(matrix))
    return out


def tight_xyxy(path: skia.Path) -> tuple[float, float, float, float]:
    """Exact extent of a path's outline, curves included (not just their control points)."""
    r = path.computeTightBounds()
    return (r.left(), r.top(), r.right(), r.bottom())
