import numpy as np
import pytest

from omr_core.structures import BoxMode, box_area, box_iou, clip_boxes, convert

XYXY = np.array([[10.0, 20.0, 50.0, 80.0], [0.0, 0.0, 1.0, 1.0], [99.5, 0.25, 100.0, 200.0]])
WH = (100, 200)


@pytest.mark.parametrize("mode", list(BoxMode))
def test_round_trip_through_every_mode(mode):
    there = convert(XYXY, BoxMode.XYXY, mode, WH)
    back = convert(there, mode, BoxMode.XYXY, WH)
    np.testing.assert_allclose(back, XYXY, atol=1e-9)


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("xywh", [10, 20, 40, 60]),
        ("cxcywh", [30, 50, 40, 60]),
        ("cxcywhn", [0.3, 0.25, 0.4, 0.3]),
        ("obb8", [10, 20, 50, 20, 50, 80, 10, 80]),
    ],
)
def test_known_values(mode, expected):
    np.testing.assert_allclose(convert(XYXY[:1], "xyxy", mode, WH)[0], expected)


def test_obb_extent_takes_any_winding():
    rotated = np.array([[30.0, 10.0, 50.0, 30.0, 30.0, 50.0, 10.0, 30.0]])  # a diamond
    np.testing.assert_allclose(convert(rotated, "obb8", "xyxy"), [[10, 10, 50, 50]])


@pytest.mark.parametrize(
    "boxes, mode, message",
    [(np.zeros((3,)), "xyxy", r"shape \(n, 4\), but got shape \(3,\)"), (np.zeros((2, 4)), "obb8", r"\(n, 8\)")],
)
def test_wrong_shapes_say_expected_and_got(boxes, mode, message):
    with pytest.raises(ValueError, match=message):
        convert(boxes, mode, "xyxy")


def test_normalised_needs_image_size():
    with pytest.raises(ValueError, match="image_wh"):
        convert(XYXY, "xyxy", "cxcywhn")


def test_empty_input_gives_empty_output():
    assert convert(np.zeros((0, 4)), "xyxy", "cxcywhn", WH).shape == (0, 4)


def test_area_iou_clip():
    a = np.array([[0.0, 0, 10, 10]])
    b = np.array([[5.0, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_area(b), [100, 100])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 0.0]])
    np.testing.assert_allclose(clip_boxes(np.array([[-5.0, -5, 5, 5]]), (0, 0, 4, 4)), [[0, 0, 4, 4]])


def test_paired_iou_matches_the_diagonal_of_the_full_matrix():
    rng = np.random.default_rng(0)
    a = np.sort(rng.uniform(0, 100, (20, 4)).reshape(20, 2, 2), axis=1).transpose(0, 2, 1).reshape(20, 4)
    b = np.sort(rng.uniform(0, 100, (20, 4)).reshape(20, 2, 2), axis=1).transpose(0, 2, 1).reshape(20, 4)
    from omr_core.structures import box_iou_paired

    np.testing.assert_allclose(box_iou_paired(a, b), np.diag(box_iou(a, b)))
    with pytest.raises(ValueError, match="same shape"):
        box_iou_paired(a, b[:3])


def test_same_mode_keeps_rotated_corners():
    diamond = np.array([[30.0, 10.0, 50.0, 30.0, 30.0, 50.0, 10.0, 30.0]])
    np.testing.assert_allclose(convert(diamond, "obb8", "obb8"), diamond)


def test_a_box_belongs_to_the_region_holding_its_centre():
    from omr_core.structures.boxes import centres_in

    boxes = np.array([[0, 0, 10, 10], [95, 0, 105, 10], [90, 0, 100, 10]], float)
    assert centres_in(boxes, (0, 0, 100, 50)).tolist() == [True, False, True]
    assert centres_in(boxes, (100, 0, 200, 50)).tolist() == [False, True, False]


def test_crop_and_page_coordinates_are_inverse():
    from omr_core.structures.boxes import to_local, to_page

    xyxy = np.array([[10, 20, 30, 60], [0, 0, 1, 1]], float)
    assert to_page(xyxy, (100, 200), 2.0).tolist() == [[105, 210, 115, 230], [100, 200, 100.5, 200.5]]
    assert np.allclose(to_local(to_page(xyxy, (100, 200), 2.5), (100, 200), 2.5), xyxy)
