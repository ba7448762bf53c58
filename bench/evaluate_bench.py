"""Matching and mAP: omr_core.evaluation against pycocotools' COCOeval on the same 1M predictions.

    .venv/bin/python bench/evaluate_bench.py             # ~5 min on 2 CPU cores (COCOeval takes most of it)

Data: synthetic score-like pages (dense, many classes): ground truth per page, and predictions that find most
of it with jitter, plus duplicates, wrong classes and background boxes. Both sides compute mAP@0.5:0.95,
mAP@0.5 and mAP@0.75 with no per-image cap (COCOeval's maxDets set to 10^6). Also: how fast the failure page's
filters and counts follow on 100k judged boxes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.evaluation.cases import filter_mask  # noqa: E402
from omr_core.evaluation.matching import Flat, average_precision, map_summary, match  # noqa: E402
from omr_core.evaluation.run import summarise  # noqa: E402


def make(n_images: int, per_image: int, n_classes: int, seed: int = 0) -> tuple[Flat, Flat]:
    rng = np.random.default_rng(seed)
    n = n_images * per_image
    image = np.repeat(np.arange(n_images), per_image)
    xy = rng.uniform(0, 2000, (n, 2))
    wh = rng.uniform(6, 60, (n, 2))
    gt = Flat(image, np.column_stack([xy, xy + wh]), rng.integers(0, n_classes, n))
    found = np.flatnonzero(rng.random(n) < 0.85)
    dup = np.flatnonzero(rng.random(n) < 0.1)
    idx = np.concatenate([found, dup])
    boxes = gt.xyxy[idx] + rng.normal(0, 2.5, (len(idx), 4))
    cls = gt.class_id[idx].copy()
    wrong = rng.random(len(cls)) < 0.05
    cls[wrong] = rng.integers(0, n_classes, wrong.sum())
    k = int(0.08 * n)
    noise_xy = rng.uniform(0, 2000, (k, 2))
    boxes = np.concatenate([boxes, np.column_stack([noise_xy, noise_xy + rng.uniform(6, 60, (k, 2))])])
    boxes = np.column_stack([np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])])
    pred = Flat(np.concatenate([gt.image[idx], rng.integers(0, n_images, k)]), boxes,
                np.concatenate([cls, rng.integers(0, n_classes, k)]), rng.uniform(0.01, 1, len(boxes)))
    return gt, pred


def ours(gt: Flat, pred: Flat, n_classes: int) -> dict:
    return map_summary(average_precision(gt, pred, match(gt, pred), n_classes))


def cocoeval(gt: Flat, pred: Flat, n_classes: int) -> dict:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]])

    g, p = xywh(gt.xyxy), xywh(pred.xyxy)
    coco = COCO()
    coco.dataset = {"images": [{"id": int(i) + 1} for i in np.unique(gt.image)],
                    "categories": [{"id": c + 1} for c in range(n_classes)],
                    "annotations": [{"id": k + 1, "image_id": int(i) + 1, "category_id": int(c) + 1,
                                     "bbox": b.tolist(), "area": float(b[2] * b[3]), "iscrowd": 0}
                                    for k, (i, c, b) in enumerate(zip(gt.image, gt.class_id, g))]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        results = coco.loadRes([{"image_id": int(i) + 1, "category_id": int(c) + 1, "bbox": b.tolist(),
                                 "score": float(s)} for i, c, b, s in zip(pred.image, pred.class_id, p, pred.confidence)])
        evaluator = COCOeval(coco, results, "bbox")
        evaluator.params.maxDets = [1, 10, 10**6]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, -1]

    def mean(s):
        return float(s[s > -1].mean())
    return {"mAP50": mean(precision[0]), "mAP75": mean(precision[5]), "mAP50-95": mean(precision)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--per-image", type=int, default=486, help="ground-truth boxes per image")
    parser.add_argument("--classes", type=int, default=40)
    args = parser.parse_args()
    gt, pred = make(args.images, args.per_image, args.classes)
    print(f"{len(gt)} ground-truth boxes, {len(pred)} predictions on {args.images} images", flush=True)

    start = time.perf_counter()
    mine = ours(gt, pred, args.classes)
    ours_s = time.perf_counter() - start
    print(f"omr_core    {ours_s:7.1f} s  {mine}", flush=True)
    start = time.perf_counter()
    theirs = cocoeval(gt, pred, args.classes)
    coco_s = time.perf_counter() - start
    print(f"pycocotools {coco_s:7.1f} s  {theirs}", flush=True)
    worst = max(abs(mine[k] - theirs[k]) for k in mine)

    # The failure page: filters and verdict counts on 100k judged boxes.
    sub = np.flatnonzero(gt.image < max(1, 100_000 // (2 * args.per_image)))
    psub = np.flatnonzero(pred.image < max(1, 100_000 // (2 * args.per_image)))
    small_gt = Flat(gt.image[sub], gt.xyxy[sub], gt.class_id[sub])
    small_pred = Flat(pred.image[psub], pred.xyxy[psub], pred.class_id[psub], pred.confidence[psub])
    names = [f"class{i}" for i in range(args.classes)]
    images = [f"page{i}.png" for i in range(int(gt.image.max()) + 1)]
    _, boxes = summarise(small_gt, small_pred, names, images, conf=0.25)
    timings = []
    for classes, verdicts in ((None, None), (names[:3], ["FN"]), (names[:10], ["FP-background", "misclassification"])):
        start = time.perf_counter()
        chosen = boxes[filter_mask(boxes, classes, verdicts, (0.3, 1.0), (5.0, 40.0))]
        chosen["verdict"].astype(str).value_counts()
        timings.append(time.perf_counter() - start)
    filter_ms = max(timings) * 1e3

    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    lines = ["## Evaluation (bench/evaluate_bench.py)", "",
             f"{len(pred):,} predictions against {len(gt):,} ground-truth boxes on {args.images} synthetic pages "
             f"({args.classes} classes); {machine}.", "",
             "| | seconds | mAP@0.5:0.95 | mAP@0.5 | mAP@0.75 |", "|---|---:|---:|---:|---:|",
             f"| omr_core.evaluation | {ours_s:.1f} | {mine['mAP50-95']:.5f} | {mine['mAP50']:.5f} | {mine['mAP75']:.5f} |",
             f"| pycocotools COCOeval | {coco_s:.1f} | {theirs['mAP50-95']:.5f} | {theirs['mAP50']:.5f} | "
             f"{theirs['mAP75']:.5f} |", "",
             f"- speed: x{coco_s / ours_s:.1f} against pycocotools; largest difference in mAP {worst:.2e}",
             f"- failure-page filters and counts on {len(boxes):,} judged boxes: {filter_ms:.0f} ms at most "
             f"(three filter sets)"]
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
