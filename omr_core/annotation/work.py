"""What the Annotation page shows beside its canvas: the classes the picker offers, in order, and the boxes per
class of the labelled scans beside a training set's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from omr_core.annotation.store import read_page_labels
from omr_core.datasets.index import read_class_counts


def class_choices(stage_names: list[str], recent: list[str], names: list[str], search: str = "") -> list[str]:
    """The classes the picker offers: the stage's first, then the recently used, then the rest, each once and
    only those of `names` (the label classes); narrowed to those containing `search` (any case) unless none does."""
    ordered = [n for n in dict.fromkeys([*stage_names, *recent, *names]) if n in names]
    return [n for n in ordered if search.lower() in n.lower()] or ordered


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
