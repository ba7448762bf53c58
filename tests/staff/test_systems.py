"""Systems from the strokes that join staves: engraved pages and their phone variants against the systems
Verovio engraved, the real phone photo, and constructed pages where the join is or is not there."""

import cv2
import numpy as np
import pytest

from omr_core.staff import estimate_staff_space
from omr_core.staff.lines import find_staves, page_darkness
from omr_core.staff.systems import group_systems, joined, line_course
from omr_core.structures.boxes import box_iou
from tests.conftest import DATA

from .test_space import staves_image


def systems_of(image):
    rgb = np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image
    estimate = estimate_staff_space(rgb)
    darkness = page_darkness(rgb)
    staves = find_staves(darkness, estimate)
    return staves, group_systems(darkness, staves, estimate.ink_darkness)


def test_every_staff_is_found_and_systems_are_as_engraved(system_pages):
    for page in system_pages:
        staves, groups = systems_of(page.pixels)
        found = np.array([s.xyxy for s in staves])
        assert len(found) == len(page.staves_xyxy), page.name
        match = box_iou(page.staves_xyxy, found).argmax(axis=1)
        assert (box_iou(page.staves_xyxy, found).max(axis=1) >= 0.5).all() and len(set(match)) == len(match), page.name
        system_of = {staff: k for k, group in enumerate(groups) for staff in group}
        assert [system_of[m] for m in match] == page.systems, page.name


def test_the_real_photo_has_its_eight_staves_in_four_braced_pairs():
    image = cv2.cvtColor(cv2.imread(str(DATA / "tabi.jpg")), cv2.COLOR_BGR2RGB)
    staves, groups = systems_of(image)
    assert len(staves) == 8
    assert groups == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert all(s.x1 - s.x0 > 0.9 * image.shape[1] for s in staves)  # each staff followed the width of the page


def _with_stroke(image, staves, x, width=3):
    """Draw a vertical stroke from the first staff's bottom line to the second's top line at column x."""
    out = image.copy()
    y0, y1 = line_course(staves[0], np.array([x]), 4)[0], line_course(staves[1], np.array([x]), 0)[0]
    cv2.line(out, (x, int(y0)), (x, int(y1)), 0, width)
    return out


@pytest.mark.parametrize("slope_deg", [0.0, 2.0])
def test_a_stroke_across_the_gap_joins_two_staves_and_nothing_else_does(slope_deg):
    image = staves_image(14.0, 1.6, slope_deg, wh=(1200, 700), staves=2)
    staves, groups = systems_of(image)
    assert len(staves) == 2 and groups == [[0], [1]]  # noteheads and stems do not cross the gap
    joined_image = _with_stroke(image, staves, 40)
    staves, groups = systems_of(joined_image)
    assert groups == [[0, 1]]
    # a dark band across the gap (a shadow, the paper's edge) is no stroke, and does not hide one in it
    shaded = image.copy()
    shaded[:, :200] = (shaded[:, :200] * 0.55).astype(np.uint8)
    staves, groups = systems_of(shaded)
    assert len(staves) == 2 and groups == [[0], [1]]
    staves, groups = systems_of(_with_stroke(shaded, staves, 170))  # where the shadow reads dark
    assert groups == [[0, 1]]


def test_no_staff_no_system():
    darkness = np.zeros((100, 100), np.float32)
    assert group_systems(darkness, [], 0.25) == []
    staves, _ = systems_of(staves_image(14.0, 1.6, 0.0, wh=(1200, 700), staves=2))
    assert not joined(np.zeros((700, 1200), np.float32), staves[0], staves[1], 0.25)
