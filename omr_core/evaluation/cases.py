"""Failure cases of an evaluation: filtering its box table, a confusion cell's cases, crops to look at, and
the per-class comparison of two evaluations. `boxes` is the table of `run.evaluate` (boxes.parquet)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from omr_core.evaluation.verdicts import BACKGROUND_FP

BACKGROUND = "background"


def filter_mask(boxes, classes=None, verdicts=None, conf_range=None, size_range=None, image=None) -> np.ndarray:
    """Rows that pass every given filter (None: no filter). Ground truth has no confidence: a confidence
    range keeps it only when the range starts at 0."""
    mask = np.ones(len(boxes), dtype=bool)
    if classes:
        mask &= boxes["class"].isin(classes).to_numpy()
    if verdicts:
        mask &= boxes["verdict"].isin(verdicts).to_numpy()
    if conf_range is not None:
        low, high = conf_range
        conf = boxes["confidence"].to_numpy()
        mask &= np.where(np.isnan(conf), low <= 0, (conf >= low) & (conf <= high))
    if size_range is not None:
        size = boxes["size"].to_numpy()
        mask &= (size >= size_range[0]) & (size <= size_range[1])
    if image:
        mask &= (boxes["image"] == image).to_numpy()
    return mask


def cell_mask(boxes, true: str, predicted: str) -> np.ndarray:
    """The boxes behind one confusion-matrix cell (rows: true class or background; columns: predicted)."""
    kind, cls, verdict, other = (boxes[c].astype(str).to_numpy() for c in ("kind", "class", "verdict", "other"))
    pred = kind == "pred"
    if true == BACKGROUND:
        return pred & (cls == predicted) & np.isin(verdict, BACKGROUND_FP)
    if predicted == BACKGROUND:
        return (kind == "gt") & (cls == true) & (verdict == "FN") & (other == "")
    if true == predicted:
        return pred & (cls == predicted) & (verdict == "TP")
    return pred & (cls == predicted) & (verdict == "misclassification") & (other == true)


def case_crop(image: np.ndarray, case, image_boxes, pad_px: int = 40, scale: float = 2.0) -> np.ndarray:
    """A zoomed crop around one case: ground truth in green, predictions in their class colour, the case
    itself drawn thick."""
    import cv2

    from omr_core.viz.draw import class_color

    x0, y0 = max(0, int(case["x0"]) - pad_px), max(0, int(case["y0"]) - pad_px)
    x1 = min(image.shape[1], int(np.ceil(case["x1"])) + pad_px)
    y1 = min(image.shape[0], int(np.ceil(case["y1"])) + pad_px)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    near = image_boxes[(image_boxes["x1"] > x0) & (image_boxes["x0"] < x1) & (image_boxes["y1"] > y0)
                       & (image_boxes["y0"] < y1)]
    for _, row in near.iterrows():
        color = (0, 170, 0) if row["kind"] == "gt" else class_color(str(row["class"]))
        thick = 3 if row.name == case.name else 1
        p0 = (int((row["x0"] - x0) * scale), int((row["y0"] - y0) * scale))
        p1 = (int((row["x1"] - x0) * scale), int((row["y1"] - y0) * scale))
        cv2.rectangle(crop, p0, p1, color, thick)
    return crop


def image_path(summary: dict, split_image: str) -> Path:
    """Where an evaluated image lives: the dataset's split folder."""
    return _split_folder(summary["dataset"], summary["split"]) / split_image


@lru_cache(maxsize=16)
def _split_folder(dataset: str, split: str) -> Path:  # data.yaml is read once, not once per case shown
    from omr_core.formats.yolo import split_folder

    return split_folder(Path(dataset), split)


def compare(summary_a: dict, summary_b: dict):
    """Per-class deltas (b - a) of AP50, precision, recall and F1, for the classes both evaluated."""
    import pandas as pd

    a = pd.DataFrame(summary_a["per_class"]).set_index("class")
    b = pd.DataFrame(summary_b["per_class"]).set_index("class")
    both = a.index.intersection(b.index)
    rows = pd.DataFrame(index=both)
    for metric in ("ap50", "precision", "recall", "f1"):
        rows[f"{metric} A"] = a.loc[both, metric].astype(float)
        rows[f"{metric} B"] = b.loc[both, metric].astype(float)
        rows[f"{metric} delta"] = rows[f"{metric} B"] - rows[f"{metric} A"]
    rows["gt A"], rows["gt B"] = a.loc[both, "gt"], b.loc[both, "gt"]
    return rows.reset_index().rename(columns={"index": "class"}).sort_values("f1 delta")
