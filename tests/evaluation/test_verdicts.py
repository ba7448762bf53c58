"""Every verdict on a hand-built page, the confusion matrix that follows from them, and the F1 table."""

import numpy as np
import pytest

from omr_core.evaluation.matching import Flat
from omr_core.evaluation.verdicts import confusion_matrix, judge, per_class_table

HEAD, STEM, SHARP, NATURAL = range(4)


def flat(rows, image=None, conf=True):
    rows = np.array(rows, dtype=float).reshape(-1, 6 if conf else 5)
    return Flat(np.zeros(len(rows), np.int64) if image is None else np.array(image), rows[:, :4],
                rows[:, 4].astype(np.int64), rows[:, 5] if conf else None)


GT = flat([
    [0, 0, 20, 20, HEAD],        # 0: found (TP), and found twice (duplicate)
    [100, 0, 120, 20, HEAD],     # 1: found badly placed only (localisation) -> FN
    [200, 0, 220, 40, SHARP],    # 2: called a natural (misclassification) -> FN seen as natural
    [300, 0, 303, 60, STEM],     # 3: missed entirely -> FN
], conf=False)
PRED = flat([
    [0, 0, 20, 20, HEAD, 0.9],       # TP
    [1, 1, 21, 21, HEAD, 0.8],       # FP-duplicate
    [108, 6, 128, 26, HEAD, 0.7],    # FP-localisation (IoU ~0.27)
    [200, 0, 220, 40, NATURAL, 0.6], # misclassification (a sharp)
    [500, 500, 520, 520, HEAD, 0.5], # FP-background
    [0, 0, 20, 20, STEM, 0.1],       # under the confidence threshold: not judged
])


def test_every_verdict():
    v = judge(GT, PRED, conf=0.25)
    assert list(v.pred_verdict) == ["TP", "FP-duplicate", "FP-localisation", "misclassification", "FP-background", ""]
    assert list(v.gt_verdict) == ["TP", "FN", "FN", "FN"]
    assert v.pred_other.tolist() == [-1, -1, -1, SHARP, -1, -1] and v.gt_other.tolist() == [-1, -1, NATURAL, -1]
    assert v.pred_gt.tolist() == [0, -1, -1, -1, -1, -1] and v.gt_pred.tolist() == [0, -1, -1, -1]
    assert v.pred_iou[0] == 1.0 and 0.1 < v.pred_iou[2] < 0.5 and v.pred_iou[3] == 1.0 and v.gt_iou[0] == 1.0


def test_localisation_needs_some_overlap():
    far = flat([[114, 14, 134, 34, HEAD, 0.7]])  # IoU with box 1 is ~0.05
    assert judge(GT, far).pred_verdict[0] == "FP-background"


def test_the_threshold_decides_what_is_judged():
    v = judge(GT, PRED, conf=0.05)
    assert v.pred_verdict[5] == "misclassification" and v.pred_other[5] == HEAD  # a stem where the head is


def test_images_are_judged_apart():
    gt = flat([[0, 0, 20, 20, HEAD]], image=[1], conf=False)
    pred = flat([[0, 0, 20, 20, HEAD, 0.9]], image=[0])
    v = judge(gt, pred)
    assert list(v.pred_verdict) == ["FP-background"] and list(v.gt_verdict) == ["FN"]


def test_confusion_matrix_counts_each_box_once():
    m = confusion_matrix(GT, PRED, judge(GT, PRED, conf=0.25), n_classes=4)
    bg = 4
    assert m[HEAD, HEAD] == 1 and m[SHARP, NATURAL] == 1
    assert m[bg, HEAD] == 3  # duplicate, localisation, background
    assert m[HEAD, bg] == 1 and m[STEM, bg] == 1 and m[SHARP, bg] == 0  # the sharp is counted as confused
    assert m.sum() == 5 + 2  # five judged predictions, two plain misses


def test_per_class_table_and_the_f1_optimal_confidence():
    rows = {r["class_id"]: r for r in per_class_table(GT, PRED, judge(GT, PRED, conf=0.25), 4, conf=0.25)}
    head = rows[HEAD]
    assert (head["gt"], head["pred"], head["tp"]) == (2, 4, 1)
    assert head["precision"] == pytest.approx(0.25) and head["recall"] == pytest.approx(0.5)
    assert head["best_conf"] == pytest.approx(0.9) and head["best_f1"] == pytest.approx(2 / 3)
    assert rows[STEM]["best_conf"] == pytest.approx(0.1) and rows[STEM]["best_f1"] == 0.0
