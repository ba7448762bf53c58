"""Matching and AP: hand-built cases, and equality with pycocotools' COCOeval on the same predictions."""

import contextlib
import io

import numpy as np
import pytest

from omr_core.evaluation.matching import Flat, average_precision, flatten, map_summary, match
from omr_core.structures.detections import Detections


def random_set(seed: int, n_images: int = 12, n_classes: int = 5, per_image: int = 40):
    """Ground truth, and predictions that find most of it with jitter, duplicates, wrong classes and noise."""
    rng = np.random.default_rng(seed)
    gts, preds = [], []
    for _ in range(n_images):
        n = rng.integers(5, per_image)
        xy = rng.uniform(0, 900, (n, 2))
        wh = rng.uniform(8, 60, (n, 2))
        gt = Detections(np.column_stack([xy, xy + wh]), rng.integers(0, n_classes, n))
        found = rng.random(n) < 0.8
        jitter = rng.normal(0, 3, (found.sum(), 4))
        cls = gt.class_id[found].copy()
        wrong = rng.random(len(cls)) < 0.1
        cls[wrong] = rng.integers(0, n_classes, wrong.sum())
        boxes = [gt.xyxy[found] + jitter]
        classes = [cls]
        dup = rng.random(n) < 0.15  # duplicates of some symbols
        boxes.append(gt.xyxy[dup] + rng.normal(0, 2, (dup.sum(), 4)))
        classes.append(gt.class_id[dup])
        k = rng.integers(0, 8)  # background noise
        nxy = rng.uniform(0, 900, (k, 2))
        boxes.append(np.column_stack([nxy, nxy + rng.uniform(8, 60, (k, 2))]))
        classes.append(rng.integers(0, n_classes, k))
        xyxy = np.concatenate(boxes)
        xyxy = np.column_stack([np.minimum(xyxy[:, :2], xyxy[:, 2:]), np.maximum(xyxy[:, :2], xyxy[:, 2:])])
        preds.append(Detections(xyxy, np.concatenate(classes), rng.uniform(0.05, 1, len(xyxy))))
        gts.append(gt)
    return gts, preds


def coco_eval(gts, preds, n_classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    images = [{"id": i + 1} for i in range(len(gts))]
    boxes = [(i, b, c) for i, g in enumerate(gts) for b, c in zip(g.xyxy, g.class_id)]
    annotations = [{"id": k + 1, "image_id": i + 1, "category_id": int(c) + 1, "bbox": xywh(b),
                    "area": float((b[2] - b[0]) * (b[3] - b[1])), "iscrowd": 0} for k, (i, b, c) in enumerate(boxes)]
    coco = COCO()
    coco.dataset = {"images": images, "annotations": annotations,
                    "categories": [{"id": c + 1} for c in range(n_classes)]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        results = coco.loadRes([{"image_id": i + 1, "category_id": int(c) + 1, "bbox": xywh(b), "score": float(s)}
                                for i, p in enumerate(preds) for b, c, s in zip(p.xyxy, p.class_id, p.confidence)])
        evaluator = COCOeval(coco, results, "bbox")
        evaluator.params.maxDets = [1, 10, 100000]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # T, R, K (area all, most detections)
    per_class = np.where((precision > -1).all(axis=1), precision.mean(axis=1), np.nan).T  # K, T
    # stats[0] is read at COCO's fixed 100 detections; read all three as summarize() does, at our maxDets
    stats = [precision[precision > -1].mean()] + [precision[t][precision[t] > -1].mean() for t in (0, 5)]
    assert stats[1:] == pytest.approx(evaluator.stats[1:3])
    return stats, per_class


@pytest.mark.parametrize("seed", range(6))
def test_map_equals_pycocotools(seed):
    gts, preds = random_set(seed)
    gt, pred = flatten(gts), flatten(preds)
    ap = average_precision(gt, pred, match(gt, pred), n_classes=5)
    summary = map_summary(ap)
    (coco_map, coco_50, coco_75), coco_per_class = coco_eval(gts, preds, 5)
    assert summary["mAP50-95"] == pytest.approx(coco_map, abs=1e-3)
    assert summary["mAP50"] == pytest.approx(coco_50, abs=1e-3)
    assert summary["mAP75"] == pytest.approx(coco_75, abs=1e-3)
    assert np.allclose(ap, coco_per_class, atol=1e-3, equal_nan=True)


def flat(rows, image=None, conf=True):
    rows = np.array(rows, dtype=float).reshape(-1, 6 if conf else 5)
    return Flat(np.zeros(len(rows), np.int64) if image is None else np.array(image), rows[:, :4],
                rows[:, 4].astype(np.int64), rows[:, 5] if conf else None)


def test_the_more_confident_prediction_takes_the_box():
    gt = flat([[0, 0, 10, 10, 0]], conf=False)
    pred = flat([[0, 0, 10, 10, 0, 0.6], [0, 0, 10, 10.5, 0, 0.9]])
    m = match(gt, pred)
    assert m.pred_gt[:, 0].tolist() == [-1, 0] and m.gt_pred[0, 0] == 1


def test_a_prediction_takes_the_best_overlapping_free_box():
    gt = flat([[0, 0, 10, 10, 0], [2, 0, 12, 10, 0]], conf=False)
    pred = flat([[2, 0, 12, 10, 0, 0.9], [0, 0, 10, 10, 0, 0.8]])  # overlaps both; takes the exact one first
    assert match(gt, pred).pred_gt[:, 0].tolist() == [1, 0]


def test_thresholds_and_classes_and_images_separate():
    gt = flat([[0, 0, 10, 10, 0], [0, 0, 10, 10, 1], [0, 0, 10, 10, 0]], image=[0, 0, 1], conf=False)
    pred = flat([[0, 0, 10, 13, 0, 0.9], [0, 0, 10, 10, 1, 0.8]], image=[1, 0])  # IoU 0.77 in image 1
    m = match(gt, pred)
    assert m.pred_gt[0].tolist() == [2] * 6 + [-1] * 4 and m.pred_gt[1].tolist() == [1] * 10


def test_classes_without_ground_truth_have_no_ap_and_missed_classes_have_zero():
    gt = flat([[0, 0, 10, 10, 0], [20, 20, 30, 30, 2]], conf=False)
    pred = flat([[0, 0, 10, 10, 0, 0.9], [40, 40, 50, 50, 1, 0.9]])
    ap = average_precision(gt, pred, match(gt, pred), n_classes=3)
    assert ap[0, 0] == pytest.approx(1.0) and np.isnan(ap[1]).all() and ap[2, 0] == 0.0
    assert map_summary(ap)["mAP50"] == pytest.approx(0.5)
