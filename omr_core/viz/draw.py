"""Drawing boxes on pages, zooming on small symbols, and embedding images in self-contained HTML.

Images are (h, w, 3) uint8 RGB numpy arrays throughout (what PIL and Streamlit use; OpenCV's BGR stays inside
this module). Colours are RGB tuples and the same for a class in every image, HTML report and app page.
"""

from __future__ import annotations

import base64
import io
import zlib
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from omr_core.catalog.deepscores import all_categories, canonical_name
from omr_core.structures.detections import Detections

# Kelly's 22 colours of maximum contrast without white and black, in his order: any few consecutive entries
# are far apart, and all stay visible on white paper under black ink.
PALETTE_RGB: tuple[tuple[int, int, int], ...] = (
    (243, 195, 0), (135, 86, 146), (243, 132, 0), (161, 202, 241), (190, 0, 50),
    (194, 178, 128), (132, 132, 130), (0, 136, 86), (230, 143, 172), (0, 103, 165),
    (249, 147, 121), (96, 78, 151), (246, 166, 0), (179, 68, 108), (220, 211, 0),
    (136, 45, 23), (141, 182, 0), (101, 69, 34), (226, 88, 34), (43, 61, 38),
)

SPLIT_COLORS_RGB = {"train": (31, 119, 180), "val": (255, 127, 14), "test": (44, 160, 44)}


@lru_cache(maxsize=1)
def _catalogue_ids() -> dict[str, int]:
    ids: dict[str, int] = {}
    for category in all_categories():  # deepscores ids come first, so they win for shared names
        ids.setdefault(category.name, category.id)
    return ids


# The classes a user looks at most (the stages' classes and the lines drawn across them) get 20 different
# colours; by catalogue id alone, stem, legerLine and beam (ids 42, 2, 122) would share one.
DISTINCT_CLASSES = (
    "noteheadBlackOnLine", "noteheadBlackInSpace", "noteheadHalfOnLine", "noteheadHalfInSpace", "noteheadWholeOnLine",
    "noteheadWholeInSpace", "stem", "clefG", "restQuarter", "beam", "augmentationDot", "accidentalSharp",
    "accidentalFlat", "accidentalNatural", "legerLine", "staff", "keySharp", "keyFlat", "slur", "tie",
)


def class_color(name: str) -> tuple[int, int, int]:
    """Stable RGB colour of a class name.

    The classes of DISTINCT_CLASSES each have their own palette entry. Other DeepScoresV2 names take entry
    (catalogue id - 1) mod 20, so neighbours in the catalogue (related classes) differ; other names hash
    (CRC-32, stable across runs unlike `hash()`) into the same palette.
    """
    name = canonical_name(name)
    if name in _DISTINCT_INDEX:
        return PALETTE_RGB[_DISTINCT_INDEX[name]]
    catalogue_id = _catalogue_ids().get(name)
    index = catalogue_id - 1 if catalogue_id is not None else zlib.crc32(name.encode("utf-8"))
    return PALETTE_RGB[index % len(PALETTE_RGB)]


_DISTINCT_INDEX = {name: i for i, name in enumerate(DISTINCT_CLASSES)}


def split_color(split: str) -> tuple[int, int, int]:
    """RGB colour of a dataset split (train/val/test fixed; others hashed into the class palette)."""
    return SPLIT_COLORS_RGB.get(split) or PALETTE_RGB[zlib.crc32(split.encode("utf-8")) % len(PALETTE_RGB)]


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in rgb)


def legend_table(shown_names, classes: list[str]):
    """The colour legend of drawn boxes: one row a class (of `classes`), its colour (hex) and how many of its
    boxes are shown (`shown_names`: the class name of every box drawn), most boxes first."""
    import pandas as pd

    counts = pd.Series(list(shown_names), dtype=object).value_counts()
    rows = [{"class": name, "colour": hex_color(class_color(name)), "boxes": int(counts.get(name, 0))} for name in classes]
    return pd.DataFrame(rows, columns=["class", "colour", "boxes"]).sort_values(["boxes", "class"], ascending=[False, True],
                                                                              ignore_index=True)


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(f"image must be a uint8 array of shape (h, w, 3) or (h, w), but got {image.dtype} {image.shape}")
    return image


def class_name(names: dict[int, str] | list[str], class_id: int) -> str:
    """Name of a class id in a mapping or list; "class <id>" when it has none."""
    if isinstance(names, dict):
        return names.get(class_id, f"class {class_id}")
    return names[class_id] if 0 <= class_id < len(names) else f"class {class_id}"


def draw_detections(
    image: np.ndarray,
    detections: Detections,
    names: dict[int, str] | list[str],
    thickness: int = 2,
    show_labels: bool = False,
) -> np.ndarray:
    """Draw box outlines coloured by class on a copy of the image.

    Args:
        image: (h, w, 3) uint8 RGB, or (h, w) uint8 grey (the result is RGB either way).
        detections: boxes in this image's pixel coordinates; `class_id` indexes `names`.
        names: class id -> name (a dict, or a list indexed by id).
        thickness: line width in pixels.
        show_labels: write the class name (and confidence, for predictions) above each box.

    Returns:
        (h, w, 3) uint8 RGB.
    """
    image = _check_image(image)
    canvas = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image.copy())
    if not len(detections):
        return canvas
    finite = np.isfinite(detections.xyxy).all(axis=1)
    xyxy = np.round(np.where(finite[:, None], detections.xyxy, 0)).astype(np.int64)
    colors = {}
    for i in np.flatnonzero(finite).tolist():
        class_id = int(detections.class_id[i])
        if class_id not in colors:
            colors[class_id] = (class_name(names, class_id), class_color(class_name(names, class_id)))
        name, color = colors[class_id]
        x0, y0, x1, y1 = xyxy[i].tolist()
        cv2.rectangle(canvas, (x0, y0), (x1, y1), color, thickness, lineType=cv2.LINE_8)
        if show_labels:
            text = name if detections.confidence is None else f"{name} {detections.confidence[i]:.2f}"
            _label(canvas, text, (x0, y0), color)
    return canvas


def _label(canvas: np.ndarray, text: str, xy: tuple[int, int], color: tuple[int, int, int]) -> None:
    scale = 0.4
    (w, h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = xy[0], max(xy[1], h + baseline)
    cv2.rectangle(canvas, (x, y - h - baseline), (x + w, y), color, -1)
    ink = (0, 0, 0) if sum(color) > 380 else (255, 255, 255)  # dark text on light fills, light on dark
    cv2.putText(canvas, text, (x, y - baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)


def crop_zoom(image: np.ndarray, xyxy: np.ndarray, pad_px: int, scale: float) -> np.ndarray:
    """Crop a box with `pad_px` of context on each side (clipped to the image) and enlarge it.

    Enlarging uses nearest-neighbour, so a 6-px dot stays a crisp block of pixels instead of a blur;
    shrinking (scale < 1) uses area averaging.

    Args:
        image: (h, w, 3) or (h, w) uint8.
        xyxy: (4,) float pixel box.
        pad_px: context in pixels around the box, before scaling.
        scale: output pixels per input pixel (> 0).

    Returns:
        (round(ch * scale), round(cw * scale), ...) uint8, where ch, cw is the clipped crop's size.
    """
    image = _check_image(image)
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1)
    if xyxy.shape != (4,) or not np.isfinite(xyxy).all():
        raise ValueError(f"xyxy must be 4 finite numbers, but got {xyxy}")
    if scale <= 0 or pad_px < 0:
        raise ValueError(f"scale must be > 0 and pad_px >= 0, but got scale={scale}, pad_px={pad_px}")
    h, w = image.shape[:2]
    x0 = int(np.clip(np.floor(xyxy[0]) - pad_px, 0, w))
    y0 = int(np.clip(np.floor(xyxy[1]) - pad_px, 0, h))
    x1 = int(np.clip(np.ceil(xyxy[2]) + pad_px, 0, w))
    y1 = int(np.clip(np.ceil(xyxy[3]) + pad_px, 0, h))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the padded box must overlap the {w} x {h} px image, but got xyxy {xyxy.tolist()}")
    crop = image[y0:y1, x0:x1]
    size_wh = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    interpolation = cv2.INTER_NEAREST if scale >= 1 else cv2.INTER_AREA
    return cv2.resize(crop, size_wh, interpolation=interpolation)


def resize_to_width(image: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    """Shrink (never enlarge) to at most `max_width` px wide with area averaging; returns the image and the
    scale applied (1.0 when unchanged)."""
    image = _check_image(image)
    h, w = image.shape[:2]
    if w <= max_width:
        return image, 1.0
    scale = max_width / w
    return cv2.resize(image, (max_width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA), scale


def to_data_uri(image: np.ndarray, fmt: str = "jpeg", quality: int = 85, max_width: int | None = None) -> str:
    """Encode an image as a `data:` URI, so an HTML file needs nothing beside it.

    Args:
        image: (h, w, 3) uint8 RGB or (h, w) uint8 grey.
        fmt: "jpeg" (small; for pages) or "png" (lossless; for crops of thin lines).
        quality: JPEG quality 1-95.
        max_width: shrink to this width first (aspect ratio kept).
    """
    image = _check_image(image)
    fmt = fmt.lower()
    if fmt not in ("jpeg", "jpg", "png"):
        raise ValueError(f"fmt must be 'jpeg' or 'png', but got {fmt!r}")
    if max_width is not None:
        image, _ = resize_to_width(image, max_width)
    buffer = io.BytesIO()
    if fmt == "png":
        Image.fromarray(image).save(buffer, format="PNG", optimize=False)
        mime = "image/png"
    else:
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def case_crop(image: np.ndarray, case_xyxy: np.ndarray, boxes_xyxy: np.ndarray, box_names, is_truth: np.ndarray,
              highlight: np.ndarray, pad_px: int = 40, scale: float = 2.0) -> np.ndarray:
    """A zoomed crop around one evaluation case: ground truth in green, predictions in their class colour, the
    highlighted box (the case itself) drawn thick.

    Args:
        image: (h, w, 3) uint8 RGB, the case's image.
        case_xyxy: (4,) px, the case's box; the crop is it with `pad_px` around (clipped to the image).
        boxes_xyxy: (n, 4) px, the boxes of the image; those overlapping the crop are drawn.
        box_names: (n,) class names (a prediction's colour).
        is_truth: (n,) bool, ground-truth boxes (green).
        highlight: (n,) bool, boxes drawn 3 px thick instead of 1.
        scale: output px per image px (nearest-neighbour, so thin lines stay crisp).

    Returns:
        (round(ch * scale), round(cw * scale), 3) uint8 RGB.
    """
    x0, y0 = max(0, int(case_xyxy[0]) - pad_px), max(0, int(case_xyxy[1]) - pad_px)
    x1 = min(image.shape[1], int(np.ceil(case_xyxy[2])) + pad_px)
    y1 = min(image.shape[0], int(np.ceil(case_xyxy[3])) + pad_px)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    boxes_xyxy = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    near = (boxes_xyxy[:, 2] > x0) & (boxes_xyxy[:, 0] < x1) & (boxes_xyxy[:, 3] > y0) & (boxes_xyxy[:, 1] < y1)
    for i in np.flatnonzero(near).tolist():
        color = (0, 170, 0) if is_truth[i] else class_color(str(box_names[i]))
        bx0, by0, bx1, by1 = boxes_xyxy[i]
        p0 = (int((bx0 - x0) * scale), int((by0 - y0) * scale))
        p1 = (int((bx1 - x0) * scale), int((by1 - y0) * scale))
        cv2.rectangle(crop, p0, p1, color, 3 if highlight[i] else 1)
    return crop
def draw_regions(image: np.ndarray, xyxy: np.ndarray, labels: list[str], colors_rgb: list[tuple[int, int, int]],
                 max_width: int = 900, highlight: int | None = None) -> np.ndarray:
    """A page shrunk to at most `max_width` px wide with labelled regions over it (the annotation page's
    work units): each region outlined in its colour, its label in a tag at its top left; the `highlight`-th
    drawn thicker.

    Args:
        image: (h, w, 3) uint8 RGB or (h, w) uint8 grey.
        xyxy: (n, 4) regions in the image's pixels.
        labels, colors_rgb: (n,) a short label and an RGB colour per region.

    Returns:
        (h', w', 3) uint8 RGB.
    """
    image = _check_image(image)
    small, scale = resize_to_width(image, max_width)
    canvas = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_GRAY2RGB) if small.ndim == 2 else small.copy())
    # the page a little paler, so that the outlines read over the ink
    canvas = (canvas.astype(np.uint16) * 3 // 4 + 64).astype(np.uint8)
    boxes = np.round(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4) * scale).astype(np.int64)
    for k, ((x0, y0, x1, y1), label, color) in enumerate(zip(boxes.tolist(), labels, colors_rgb)):
        width = 4 if k == highlight else 2
        cv2.rectangle(canvas, (x0 + 1, y0 + 1), (x1 - 2, y1 - 2), tuple(int(c) for c in color), width)
        _label(canvas, label, (x0 + 3, y0 + 3 + 14), tuple(int(c) for c in color))
    return canvas
