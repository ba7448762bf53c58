"""Resizing to a model's staff space: which value wins, when nothing is resized, and exact box mapping."""

import numpy as np
import pytest

from omr_core.staff.rescale import plan_rescale, resize, to_source, to_target
from omr_core.staff.space import StaffSpaceEstimate


def estimate(space, confidence=0.9):
    return StaffSpaceEstimate(space, 1.5, confidence, 100, 60.0)


@pytest.mark.parametrize("kwargs, source, factor", [
    ({"estimate": estimate(24.0)}, "measured", 0.5),
    ({"estimate": estimate(24.0), "staff_space_px": 6.0}, "given staff space", 2.0),
    ({"estimate": estimate(24.0), "staff_space_px": 6.0, "scale": 1.5}, "given scale", 1.5),
    ({"estimate": StaffSpaceEstimate(None, None, 0.0, 0, 0.0, "blank")}, "no staff found (blank)", 1.0),
    ({"estimate": estimate(24.0, confidence=0.05)}, "confidence", 1.0),
    ({}, "no staff space given or measured", 1.0),
])
def test_the_caller_wins_over_the_estimate_and_no_staff_keeps_the_native_scale(kwargs, source, factor):
    plan = plan_rescale((1000, 800), 12.0, **kwargs)
    assert source in plan.source
    assert plan.factor == pytest.approx(factor, abs=1e-3)
    assert ("native" in plan.describe()) == (factor == 1.0)


def test_a_model_without_a_staff_space_reads_at_native_scale():
    plan = plan_rescale((1000, 800), None, estimate=estimate(24.0))
    assert plan.identity and "records no staff space" in plan.source


def test_factors_near_one_keep_the_image_and_absurd_ones_are_refused():
    assert plan_rescale((1000, 800), 12.0, staff_space_px=12.2).identity
    assert not plan_rescale((1000, 800), 12.0, staff_space_px=12.2, within=0.0).identity
    with pytest.raises(ValueError, match="outside"):
        plan_rescale((1000, 800), 12.0, staff_space_px=0.5)
    with pytest.raises(ValueError, match="positive"):
        plan_rescale((1000, 800), 12.0, staff_space_px=0.0)


@pytest.mark.parametrize("factor", [0.37, 0.5, 0.71, 1.33, 2.5])
def test_boxes_map_back_exactly_and_land_on_the_resized_ink(factor):
    """A black square drawn at a known place is found where the mapped box says, in both directions."""
    image = np.full((900, 1300, 3), 255, np.uint8)
    box = np.array([[400.0, 300.0, 480.0, 360.0]])
    image[300:360, 400:480] = 0
    plan = plan_rescale((1300, 900), 12.0, staff_space_px=12.0 / factor)
    small = resize(image, plan)
    assert (small.shape[1], small.shape[0]) == plan.size_wh == (round(1300 * factor), round(900 * factor))
    mapped = to_target(box, plan)
    ys, xs = np.nonzero(small[:, :, 0] < 128)
    np.testing.assert_allclose([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], mapped[0], atol=1.0)
    np.testing.assert_allclose(to_source(mapped, plan), box, atol=1e-9)
    with pytest.raises(ValueError, match="the plan is for"):
        resize(image[:100], plan)


def test_enlarging_keeps_a_small_hole_open():
    """A small page is enlarged bicubically: a one-pixel gap in the ink (a hollow notehead at 8 px staff space)
    stays lighter than bilinear interpolation leaves it, and the half noteheads are read (34% found in a space
    against 19%, 36% at the page's own scale)."""
    import cv2

    page = np.full((40, 40, 3), 255, np.uint8)
    page[:, 15:25] = 0
    page[:, 20] = 255  # the hole
    plan = plan_rescale((40, 40), 16.6, staff_space_px=8.0)
    band = slice(33, 52)  # the enlarged ink and its hole
    ours = resize(page, plan)[40, band, 0].astype(float)
    linear = cv2.resize(page, plan.size_wh, interpolation=cv2.INTER_LINEAR)[40, band, 0].astype(float)
    assert plan.size_wh == (83, 83) and ours.sum() > linear.sum() + 30
