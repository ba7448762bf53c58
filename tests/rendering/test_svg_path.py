import numpy as np
import pytest

from omr_core.rendering.svg_path import SvgPathError, parse_path, parse_transform, tight_xyxy, transformed


@pytest.mark.parametrize(
    "d, expected",
    [
        ("M10 10 H30 V30 H10 Z", (10, 10, 30, 30)),
        ("m10 10 h20 v20 h-20 z", (10, 10, 30, 30)),
        ("M0 0 L10 0 10 10", (0, 0, 10, 10)),  # implicit line-to after the first pair
        ("m0 0 10 0 0 10", (0, 0, 10, 10)),  # relative implicit line-tos
        ("M0 0 C0 -10 10 -10 10 0", (0, -7.5, 10, 0)),  # the curve's apex, not its control points
        ("M0 0 C0 -10 10 -10 10 0 S20 10 20 0", (0, -7.5, 20, 7.5)),  # S reflects the previous control point
        ("M0 0 Q5 -10 10 0 T20 0", (0, -5, 20, 5)),  # T reflects the quadratic's control point
        ("M0 0 c0 -10 10 -10 10 0 s10 10 10 0", (0, -7.5, 20, 7.5)),
        ("M1e1 1E1 L2.5e1 .5e2", (10, 10, 25, 50)),
    ],
)
def test_paths(d, expected):
    np.testing.assert_allclose(tight_xyxy(parse_path(d)), expected, atol=1e-4)


@pytest.mark.parametrize("d, message", [("10 10", "must start with a command"), ("M0 0 C1 2", "path ends"),
                                        ("M0 0 A1 1 0 0 1 5 5", "arcs")])
def test_bad_paths(d, message):
    with pytest.raises(SvgPathError, match=message):
        parse_path(d)


def test_transforms_compose_left_to_right():
    m = parse_transform("translate(100, 50) scale(2, -1)")
    np.testing.assert_allclose(m @ [1, 1, 1], [102, 49, 1])
    np.testing.assert_allclose(parse_transform("matrix(1 0 0 1 5 6)") @ [0, 0, 1], [5, 6, 1])
    np.testing.assert_allclose(parse_transform("rotate(90)") @ [1, 0, 1], [0, 1, 1], atol=1e-12)
    np.testing.assert_allclose(parse_transform(None), np.eye(3))
    box = tight_xyxy(transformed(parse_path("M0 0 H10 V10 H0 Z"), m))
    np.testing.assert_allclose(box, (100, 40, 120, 50))
