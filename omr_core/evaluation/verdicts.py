"""A verdict for every prediction and every ground-truth box (pure numpy).

At a confidence threshold `conf` and an IoU threshold `iou` (0.5), predictions are matched to ground truth as
COCO does (most confident first, same class, best free IoU). Then, for each prediction:

    TP                 matched
    FP-duplicate       not matched, but a same-class box it overlaps at IoU >= iou was taken by a more
                       confident prediction
    misclassification  not matched, and it overlaps a box of another class at IoU >= iou (`other` names it)
    FP-localisation    not matched, best same-class IoU in (loc_min, iou): the right symbol, badly placed
    FP-background      none of the above: nothing is there

and for each ground-truth box: TP (matched) or FN; an FN that a prediction of another class overlaps at
IoU >= iou names that class in `other` (it was seen, but misclassified). The rules apply in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.evaluation.matching import Flat, match
from omr_core.structures.boxes import box_iou, box_iou_paired
from omr_core.structures.detections import DEFAULT_CONF

VERDICTS = ("TP", "FP-background", "FP-duplicate", "FP-localisation", "misclassification", "FN")
BACKGROUND_FP = ("FP-background", "FP-duplicate", "FP-localisation")  # predictions where no such symbol is
FALSE = (*BACKGROUND_FP, "misclassification")  # every prediction that is not a TP


@dataclass(frozen=True)
class Verdicts:
    pred_verdict: np.ndarray  # (n_pred,) str, for predictions at or above conf; "" below it
    pred_iou: np.ndarray  # best IoU with a same-class box (the other class's box for misclassifications)
    pred_other: np.ndarray  # (n_pred,) int64: the other class for misclassifications, else -1
    pred_gt: np.ndarray  # (n_pred,) int64: matched ground-truth index, or -1
    gt_verdict: np.ndarray  # (n_gt,) str
    gt_iou: np.ndarray  # IoU with the matching prediction (0 for FN)
    gt_other: np.ndarray  # (n_gt,) int64: the class a misclassifying prediction gave it, else -1
    gt_pred: np.ndarray  # (n_gt,) int64: matched prediction index, or -1


def judge(gt: Flat, pred: Flat, conf: float = DEFAULT_CONF, iou: float = 0.5, loc_min: float = 0.1) -> Verdicts:
    n_pred, n_gt = len(pred), len(gt)
    kept = np.flatnonzero(pred.confidence >= conf) if n_pred else np.zeros(0, np.int64)
    sub = Flat(pred.image[kept], pred.xyxy[kept], pred.class_id[kept], pred.confidence[kept])
    matching = match(gt, sub, np.array([iou]))
    pred_gt = np.full(n_pred, -1, np.int64)
    pred_gt[kept] = matching.pred_gt[:, 0]
    gt_pred = np.full(n_gt, -1, np.int64)
    hit = matching.gt_pred[:, 0] >= 0 if n_gt else np.zeros(0, bool)
    gt_pred[hit] = kept[matching.gt_pred[hit, 0]]  # (none when nothing reached `conf`: every box is then an FN)

    pred_verdict = np.full(n_pred, "", dtype=object)
    pred_iou = np.zeros(n_pred)
    pred_other = np.full(n_pred, -1, np.int64)
    gt_other = np.full(n_gt, -1, np.int64)
    gt_iou = np.zeros(n_gt)
    pred_verdict[kept] = "TP"
    p_by_image = _by_image(sub.image)
    g_by_image = _by_image(gt.image) if n_gt else {}
    for image, p_rows in p_by_image.items():
        p_idx = kept[p_rows]
        g_idx = g_by_image.get(image, np.zeros(0, np.int64))
        if len(g_idx) == 0:
            pred_verdict[p_idx[pred_gt[p_idx] < 0]] = "FP-background"
            continue
        overlap = box_iou(pred.xyxy[p_idx], gt.xyxy[g_idx])
        same = pred.class_id[p_idx][:, None] == gt.class_id[g_idx][None, :]
        best_same = np.where(same, overlap, 0.0).max(axis=1)
        other_iou = np.where(same, 0.0, overlap)
        best_other_at = other_iou.argmax(axis=1)
        best_other = other_iou[np.arange(len(p_idx)), best_other_at]
        matched = pred_gt[p_idx] >= 0
        duplicate = ~matched & (best_same >= iou)
        wrong_class = ~matched & ~duplicate & (best_other >= iou)
        localisation = ~matched & ~duplicate & ~wrong_class & (best_same > loc_min)
        background = ~matched & ~duplicate & ~wrong_class & ~localisation
        for mask, name in ((duplicate, "FP-duplicate"), (wrong_class, "misclassification"),
                           (localisation, "FP-localisation"), (background, "FP-background")):
            pred_verdict[p_idx[mask]] = name
        pred_iou[p_idx] = np.where(wrong_class, best_other, best_same)
        pred_other[p_idx[wrong_class]] = gt.class_id[g_idx[best_other_at[wrong_class]]]
        # A missed box that a prediction of another class covers was seen but misclassified.
        seen_as = np.where(wrong_class[:, None] & (other_iou >= iou), other_iou, 0.0)
        covered = seen_as.max(axis=0) > 0
        gt_other[g_idx[covered]] = pred.class_id[p_idx[seen_as.argmax(axis=0)[covered]]]
    gt_verdict = np.where(gt_pred >= 0, "TP", "FN").astype(object)
    hit = gt_pred >= 0
    if hit.any():
        gt_iou[hit] = box_iou_paired(gt.xyxy[hit], pred.xyxy[gt_pred[hit]])
    gt_other[hit] = -1
    return Verdicts(pred_verdict, pred_iou, pred_other, pred_gt, gt_verdict, gt_iou, gt_other, gt_pred)


def _by_image(image: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(image, kind="stable")
    keys, starts = np.unique(image[order], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    return {int(k): order[s:e] for k, s, e in zip(keys, starts, ends)}


def confusion_matrix(gt: Flat, pred: Flat, verdicts: Verdicts, n_classes: int) -> np.ndarray:
    """(n_classes + 1, n_classes + 1) counts: rows are the true class (last: background), columns the
    predicted class (last: background, i.e. missed). Only predictions at or above the verdicts' confidence."""
    matrix = np.zeros((n_classes + 1, n_classes + 1), dtype=np.int64)
    bg = n_classes
    v = verdicts.pred_verdict
    tp = v == "TP"
    np.add.at(matrix, (gt.class_id[verdicts.pred_gt[tp]], pred.class_id[tp]), 1)
    wrong = v == "misclassification"
    np.add.at(matrix, (verdicts.pred_other[wrong], pred.class_id[wrong]), 1)
    false = np.isin(v, BACKGROUND_FP)
    np.add.at(matrix, (np.full(false.sum(), bg), pred.class_id[false]), 1)
    missed = (verdicts.gt_verdict == "FN") & (verdicts.gt_other < 0)  # misclassified ones are counted above
    np.add.at(matrix, (gt.class_id[missed], np.full(missed.sum(), bg)), 1)
    return matrix


def f1_curves(gt: Flat, pred: Flat, n_classes: int, iou: float = 0.5) -> dict[str, np.ndarray]:
    """Per class, precision, recall and F1 as the confidence threshold sweeps every prediction's confidence
    (COCO matching at `iou`). Returns arrays indexed [class] of (confidences, precision, recall, f1)."""
    matching = match(gt, pred, np.array([iou]))
    tp = matching.pred_tp[:, 0]
    gt_count = np.bincount(gt.class_id, minlength=n_classes) if len(gt) else np.zeros(n_classes, np.int64)
    curves = {}
    for c in range(n_classes):
        idx = np.flatnonzero(pred.class_id == c)
        idx = idx[np.argsort(-pred.confidence[idx], kind="mergesort")]
        hits = np.cumsum(tp[idx])
        precision = hits / np.arange(1, len(idx) + 1) if len(idx) else np.zeros(0)
        recall = hits / gt_count[c] if gt_count[c] else np.zeros(len(idx))
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
        curves[c] = (pred.confidence[idx], precision, recall, f1)
    return curves


def per_class_table(gt: Flat, pred: Flat, verdicts: Verdicts, n_classes: int, conf: float) -> list[dict]:
    """Per class at `conf`: ground truth, predictions, TP, precision, recall, F1, and the F1-optimal confidence."""
    curves = f1_curves(gt, pred, n_classes)
    rows = []
    for c in range(n_classes):
        n_true = int((gt.class_id == c).sum())
        at = (pred.class_id == c) & (pred.confidence >= conf)
        tp = int((verdicts.pred_verdict[at] == "TP").sum())
        precision = tp / at.sum() if at.sum() else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        confidences, _, _, f1_curve = curves[c]
        best = int(np.argmax(f1_curve)) if len(f1_curve) else -1
        rows.append({"class_id": c, "gt": n_true, "pred": int(at.sum()), "tp": tp, "precision": precision,
                     "recall": recall, "f1": f1, "best_conf": float(confidences[best]) if best >= 0 else None,
                     "best_f1": float(f1_curve[best]) if best >= 0 else 0.0})
    return rows
