"""The neutral per-image record that sits between every reader and every writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omr_core.structures.detections import Detections


@dataclass
class ImageRecord:
    """One image and its boxes.

    Attributes:
        image_id: the source's id for the image (DeepScores `images[].id`, as a string).
        file_name: path of the image relative to the source's image folder.
        width, height: image size in pixels, as the source states it.
        detections: the boxes; `class_id` indexes `categories`.
        categories: class id -> class name for the ids used in `detections`.
        group: pages that must stay in one split share a group (e.g. one score rendered in several fonts).
        meta: anything else worth carrying (source split, staff space in px...).
    """

    image_id: str
    file_name: str
    width: int
    height: int
    detections: Detections
    categories: dict[int, str]
    group: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def class_names(self) -> list[str]:
        """Class name of each box, in box order."""
        return [self.categories.get(int(c), f"<unknown {int(c)}>") for c in self.detections.class_id]
