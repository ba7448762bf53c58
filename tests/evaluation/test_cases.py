"""Failure cases read one way, "true X, predicted Y", and the class filter matches either side of a case."""

import numpy as np
import pytest

from omr_core.evaluation.cases import case_table, describe_case, filter_mask, one_row_per_case, true_predicted
from omr_core.evaluation.matching import Flat
from omr_core.evaluation.run import summarise

WHOLE, HALF, BLACK = "noteheadWholeInSpace", "noteheadHalfInSpace", "noteheadBlackOnLine"
NAMES = [BLACK, HALF, WHOLE]


def boxes_of(gt_cls, gt_xyxy, pred_cls, pred_xyxy, conf):
    gt = Flat(np.zeros(len(gt_cls), np.int64), np.asarray(gt_xyxy, float), np.asarray(gt_cls))
    pred = Flat(np.zeros(len(pred_cls), np.int64), np.asarray(pred_xyxy, float), np.asarray(pred_cls),
                np.asarray(conf, float))
    return summarise(gt, pred, NAMES, ["page.png"], conf=0.25)


@pytest.fixture
def cases():
    """Six whole notes read as half notes, one black head found, one missed, one false half note."""
    wholes = [[60.0 * i, 0, 60.0 * i + 20, 20] for i in range(6)]
    gt_cls = [2] * 6 + [0, 0]
    gt_xyxy = wholes + [[0, 100, 20, 120], [100, 100, 120, 120]]
    pred_cls = [1] * 6 + [0, 1]
    pred_xyxy = wholes + [[0, 100, 20, 120], [500, 500, 520, 520]]
    return boxes_of(gt_cls, gt_xyxy, pred_cls, pred_xyxy, [0.8] * 8)


def test_every_row_knows_its_true_and_predicted_class(cases):
    summary, boxes = cases
    true, predicted = true_predicted(boxes)
    pairs = sorted(zip(boxes["kind"].astype(str), boxes["verdict"].astype(str), true, predicted))
    assert pairs.count(("pred", "misclassification", WHOLE, HALF)) == 6  # the prediction of a misread whole
    assert pairs.count(("gt", "FN", WHOLE, HALF)) == 6  # and its ground truth: the same case, the same words
    assert ("gt", "FN", BLACK, "") in pairs and ("pred", "FP-background", "", HALF) in pairs
    assert pairs.count(("gt", "TP", BLACK, BLACK)) == pairs.count(("pred", "TP", BLACK, BLACK)) == 1
    # the confusion matrix says the same: row true whole, column predicted half
    assert summary["confusion"][2][1] == 6


def test_captions_read_like_the_confusion_matrix(cases):
    _, boxes = cases
    words = {describe_case(row) for _, row in boxes.iterrows()}
    assert f"true {WHOLE}, predicted {HALF} · 0.80" in words and f"true {WHOLE}, predicted {HALF}" in words
    assert f"true {BLACK}, missed" in words and f"predicted {HALF}, on background · 0.80" in words
    assert not any(" as " in w for w in words)
    table = case_table(boxes)
    assert set(table["true"]) == {WHOLE, BLACK, "background"} and "missed" in set(table["predicted"])


@pytest.mark.parametrize("role, expected", [
    ("either", 6),  # whole notes read as something else, and anything read as a whole note
    ("true", 6),  # the ground truth is a whole note
    ("predicted", 0),  # the model never said "whole"
])
def test_the_class_filter_matches_the_chosen_side(cases, role, expected):
    _, boxes = cases
    mask = filter_mask(boxes, [WHOLE], ["misclassification"], role=role)
    assert mask.sum() == expected


def test_the_half_side_of_the_same_cases(cases):
    _, boxes = cases
    assert filter_mask(boxes, [HALF], ["misclassification"], role="predicted").sum() == 6
    assert filter_mask(boxes, [HALF], ["misclassification"], role="true").sum() == 0
    assert filter_mask(boxes, [HALF], None, role="either").sum() == 13  # 6 + 6 misread, 1 false half note
    with pytest.raises(ValueError, match="role must be one of"):
        filter_mask(boxes, [HALF], role="both")


def test_a_misread_box_shows_once(cases):
    _, boxes = cases
    mask = filter_mask(boxes, [WHOLE], ["misclassification", "FN"])
    assert mask.sum() == 12 and one_row_per_case(boxes, mask).sum() == 6
    only_fn = filter_mask(boxes, [WHOLE], ["FN"])
    assert one_row_per_case(boxes, only_fn).sum() == 6  # without the predictions, the ground truth stays


def test_a_case_crop_shows_the_truth_green_the_prediction_in_its_colour_and_the_case_thick(cases):
    from omr_core.evaluation.cases import case_drawing
    from omr_core.viz.draw import case_crop, class_color

    _, boxes = cases
    image = np.full((200, 600, 3), 255, np.uint8)
    case = boxes[(boxes["kind"] == "pred") & (boxes["verdict"] == "FP-background")].iloc[0]  # the false half note
    drawing = case_drawing(case, boxes)
    assert drawing["boxes_xyxy"].shape == (len(boxes), 4) and drawing["highlight"].sum() == 1
    found = boxes[(boxes["kind"] == "pred") & (boxes["verdict"] == "TP")].iloc[0]  # the black head at (0, 100)
    crop = case_crop(image, **case_drawing(found, boxes), pad_px=10, scale=2.0)
    assert crop.shape == (2 * 40, 2 * 30, 3)  # (0, 90)-(30, 130) of the image, doubled
    assert tuple(crop[20, 40]) == class_color(BLACK) or tuple(crop[20, 40]) == (0, 170, 0)  # top edge: pred over gt
    assert (crop[20:23, 30] != 255).any(axis=-1).all()  # the case itself: 3 px thick
    assert tuple(crop[5, 5]) == (255, 255, 255)  # the padding: paper


def test_confusion_labels_end_with_background_and_mark_look_alike_cells():
    from omr_core.evaluation.cases import BACKGROUND, confusion_labels

    labels, look_alike = confusion_labels(NAMES)
    assert labels == [*NAMES, BACKGROUND] and look_alike.shape == (4, 4)
    assert look_alike[1, 2] and look_alike[2, 1] and not look_alike[0, 2] and not look_alike[3].any()
