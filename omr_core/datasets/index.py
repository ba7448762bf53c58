"""The box index of a converted dataset (`index.parquet`): one row per box, so the gallery can find the
images that hold a class without reading every label file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omr_core.formats.yolo import read_data_yaml
from omr_core.structures.detections import Detections

INDEX_FILE = "index.parquet"


def write_index(dataset: Path, parts: list[dict[str, np.ndarray]], names: list[str]) -> Path:
    """Write `index.parquet` (one row per box) into the dataset folder; returns its path.

    Args:
        parts: per image (or batch), parallel (n,) arrays "image" (str), "split" (str), "image_w", "image_h"
            (int px), "class_id" (int, YOLO id), "x0", "y0", "x1", "y1" (float px).
        names: the YOLO class names; `class_name` is stored as a categorical of them.
    """
    columns = ["image", "split", "image_w", "image_h", "class_id", "x0", "y0", "x1", "y1"]
    frame = pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in columns} if parts else {c: [] for c in columns})
    frame["class_name"] = pd.Categorical.from_codes(frame["class_id"].astype(int), categories=names) if len(frame) else []
    target = dataset / INDEX_FILE
    tmp = target.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(target)
    return target


def read_class_counts(dataset: Path) -> pd.Series | None:
    """Boxes per class name over all splits of a converted dataset (every class of its set, zeros included),
    or None when it has no index; reads only the class column."""
    path = Path(dataset) / INDEX_FILE
    if not path.is_file():
        return None
    return pd.read_parquet(path, columns=["class_name"])["class_name"].value_counts()


@dataclass
class DatasetIndex:
    root: Path
    frame: pd.DataFrame  # columns: image, split, image_w, image_h, class_id, class_name, x0, y0, x1, y1
    names: dict[int, str]

    @classmethod
    def open(cls, root: Path | str) -> "DatasetIndex":
        root = Path(root)
        names = {int(k): str(v) for k, v in read_data_yaml(root)["names"].items()}
        path = root / INDEX_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{root}: no {INDEX_FILE}; convert the dataset with omr_core to make one")
        return cls(root, pd.read_parquet(path), names)

    def images(self, split: str | None = None) -> list[str]:
        frame = self.frame if split is None else self.frame[self.frame["split"] == split]
        return sorted(frame["image"].unique().tolist())

    def classes(self) -> list[str]:
        """The class names that have at least one box, sorted."""
        return sorted(self.frame["class_name"].dropna().unique().tolist())

    def splits(self) -> list[str]:
        """The splits that hold a box, sorted."""
        return sorted(self.frame["split"].unique().tolist())

    def class_counts(self, split: str | None = None) -> dict[str, int]:
        """Boxes per class name (in one split, or all)."""
        frame = self.frame if split is None else self.frame[self.frame["split"] == split]
        return {str(k): int(v) for k, v in frame["class_name"].value_counts().items() if v > 0}

    def images_with_class(self, class_name: str, split: str | None = None) -> list[str]:
        frame = self.frame[self.frame["class_name"] == class_name]
        if split is not None:
            frame = frame[frame["split"] == split]
        return sorted(frame["image"].unique().tolist())

    def detections(self, image: str) -> Detections:
        rows = self.frame[(self.frame["image"] == image) & (self.frame["class_id"] >= 0)]
        return Detections(rows[["x0", "y0", "x1", "y1"]].to_numpy(np.float64), rows["class_id"].to_numpy(np.int64))
