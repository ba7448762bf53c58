"""The class gallery of a converted dataset: images that hold a class, drawn, with zoomed crops of it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from omr_core.datasets.index import DatasetIndex
from omr_core.viz.draw import crop_zoom, draw_detections, resize_to_width


@dataclass
class GalleryImage:
    image: str  # path relative to the dataset
    drawn_rgb: np.ndarray  # (h, w, 3) uint8, every box drawn, at most `max_width_px` wide
    crops_rgb: list[np.ndarray]  # zoomed crops of the chosen class, (h, w, 3) uint8 each
    n_instances: int  # boxes of the chosen class in the image


def class_gallery(index: DatasetIndex, class_name: str, split: str | None = None, max_images: int = 12,
                  max_crops: int = 4, seed: int = 0, max_width_px: int = 900) -> list[GalleryImage]:
    """Up to `max_images` seeded random images holding `class_name`, each with up to `max_crops` crops.

    A crop keeps context of 0.75x the box's larger side on each side and is scaled so that the symbol
    is ~96 px across (small symbols such as dots become visible, large ones are not blown up)."""
    images = index.images_with_class(class_name, split)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(images), size=min(max_images, len(images)), replace=False).tolist()) if images else []
    class_ids = [i for i, n in index.names.items() if n == class_name]
    gallery = []
    for i in chosen:
        image = images[i]
        pixels = cv2.imread(str(index.root / image), cv2.IMREAD_COLOR)
        if pixels is None:
            continue
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
        det = index.detections(image)
        drawn, _ = resize_to_width(draw_detections(pixels, det, index.names, thickness=3), max_width_px)
        mine = det[np.isin(det.class_id, class_ids)]
        outlined = draw_detections(pixels, mine, index.names, thickness=1)  # the crop shows the box itself
        crops = []
        for xyxy in mine.xyxy[:max_crops]:
            side = float(max(xyxy[2] - xyxy[0], xyxy[3] - xyxy[1], 1.0))
            crops.append(crop_zoom(outlined, xyxy, pad_px=int(0.75 * side) + 4, scale=float(np.clip(96 / side, 0.5, 8))))
        gallery.append(GalleryImage(image, drawn, crops, len(mine)))
    return gallery
