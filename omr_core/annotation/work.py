"""What the Annotation page decides for one scan: the label boxes a model's detections become, the work units
in the order to label them, the classes the picker offers, the status a save gives, and the boxes per class.

Label boxes are `Detections` whose `class_id` indexes the DeepScores class list the page labels with
(`canvas.class_names()`); a box of a class outside that list cannot be labelled and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omr_core.annotation.queue import system_uncertainty
from omr_core.annotation.store import read_page_labels
from omr_core.datasets.index import read_class_counts
from omr_core.structures.detections import Detections

TARGET_SCANS = (100, 200)  # real scans to label for fine-tuning (the plan)
RECENT_CLASSES = 8  # how many recently used classes the picker keeps a click away


def _label_ids(class_names, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int ids into `names` of each class name (-1: not there) and the (n,) bool mask of known ones."""
    index = {name: k for k, name in enumerate(names)}
    ids = np.array([index.get(str(n), -1) for n in class_names], dtype=np.int64)
    return ids, ids >= 0


def detected_as_labels(found: Detections, names: list[str]) -> Detections:
    """A detector's boxes (page px, `data["class_name"]` set) as label boxes with their confidence; boxes of a
    class outside `names` are left out."""
    ids, known = _label_ids(found.data["class_name"], names)
    return Detections(found.xyxy[known], ids[known], found.confidence[known])


def predicted_labels(predictions: dict, names: list[str]) -> Detections:
    """A scan's saved predictions (`queue.load_predictions`: "xyxy" page px, "class" names, "confidence") as
    label boxes; classes outside `names` are left out."""
    ids, known = _label_ids(predictions["class"], names)
    xyxy = np.asarray(predictions["xyxy"], dtype=np.float64).reshape(-1, 4)
    return Detections(xyxy[known], ids[known], np.asarray(predictions["confidence"], dtype=np.float64)[known])


def labelled_classes(boxes: Detections, n_classes: int) -> Detections:
    """The boxes whose class id is one of the `n_classes` label classes (a bad line was reported where read)."""
    return boxes[(boxes.class_id >= 0) & (boxes.class_id < n_classes)]


def saving_status(status: str) -> str:
    """The status a scan has after one of its work units is saved: a todo scan is in progress; done, skipped
    and in progress stay as they are."""
    return "in progress" if status == "todo" else status


@dataclass(frozen=True)
class WorkUnit:
    """One system (or grid crop) of a page: its crop (page px, xyxy), the model's uncertainty on its boxes
    (None: not pre-labelled) and whether the user has edited it."""

    index: int
    crop_xyxy: tuple[int, int, int, int]
    uncertainty: float | None
    edited: bool

    @property
    def label(self) -> str:
        return (f"system {self.index + 1}" + ("" if self.uncertainty is None else f" · uncertainty {self.uncertainty:.2f}")
                + (" · edited" if self.edited else ""))


def work_units(systems: list, predictions: dict | None, edited: list[tuple]) -> list[WorkUnit]:
    """A page's work units, least sure first: unedited before edited, then the most uncertain, then page order.

    Args:
        systems: crops, each (x0, y0, x1, y1) int page px.
        predictions: the scan's saved predictions, or None.
        edited: the crops the user has saved, as tuples.
    """
    edited_crops = {tuple(c) for c in edited}
    units = [WorkUnit(k, tuple(crop), system_uncertainty(predictions, crop) if predictions else None,
                      tuple(crop) in edited_crops) for k, crop in enumerate(systems)]
    return sorted(units, key=lambda u: (u.edited, -(u.uncertainty or 0.0), u.index))


def class_choices(stage_names: list[str], recent: list[str], names: list[str], search: str = "") -> list[str]:
    """The classes the picker offers: the stage's first, then the recently used, then the rest, each once;
    narrowed to those containing `search` (any case) unless none does."""
    ordered = list(dict.fromkeys([*stage_names, *recent, *names]))
    return [n for n in ordered if search.lower() in n.lower()] or ordered


def remember(recent: list[str], label: str, keep: int = RECENT_CLASSES) -> None:
    """Put `label` first in the recently used classes (in place: the page keeps the list), at most `keep`."""
    if label in recent:
        recent.remove(label)
    recent.insert(0, label)
    del recent[keep:]


def boxes_per_class(root: Path, rows: list[dict], names: list[str], training_set: Path | None = None) -> pd.DataFrame:
    """Boxes per class in the scans marked done ("real scans"), beside a converted dataset's ("training set",
    all its splits) when one is given and has an index; classes as the index, int counts.

    Args:
        root: the real-scan set's folder.
        rows: the queue's rows ("id", "status", "width", "height" px).
        names: the label classes.
    """
    counts: dict[str, int] = {}
    for row in rows:
        if row["status"] == "done":
            for c in read_page_labels(root, row["id"], (row["width"], row["height"]), len(names)).class_id:
                counts[names[c]] = counts.get(names[c], 0) + 1
    frame = pd.DataFrame({"real scans": pd.Series(counts, dtype="int64")})
    train = read_class_counts(training_set) if training_set is not None else None
    if train is not None:
        frame = frame.join(train.rename("training set"), how="outer").fillna(0).astype(int)
    return frame.sort_values(frame.columns[0], ascending=False)
