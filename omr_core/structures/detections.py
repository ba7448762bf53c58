"""`Detections`: the one box type that flows from readers to writers, models and the UI.

Ground-truth annotations and model predictions are the same type; predictions carry `confidence`.
Extra per-box arrays (DeepScores annotation ids, oriented boxes...) live in `data`, parallel to `xyxy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

DEFAULT_CONF = 0.25  # a prediction counts as a detection from this confidence unless told otherwise (Ultralytics' too)
MIN_CONF = 0.05  # below this a prediction is noise: detect once at this floor where a user filters afterwards


@dataclass
class Detections:
    """Parallel arrays describing n boxes in one image.

    Attributes:
        xyxy: (n, 4) float64, absolute pixels.
        class_id: (n,) int64; which class list it indexes is the owner's business (DeepScores ids in an
            `ImageRecord` read from DeepScores JSON, contiguous YOLO ids after conversion).
        confidence: (n,) float64 or None for ground truth.
        data: name -> (n, ...) array, e.g. "ann_id" (n,) str, "obb8" (n, 8) float64.
    """

    xyxy: np.ndarray
    class_id: np.ndarray
    confidence: np.ndarray | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float64)
        if self.xyxy.ndim == 1 and self.xyxy.size == 0:
            self.xyxy = self.xyxy.reshape(0, 4)
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must be a 2D array of shape (n, 4), but got shape {self.xyxy.shape}")
        n = len(self.xyxy)
        self.class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        if self.class_id.shape != (n,):
            raise ValueError(f"class_id must have shape ({n},) to match xyxy, but got shape {self.class_id.shape}")
        if self.confidence is not None:
            self.confidence = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
            if self.confidence.shape != (n,):
                raise ValueError(f"confidence must have shape ({n},), but got shape {self.confidence.shape}")
        for name, values in list(self.data.items()):
            values = np.asarray(values)
            if len(values) != n:
                raise ValueError(f"data[{name!r}] must have {n} rows to match xyxy, but got {len(values)}")
            self.data[name] = values

    @classmethod
    def empty(cls, with_confidence: bool = False) -> "Detections":
        return cls(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0) if with_confidence else None)

    @classmethod
    def merge(cls, parts: list["Detections"]) -> "Detections":
        """Concatenate detections; every part must carry the same optional fields."""
        parts = [p for p in parts if len(p)] or parts[:1]
        if not parts:
            return cls.empty()
        has_conf = {p.confidence is not None for p in parts}
        keys = {tuple(sorted(p.data)) for p in parts}
        if len(has_conf) > 1 or len(keys) > 1:
            raise ValueError(f"cannot merge detections with different fields: confidence {has_conf}, data {keys}")
        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            class_id=np.concatenate([p.class_id for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]) if parts[0].confidence is not None else None,
            data={k: np.concatenate([p.data[k] for p in parts]) for k in parts[0].data},
        )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> "Detections":
        """Select boxes with a boolean mask, an index array or a slice; always returns `Detections`."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        return Detections(
            xyxy=self.xyxy[index],
            class_id=self.class_id[index],
            confidence=None if self.confidence is None else self.confidence[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    def __iter__(self) -> Iterator[tuple[np.ndarray, int, float | None]]:
        for i in range(len(self)):
            yield self.xyxy[i], int(self.class_id[i]), None if self.confidence is None else float(self.confidence[i])

    @property
    def wh(self) -> np.ndarray:
        """(n, 2) float64 box widths and heights in pixels."""
        return self.xyxy[:, 2:] - self.xyxy[:, :2]

    def with_class_ids(self, class_id: np.ndarray) -> "Detections":
        """The same boxes with other class ids: `class_id` (n,) int (another class list's ids)."""
        return Detections(self.xyxy, class_id, self.confidence, dict(self.data))
