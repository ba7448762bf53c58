"""Failure cases of an evaluation: filtering its box table, a confusion cell's cases, crops to look at, and
the per-class comparison of two evaluations. `boxes` is the table of `run.evaluate` (boxes.parquet).

Every case is read one way, as the confusion matrix reads it: "true X, predicted Y". A row of the table is a
prediction (`class` is what was predicted; for a misclassification `other` is the true class) or a ground-truth
box (`class` is the true class; for a misread one `other` is what was predicted). `true_predicted` turns both
into the true and the predicted class of each row ("" where there is none: background, or missed), and the
class filter matches the true class, the predicted class, or either.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from omr_core.evaluation.suggestions import similar
from omr_core.evaluation.verdicts import BACKGROUND_FP
from omr_core.structures.detections import Detections

BACKGROUND = "background"
ROLES = ("either", "true", "predicted")  # what the class filter matches


def true_predicted(boxes) -> tuple[np.ndarray, np.ndarray]:
    """(true class, predicted class) of every row, as (n,) object arrays of names; "" where the case has none
    (a false positive has no true class, a missed box no predicted one)."""
    kind, cls, verdict, other = (boxes[c].astype(str).to_numpy() for c in ("kind", "class", "verdict", "other"))
    pred = kind == "pred"
    true = np.where(pred, np.where(verdict == "TP", cls, np.where(verdict == "misclassification", other, "")), cls)
    predicted = np.where(pred, cls, np.where(verdict == "TP", cls, other))
    return true.astype(object), predicted.astype(object)


def describe_case(case) -> str:
    """One case in the matrix's words: "true X, predicted Y", "true X, missed", "predicted Y on background"."""
    true, predicted = (a[0] for a in true_predicted(case.to_frame().T))
    if true and predicted:
        words = f"true {true}, predicted {predicted}"
    elif true:
        words = f"true {true}, missed"
    else:
        where = {"FP-duplicate": "a duplicate", "FP-localisation": "badly placed"}.get(str(case["verdict"]), "on background")
        words = f"predicted {predicted}, {where}"
    conf = case["confidence"]
    return words + ("" if conf is None or np.isnan(conf) else f" · {conf:.2f}")


def case_table(boxes):
    """The rows as a person reads them: true and predicted class (background / missed where there is none),
    verdict, where (image and box), confidence and IoU."""
    import pandas as pd

    true, predicted = true_predicted(boxes)
    return pd.DataFrame({
        "true": np.where(true == "", BACKGROUND, true), "predicted": np.where(predicted == "", "missed", predicted),
        "verdict": boxes["verdict"].astype(str).to_numpy(), "image": boxes["image"].astype(str).to_numpy(),
        "confidence": boxes["confidence"].to_numpy(), "IoU": boxes["iou"].to_numpy(),
        "box (x0, y0, x1, y1)": [f"{a:.0f}, {b:.0f}, {c:.0f}, {d:.0f}" for a, b, c, d in
                                 boxes[["x0", "y0", "x1", "y1"]].to_numpy()],
    })


def one_row_per_case(boxes, mask: np.ndarray) -> np.ndarray:
    """`mask` without the ground-truth rows of misread boxes whose prediction is selected too: a whole note
    read as a half note is one case, not a misclassification and an FN."""
    kind, verdict, other = (boxes[c].astype(str).to_numpy() for c in ("kind", "verdict", "other"))
    shown_misread = mask & (kind == "pred") & (verdict == "misclassification")
    if not shown_misread.any():
        return mask
    return mask & ~((kind == "gt") & (verdict == "FN") & (other != ""))


def filter_mask(boxes, classes=None, verdicts=None, conf_range=None, size_range=None, image=None,
                role: str = "either") -> np.ndarray:
    """Rows that pass every given filter (None: no filter). `classes` match the rows' true class, predicted
    class, or either (`role`). Ground truth has no confidence: a confidence range keeps it only when the range
    starts at 0."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, but got {role!r}")
    mask = np.ones(len(boxes), dtype=bool)
    if classes:
        true, predicted = true_predicted(boxes)
        wanted = np.isin(true, list(classes)), np.isin(predicted, list(classes))
        mask &= {"true": wanted[0], "predicted": wanted[1], "either": wanted[0] | wanted[1]}[role]
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


def case_drawing(case, image_boxes) -> dict:
    """What a zoomed crop of one case shows, as plain arrays for `viz.draw.case_crop`: the case's box and every
    box of its image (ground truth marked, the case itself highlighted).

    Returns:
        {"case_xyxy": (4,) float px, "boxes_xyxy": (n, 4) float px, "box_names": (n,) class names,
         "is_truth": (n,) bool (ground truth), "highlight": (n,) bool (the case's own row)}
    """
    return {
        "case_xyxy": np.asarray([case["x0"], case["y0"], case["x1"], case["y1"]], dtype=np.float64),
        "boxes_xyxy": image_boxes[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64),
        "box_names": image_boxes["class"].astype(str).to_numpy(),
        "is_truth": (image_boxes["kind"] == "gt").to_numpy(),
        "highlight": (image_boxes.index == case.name),
    }


def case_detections(boxes, classes: list[str]) -> Detections:
    """The rows of a box table as Detections on their image (class_id indexes `classes`; no confidence)."""
    class_ids = {c: i for i, c in enumerate(classes)}
    return Detections(boxes[["x0", "y0", "x1", "y1"]].to_numpy(), boxes["class"].astype(str).map(class_ids).to_numpy())


def confusion_labels(classes: list[str]) -> tuple[list[str], np.ndarray]:
    """The confusion matrix's labels (the classes, then background) and the (n, n) bool mask of the cells whose
    true and predicted classes look alike (`suggestions.SIMILAR_PAIRS`), for `viz.evaluation_charts`."""
    labels = [*classes, BACKGROUND]
    return labels, np.array([[similar(a, b) for b in labels] for a in labels], dtype=bool).reshape(len(labels), len(labels))


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
