"""Match predictions to ground truth and compute COCO-style average precision (pure numpy).

The rules are COCO's (pycocotools' `evaluateImg` and `accumulate`), so the numbers agree with it:
- per image and class, predictions are taken most confident first; each takes the still unmatched ground-truth
  box of its class with the highest IoU at or above the threshold (thresholds 0.50, 0.55, ..., 0.95);
- per class, all predictions are ranked by confidence; precision is made non-increasing and read at 101 recall
  points (0, 0.01, ..., 1); AP is their mean; a class without ground truth has no AP and is left out of mAP.
Unlike COCO's default there is no cap of 100 predictions per image: a score page holds 500 symbols or more.

Speed: the work is grouped by (image, class). Where no prediction of a group overlaps two ground-truth boxes at
IoU >= 0.5 and no ground-truth box is overlapped by two predictions, the greedy matching has only one outcome
and is read off at once for all thresholds; only the other groups run the greedy loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.structures.boxes import box_iou
from omr_core.structures.detections import Detections

THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class Flat:
    """Boxes of many images in parallel arrays; `image` is each box's image index."""

    image: np.ndarray
    xyxy: np.ndarray
    class_id: np.ndarray
    confidence: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.image)


def flatten(per_image: list[Detections]) -> Flat:
    counts = [len(d) for d in per_image]
    has_conf = any(d.confidence is not None for d in per_image)
    return Flat(np.repeat(np.arange(len(per_image)), counts),
                np.concatenate([d.xyxy for d in per_image]) if per_image else np.zeros((0, 4)),
                np.concatenate([d.class_id for d in per_image]) if per_image else np.zeros(0, np.int64),
                np.concatenate([d.confidence if d.confidence is not None else np.ones(len(d)) for d in per_image])
                if has_conf else None)


@dataclass(frozen=True)
class Matching:
    """Which ground-truth box each prediction took at each threshold (-1: none)."""

    thresholds: np.ndarray
    pred_gt: np.ndarray  # (n_pred, T) int64: index into the ground truth, or -1
    gt_pred: np.ndarray  # (n_gt, T) int64: index into the predictions, or -1

    @property
    def pred_tp(self) -> np.ndarray:
        """(n_pred, T) bool: each prediction is a true positive at each threshold."""
        return self.pred_gt >= 0


def match(gt: Flat, pred: Flat, thresholds: np.ndarray = THRESHOLDS) -> Matching:
    """COCO greedy matching of `pred` to `gt` at each IoU threshold: per image and class, the most confident
    prediction first takes the unmatched ground-truth box it overlaps most.

    Args:
        thresholds: (T,) IoU thresholds (default 0.5:0.05:0.95).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    n_t = len(thresholds)
    pred_gt = np.full((len(pred), n_t), -1, dtype=np.int64)
    gt_pred = np.full((len(gt), n_t), -1, dtype=np.int64)
    if len(pred) == 0 or len(gt) == 0:
        return Matching(thresholds, pred_gt, gt_pred)
    n_classes = int(max(gt.class_id.max(), pred.class_id.max())) + 1
    p_order = np.lexsort((-pred.confidence, pred.class_id, pred.image))  # by image, class, then most confident
    g_order = np.lexsort((gt.class_id, gt.image))
    p_keys = pred.image[p_order].astype(np.int64) * n_classes + pred.class_id[p_order]
    g_keys = gt.image[g_order].astype(np.int64) * n_classes + gt.class_id[g_order]
    p_start = np.flatnonzero(np.r_[True, p_keys[1:] != p_keys[:-1]])
    p_end = np.r_[p_start[1:], len(p_keys)]
    g_lo = np.searchsorted(g_keys, p_keys[p_start], side="left")
    g_hi = np.searchsorted(g_keys, p_keys[p_start], side="right")
    limits = np.minimum(thresholds, 1 - 1e-10)  # as COCO
    for ps, pe, gs, ge in zip(p_start.tolist(), p_end.tolist(), g_lo.tolist(), g_hi.tolist()):
        if gs == ge:
            continue
        p_idx, g_idx = p_order[ps:pe], g_order[gs:ge]
        iou = box_iou(pred.xyxy[p_idx], gt.xyxy[g_idx])
        over = iou >= limits[0]
        if over.sum(axis=1).max() <= 1 and over.sum(axis=0).max() <= 1:  # no conflicts: one outcome
            rows, cols = np.nonzero(over)
            hit = iou[rows, cols][:, None] >= limits[None, :]
            for t in range(n_t):
                r, c = rows[hit[:, t]], cols[hit[:, t]]
                pred_gt[p_idx[r], t] = g_idx[c]
                gt_pred[g_idx[c], t] = p_idx[r]
            continue
        taken = np.zeros((len(g_idx), n_t), dtype=bool)
        for row in range(len(p_idx)):
            candidates = np.where(~taken & (iou[row][:, None] >= limits[None, :]), iou[row][:, None], -1.0)
            # COCO keeps the last of equal IoUs; argmax on the reversed order does the same
            best = len(g_idx) - 1 - np.argmax(candidates[::-1], axis=0)
            found = candidates[best, np.arange(n_t)] >= 0
            for t in np.flatnonzero(found):
                taken[best[t], t] = True
                pred_gt[p_idx[row], t] = g_idx[best[t]]
                gt_pred[g_idx[best[t]], t] = p_idx[row]
    return Matching(thresholds, pred_gt, gt_pred)


def average_precision(gt: Flat, pred: Flat, matching: Matching, n_classes: int) -> np.ndarray:
    """(n_classes, T) AP per class and threshold, COCO's 101-point interpolation; NaN for classes without
    ground truth."""
    n_t = len(matching.thresholds)
    ap = np.full((n_classes, n_t), np.nan)
    gt_count = np.bincount(gt.class_id, minlength=n_classes) if len(gt) else np.zeros(n_classes, np.int64)
    if len(pred) == 0:
        ap[gt_count > 0] = 0.0
        return ap
    # COCO ranks a class's predictions image by image (each most confident first), then by confidence, stably.
    order = np.lexsort((-pred.confidence, pred.image))
    order = order[np.argsort(-pred.confidence[order], kind="mergesort")]
    by_class = order[np.argsort(pred.class_id[order], kind="stable")]
    bounds = np.searchsorted(pred.class_id[by_class], np.arange(n_classes + 1))
    tp_all = matching.pred_tp
    for c in np.flatnonzero(gt_count > 0):
        idx = by_class[bounds[c] : bounds[c + 1]]
        if len(idx) == 0:
            ap[c] = 0.0
            continue
        tp = np.cumsum(tp_all[idx], axis=0, dtype=np.float64)
        fp = np.cumsum(~tp_all[idx], axis=0, dtype=np.float64)
        recall = tp / gt_count[c]
        precision = tp / (tp + fp + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1], axis=0)[::-1]  # non-increasing
        for t in range(n_t):
            at = np.searchsorted(recall[:, t], RECALL_POINTS, side="left")
            valid = at < len(idx)
            ap[c, t] = np.where(valid, precision[np.minimum(at, len(idx) - 1), t], 0.0).sum() / len(RECALL_POINTS)
    return ap


def map_summary(ap: np.ndarray, thresholds: np.ndarray = THRESHOLDS) -> dict[str, float]:
    """mAP@0.5, mAP@0.75 and mAP@0.5:0.95 over the classes that have ground truth.

    Args:
        ap: (n_classes, T) average precision, NaN for a class without ground truth.
        thresholds: (T,) the IoU thresholds of `ap`'s columns.
    """
    has = ~np.isnan(ap[:, 0])
    if not has.any():
        return {"mAP50": float("nan"), "mAP75": float("nan"), "mAP50-95": float("nan")}
    at = {float(t): i for i, t in enumerate(np.round(thresholds, 2))}
    return {"mAP50": float(ap[has, at[0.5]].mean()), "mAP75": float(ap[has, at[0.75]].mean()),
            "mAP50-95": float(ap[has].mean())}
