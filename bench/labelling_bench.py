"""How many actions a work unit needs on the Annotation page, from the model's pre-labels to "Accept unit".

    .venv/bin/python bench/labelling_bench.py            # ~5 min on 2 CPU cores (4 pages through the model)

Pages with a known truth: the first page of two pieces of music21's corpus (a piano rag like the real photo, a
four-voice chorale) engraved as the generator does, and each page's phone variant (the scan-noise "phone"
preset: slope, curl, shadow, blur). Each page goes through what the page does: the bundled model reads it whole
(`SymbolDetector`, as the `prelabel` job, keeping boxes from prelabel.KEEP_FROM), and the page is cut into its
work units (`annotation.units`). Every pre-label and every true symbol of the model's classes gets its verdict
(`evaluation.verdicts.judge`, IoU 0.5), and each unit is charged what the canvas needs to put it right:
- a box of the wrong class: 2 (click it, a digit / legend entry / search);
- a box where nothing is, or a second box on a symbol: 2 (click it, Delete);
- a box of the right symbol badly placed: 2 (click it, drag a handle); its symbol is then found;
- a symbol no box found: 1 (a drag), plus 1 for each class the missing ones are drawn in (a digit first);
- the unit accepted: 1.
Printed: per page and over all units, boxes per unit and actions per unit (median, mean, worst), and the true
symbols of classes the model does not know (labelling those is drawing from scratch: a drag each).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PIECES = ("joplin/maple_leaf_rag.mxl", "bach/bwv66.6.mxl")


def pages():
    """(name, rgb page, true boxes (n, 4), true class names (n,)) of each piece's first page and its phone
    variant."""
    from omr_core.datasets.scan_noise import ScanConfig, scan_page
    from omr_core.rendering.generate import corpus_root, engraver, load_score
    from omr_core.rendering.verovio_page import render_svg

    for k, piece in enumerate(PIECES):
        toolkit = engraver("Bravura", 40.0, 2100, (1960, 2772), k + 1)
        assert toolkit.loadData(load_score(corpus_root() / piece)), piece
        page = render_svg(toolkit.renderToSVG(1), 1960, 2772, "Bravura")
        xyxy = np.array([s.xyxy for s in page.symbols], dtype=np.float64)
        names = np.array([s.class_name for s in page.symbols], dtype=object)
        yield piece, np.repeat(page.pixels[:, :, None], 3, axis=2), xyxy, names
        scanned = scan_page(page.pixels, xyxy, np.random.default_rng([9, k]), ScanConfig.preset("phone"))
        pixels = scanned.pixels if scanned.pixels.ndim == 3 else np.repeat(scanned.pixels[:, :, None], 3, axis=2)
        yield piece + " (phone)", pixels, scanned.xyxy[scanned.visible], names[scanned.visible]


def unit_actions(verdicts, gt, pred, gt_unit, pred_unit, n_units) -> list[int]:
    """The actions each unit needs (see the module docstring)."""
    from omr_core.structures.boxes import box_iou

    actions = [1] * n_units  # accepting it
    for k in range(n_units):
        p = np.flatnonzero(pred_unit == k)
        v = verdicts.pred_verdict[p]
        actions[k] += 2 * int(np.isin(v, ["misclassification", "FP-background", "FP-duplicate",
                                          "FP-localisation"]).sum())
        g = np.flatnonzero((gt_unit == k) & (verdicts.gt_verdict == "FN") & (verdicts.gt_other < 0))
        loc = p[v == "FP-localisation"]
        if len(g) and len(loc):  # a symbol whose badly placed box is moved onto it is not drawn again
            iou = box_iou(gt.xyxy[g], pred.xyxy[loc])
            same = gt.class_id[g][:, None] == pred.class_id[loc][None, :]
            g = g[~((iou > 0.1) & same).any(axis=1)]
        actions[k] += len(g) + len(set(gt.class_id[g].tolist()))
    return actions


def main() -> int:
    from omr_core.annotation.prelabel import KEEP_FROM
    from omr_core.annotation.units import find_units, unit_of
    from omr_core.evaluation.matching import Flat
    from omr_core.evaluation.verdicts import judge
    from omr_core.inference.detector import BUNDLED_MODELS, SymbolDetector

    model = min(BUNDLED_MODELS.glob("*/card.json")).parent.name
    detector = SymbolDetector.load(model, conf=KEEP_FROM)
    every_unit, every_boxes, rows = [], [], []
    for name, rgb, gt_xyxy, gt_names in pages():
        found = detector.run(rgb).detections
        classes = sorted(set(found.data["class_name"].tolist()) | set(detector.card.get("classes", [])))
        index = {c: i for i, c in enumerate(classes)}
        known = np.array([n in index for n in gt_names], dtype=bool)
        units = find_units(rgb).units
        gt = Flat(np.zeros(int(known.sum()), np.int64), gt_xyxy[known],
                  np.array([index[n] for n in gt_names[known]], np.int64))
        pred = Flat(np.zeros(len(found), np.int64), found.xyxy,
                    np.array([index[n] for n in found.data["class_name"]], np.int64), found.confidence)
        verdicts = judge(gt, pred, conf=KEEP_FROM)
        gt_unit, pred_unit = unit_of(gt.xyxy, units), unit_of(pred.xyxy, units)
        actions = unit_actions(verdicts, gt, pred, gt_unit, pred_unit, len(units))
        boxes = np.bincount(pred_unit[pred_unit >= 0], minlength=len(units)).tolist()
        other = np.bincount(unit_of(gt_xyxy[~known], units).clip(-1) + 1, minlength=len(units) + 1)[1:]
        systems = [k for k, u in enumerate(units) if u.kind == "system"]
        every_unit += [actions[k] for k in systems]
        every_boxes += [boxes[k] for k in systems]
        rows.append((name, len(systems), statistics.median(boxes[k] for k in systems),
                     statistics.median(actions[k] for k in systems), max(actions[k] for k in systems),
                     int(verdicts.gt_verdict.tolist().count("FN")), len(gt.image),
                     statistics.median(int(other[k]) for k in systems)))
    print(f"model {model}, pre-labels from confidence {KEEP_FROM}; per system unit:")
    print(f"{'page':44} {'units':>5} {'boxes':>6} {'actions':>7} {'worst':>5} {'missed':>9} {'other cls':>9}")
    for name, n, b, a, worst, fn, n_gt, other in rows:
        print(f"{name:44} {n:5d} {b:6.0f} {a:7.1f} {worst:5d} {fn:4d}/{n_gt:<4d} {other:9.0f}")
    print(f"all {len(every_unit)} units: boxes median {statistics.median(every_boxes):.0f}; actions median "
          f"{statistics.median(every_unit):.0f}, mean {statistics.mean(every_unit):.1f}, worst {max(every_unit)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
