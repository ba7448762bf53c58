"""Integrity checks: boxes of a source record, image files, and a converted YOLO dataset.

Every finding becomes one `Problem` (kind, file, record, message with expected vs got, action); nothing is
dropped silently. The rules:

`check_boxes` (one `ImageRecord`, pixel xyxy boxes), applied in this order, a box leaving at its first rule:
    nan_coordinates   a coordinate (xyxy, or the `obb8` corners when present) is NaN or infinite -> dropped
    degenerate_box    width or height <= 0 px                                                     -> dropped
    unknown_category  class id is not a key of `record.categories`                                -> dropped
    outside_page      no overlap of positive area with the page (0, 0, width, height)             -> dropped
    outside_page      partly outside the page: clipped to it (and its `obb8` corners with it)     -> clipped
    duplicate_box     same class and IoU >= `duplicate_iou` with an earlier kept box (after clipping)
                      -> the later one dropped; "earlier" is annotation order, as the source wrote it
    empty_page        no box left on the page (none given, or all dropped)                        -> kept
    unknown_page_size the record's width or height is not positive: boxes are not checked against
                      the page (there is no page to check against)                                -> kept

`check_image_file`: missing_image (dropped), corrupt_image (PIL cannot open or verify it, or a JPEG without
its end-of-image marker; dropped), size_mismatch (dropped: the boxes are in pixels of the stated size, and would
lie outside, or beside their symbols on, the real image). Sizes are as seen (EXIF orientation applied).

`check_page_image` (one record and its image): what `check_image_file` finds, except that a record whose
image is its stated size scaled by one exact ratio on both axes (record 1960 x 2772, image 980 x 1386: width
x height products agree) has its boxes scaled to the image (size_mismatch, scaled).

`check_yolo_dataset` reads label text only and changes no file; its action says what the record is worth
for training, the way Ultralytics' `verify_image_label` treats it:
    missing_label     image without a label file: Ultralytics trains on it as background  -> kept
    orphan_label      label file without an image: never read                             -> skipped
    malformed_label   a line that is not `class cx cy w h` (from `formats.yolo.parse_labels`) -> dropped
    nan_coordinates   a NaN or infinite value                                              -> dropped
    degenerate_box    w or h <= 0                                                          -> dropped
    outside_image     a box edge outside [0, 1] by more than 1e-6 (Ultralytics clips it)   -> kept
    unknown_class     class id not in data.yaml `names` (Ultralytics skips the whole image) -> dropped
    duplicate_box     the same line again (Ultralytics removes repeated rows)              -> dropped
"""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from omr_core.formats.yolo import IMAGE_SUFFIXES, label_path_for, list_images, parse_labels, read_data_yaml
from omr_core.structures.boxes import box_iou, box_iou_paired
from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem, ProblemLog
from omr_core.structures.record import ImageRecord

YOLO_SPLITS = ("train", "val", "test")
NORMALISED_TOLERANCE = 1e-6  # label writers round to 6 decimals; anything beyond that is a real overflow


def _fmt(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in np.asarray(values, dtype=np.float64).ravel()) + "]"


def check_boxes(record: ImageRecord, file: str, duplicate_iou: float = 0.95) -> tuple[ImageRecord, list[Problem]]:
    """Check every box of one page against the rules in the module docstring.

    Args:
        record: the page; `detections.xyxy` (n, 4) float64 pixels, `class_id` (n,) int64 keys of `categories`;
            optional `data["ann_id"]` (n,) names the boxes in problems, optional `data["obb8"]` (n, 8) float64
            corners are checked for NaN and clipped with the box.
        file: the source file, for the problems.
        duplicate_iou: IoU at or above which two boxes of the same class are the same annotation twice.

    Returns:
        A cleaned copy of the record (the input is not modified) and one `Problem` per finding, in box order
        within each rule.
    """
    if not 0.0 < duplicate_iou <= 1.0:
        raise ValueError(f"duplicate_iou must be in (0, 1], but got {duplicate_iou}")
    det = record.detections
    n = len(det)
    ann_ids = det.data.get("ann_id")
    problems: list[Problem] = []

    def box_name(i: int) -> str:
        return f"annotation {ann_ids[i]}" if ann_ids is not None else f"box {i}"

    def report(kind: str, indices: np.ndarray, message, action: str) -> None:
        for i in indices.tolist():
            problems.append(Problem(kind, file, f"{box_name(i)} in image {record.image_id}", message(i), action))

    xyxy = det.xyxy.copy()
    obb8 = det.data.get("obb8")
    keep = np.ones(n, dtype=bool)

    finite = np.isfinite(xyxy).all(axis=1)
    if obb8 is not None:
        finite &= np.isfinite(np.asarray(obb8, dtype=np.float64)).all(axis=1)
    bad = ~finite
    report("nan_coordinates", np.flatnonzero(bad),
           lambda i: f"coordinates must be finite, but got xyxy {_fmt(xyxy[i])}"
           + (f", obb8 {_fmt(obb8[i])}" if obb8 is not None else ""), "dropped")
    keep &= finite

    with np.errstate(invalid="ignore"):
        wh = xyxy[:, 2:] - xyxy[:, :2]
        bad = keep & ((wh[:, 0] <= 0) | (wh[:, 1] <= 0))
    report("degenerate_box", np.flatnonzero(bad),
           lambda i: f"width and height must be > 0 px, but got {wh[i, 0]:.6g} x {wh[i, 1]:.6g} px "
           f"(xyxy {_fmt(xyxy[i])})", "dropped")
    keep &= ~bad

    known_ids = np.fromiter(record.categories, dtype=np.int64, count=len(record.categories))
    bad = keep & ~np.isin(det.class_id, known_ids)
    report("unknown_category", np.flatnonzero(bad),
           lambda i: f"class id must be one of the {len(known_ids)} categories of the file, "
           f"but got {int(det.class_id[i])}", "dropped")
    keep &= ~bad

    page_w, page_h = float(record.width), float(record.height)
    if page_w > 0 and page_h > 0:
        page = f"the page 0..{page_w:g} x 0..{page_h:g} px"
        outside = keep & ((xyxy[:, 2] <= 0) | (xyxy[:, 3] <= 0) | (xyxy[:, 0] >= page_w) | (xyxy[:, 1] >= page_h))
        report("outside_page", np.flatnonzero(outside),
               lambda i: f"box must overlap {page}, but got xyxy {_fmt(xyxy[i])}", "dropped")
        keep &= ~outside
        partly = keep & ((xyxy[:, 0] < 0) | (xyxy[:, 1] < 0) | (xyxy[:, 2] > page_w) | (xyxy[:, 3] > page_h))
        clipped = np.clip(xyxy, 0, [page_w, page_h, page_w, page_h])
        report("outside_page", np.flatnonzero(partly),
               lambda i: f"box must lie inside {page}, but got xyxy {_fmt(xyxy[i])}; clipped to {_fmt(clipped[i])}",
               "clipped")
        xyxy[partly] = clipped[partly]
        if obb8 is not None and partly.any():
            # The corners are clipped one by one: exact for upright boxes, and for a rotated one it keeps the
            # shape on the page, which is what a writer of o_bbox needs.
            obb8 = np.asarray(obb8, dtype=np.float64).copy()
            obb8[partly] = np.clip(obb8[partly], 0, [page_w, page_h] * 4)
    elif n:
        problems.append(Problem(
            "unknown_page_size", file, f"image {record.image_id}",
            f"page width and height must be > 0 px, but got {record.width} x {record.height}; "
            f"its {n} boxes were not checked against the page", "kept"))

    duplicate_of = _duplicates(xyxy, det.class_id, keep, duplicate_iou)
    dup = np.flatnonzero(duplicate_of >= 0)

    def dup_message(i: int) -> str:
        j = int(duplicate_of[i])
        iou = float(box_iou(xyxy[i : i + 1], xyxy[j : j + 1])[0, 0])
        name = record.categories.get(int(det.class_id[i]), str(int(det.class_id[i])))
        return f"expected IoU < {duplicate_iou:g} with the earlier {name!r} box {box_name(j)}, but got IoU {iou:.3f}"

    report("duplicate_box", dup, dup_message, "dropped")
    keep[dup] = False

    if not keep.any():
        problems.append(Problem(
            "empty_page", file, f"image {record.image_id}",
            f"expected at least one box on the page, but none is left ({n} given, {n - int(keep.sum())} dropped)",
            "kept"))

    data = {k: v[keep] for k, v in det.data.items()}
    if obb8 is not None:
        data["obb8"] = obb8[keep]
    cleaned = Detections(
        xyxy=xyxy[keep],
        class_id=det.class_id[keep],
        confidence=None if det.confidence is None else det.confidence[keep],
        data=data,
    )
    return replace(record, detections=cleaned), problems


def _duplicates(xyxy: np.ndarray, class_id: np.ndarray, keep: np.ndarray, iou_threshold: float) -> np.ndarray:
    """For each box, the index of the earlier kept box of the same class it duplicates, or -1.

    Comparing every pair would cost an n x n IoU matrix per class (150 ms on a page with 1500 stems). But
    IoU(a, b) >= t forces b's left edge within (1 - t) * width(a) of a's when x0_a <= x0_b (the intersection
    is at most (w_a - d) * h_a and the union at least w_a * h_a), so after sorting by x0 only a narrow window
    of neighbours can match: candidate pairs come from `searchsorted`, and the exact IoU decides.

    Args:
        xyxy: (n, 4) float64 finite boxes with positive size where `keep`; class_id: (n,) int64;
        keep: (n,) bool, boxes still in play.

    Returns:
        (n,) int64.
    """
    duplicate_of = np.full(len(xyxy), -1, dtype=np.int64)
    candidates = np.flatnonzero(keep)
    earlier_parts, later_parts = [], []
    for cls in np.unique(class_id[candidates]).tolist():
        members = candidates[class_id[candidates] == cls]
        if len(members) < 2:
            continue
        order = members[np.argsort(xyxy[members, 0], kind="stable")]
        x0 = xyxy[order, 0]
        reach = x0 + (1.0 - iou_threshold) * (xyxy[order, 2] - x0) + 1e-6  # slack only adds candidates
        first = np.arange(1, len(order) + 1)
        n_pairs = np.maximum(np.searchsorted(x0, reach, side="right") - first, 0)
        if not n_pairs.any():
            continue
        a = np.repeat(np.arange(len(order)), n_pairs)
        b = np.arange(len(a)) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs) + np.repeat(first, n_pairs)
        ia, ib = order[a], order[b]
        match = box_iou_paired(xyxy[ia], xyxy[ib]) >= iou_threshold
        earlier_parts.append(np.minimum(ia, ib)[match])  # "earlier" is annotation order, not x order
        later_parts.append(np.maximum(ia, ib)[match])
    if not earlier_parts or not sum(len(p) for p in later_parts):
        return duplicate_of
    earlier, later = np.concatenate(earlier_parts), np.concatenate(later_parts)
    by_later = np.lexsort((earlier, later))
    earlier, later = earlier[by_later], later[by_later]
    # A match only counts if the earlier box is itself kept; going through the later boxes in annotation order,
    # that is already settled for every earlier one. Boxes with a match are few, so Python can loop over them.
    kept = keep.copy()
    groups = np.flatnonzero(np.r_[True, later[1:] != later[:-1]])
    for start, stop in zip(groups.tolist(), [*groups[1:].tolist(), len(later)]):
        partners = earlier[start:stop]
        partners = partners[kept[partners]]
        if len(partners):
            box = int(later[start])
            kept[box] = False
            duplicate_of[box] = partners[0]
    return duplicate_of


def check_image_file(path: Path, expected_wh: tuple[int, int] | None, file: str, record: str) -> Problem | None:
    """Check that an image exists, is readable and has the stated size, without decoding its pixels.

    PIL's `verify()` walks a PNG's chunks and checks their CRCs, which catches truncated and damaged PNGs;
    a JPEG is only parsed up to its header by PIL, so a JPEG must also end with its end-of-image marker.

    Args:
        path: the image file.
        expected_wh: (width, height) in pixels the annotations assume, or None to skip the size check.
        file, record: where the image is referenced (e.g. the source JSON and "image 410").

    Returns:
        The problem found, or None.
    """
    from omr_core.formats.images import image_size_wh

    path = Path(path)
    if not path.is_file():
        return Problem("missing_image", file, record, f"expected an image file at {path}, but there is none", "dropped")
    try:
        actual_wh = image_size_wh(path) if expected_wh is not None else None
        with Image.open(path) as image:
            image_format = image.format
            image.verify()
        if image_format == "JPEG" and not _jpeg_has_end(path):
            raise OSError("the JPEG has no end-of-image marker (truncated?)")
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError, ImportError) as exc:
        # ValueError includes ImageInputError (the size could not be read)
        # ImportError: once Ultralytics is imported it patches Image.open to try an optional HEIF plugin on files
        # PIL cannot identify; a decoder that is not installed still means the file cannot be read here.
        return Problem("corrupt_image", file, record, f"expected a readable image at {path}, but got: {exc}", "dropped")
    if expected_wh is not None and tuple(actual_wh) != tuple(int(v) for v in expected_wh):
        return Problem(
            "size_mismatch", file, record,
            f"expected {expected_wh[0]} x {expected_wh[1]} px, but {path.name} is {actual_wh[0]} x {actual_wh[1]} px",
            "dropped")
    return None


def check_page_image(record: ImageRecord, path: Path, file: str) -> tuple[ImageRecord | None, Problem | None]:
    """The record fitted to its image file, or None when it must be dropped; and the problem found (see the
    module docstring: a size off by one exact ratio is scaled, any other is dropped)."""
    from omr_core.formats.images import image_size_wh

    name = f"image {record.image_id}"
    problem = check_image_file(path, None, file, name)
    if problem is not None:
        return None, problem
    (width, height), stated = image_size_wh(path), (record.width, record.height)
    if (width, height) == stated:
        return record, None
    message = f"expected {stated[0]} x {stated[1]} px, but {Path(path).name} is {width} x {height} px"
    if min(stated) <= 0 or width * stated[1] != height * stated[0]:
        return None, Problem("size_mismatch", file, name, message + " (not one ratio on both axes)", "dropped")
    factor = width / stated[0]
    det = record.detections
    data = dict(det.data)
    if data.get("obb8") is not None:
        data["obb8"] = np.asarray(data["obb8"], dtype=np.float64) * factor
    scaled = replace(record, width=width, height=height,
                     detections=Detections(det.xyxy * factor, det.class_id, det.confidence, data=data))
    return scaled, Problem("size_mismatch", file, name, f"{message}: boxes scaled by {factor:g}", "scaled")


def _jpeg_has_end(path: Path, tail_bytes: int = 4096) -> bool:
    # FF D9 never occurs inside entropy-coded JPEG data (an FF there is always followed by 00), so finding it
    # near the end means the file was written to the end; some writers append a trailer after it, hence a tail.
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - tail_bytes))
        return b"\xff\xd9" in f.read()


def check_yolo_dataset(root: Path) -> ProblemLog:
    """Check a converted YOLO dataset's labels (see the module docstring for the rules).

    Layout: `root/data.yaml` naming the splits (keys train/val/test, each a folder of images, relative to
    `root` unless absolute) and the class `names`; labels beside the images under `labels/` instead of `images/`.
    Problems name files relative to `root` and lines as "line <number>" (1-based).

    Raises:
        FileNotFoundError: no data.yaml in `root`.
    """
    root = Path(root)
    spec = read_data_yaml(root)
    known = np.array(sorted(int(k) for k in spec["names"]), dtype=np.int64)
    log = ProblemLog()

    def rel(path: Path) -> str:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return str(path)

    for split in YOLO_SPLITS:
        if split not in spec or spec[split] is None:
            continue
        image_dir = Path(spec[split])
        image_dir = image_dir if image_dir.is_absolute() else root / image_dir
        images = list_images(image_dir)
        label_dir = label_path_for(image_dir / "x.png").parent
        stems = {p.stem for p in images}
        for image in images:
            label = label_path_for(image)
            if not label.is_file():
                log.add(Problem("missing_label", rel(image), "file",
                                f"expected a label file {rel(label)}, but there is none: trained on as background", "kept"))
        if label_dir.is_dir():
            for label in sorted(label_dir.glob("*.txt")):
                if label.stem not in stems:
                    log.add(Problem("orphan_label", rel(label), "file",
                                    f"expected an image {label.stem}.<{'|'.join(s[1:] for s in IMAGE_SUFFIXES)}> "
                                    f"in {rel(image_dir)}, but there is none", "skipped"))
                else:
                    log.extend(check_label_text(_read_label(label, rel(label), log), rel(label), known))
    return log


def _read_label(path: Path, file: str, log: ProblemLog) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # Ultralytics accepts a byte-order mark too
    except (OSError, UnicodeDecodeError) as exc:
        log.add(Problem("malformed_label", file, "file", f"expected UTF-8 label text, but got: {exc}", "dropped"))
        return ""


def check_label_text(text: str, file: str, known_class_ids: np.ndarray) -> list[Problem]:
    """Check one YOLO label file's text (rules in the module docstring).

    Args:
        text: the file's content.
        file: its name, for the problems.
        known_class_ids: (k,) int64 YOLO ids that data.yaml names.

    Returns:
        One problem per finding, malformed lines first, then by line.
    """
    # Normalised values are all we look at, so the image size does not matter: (1, 1) keeps them as they are.
    det, problems = parse_labels(text, (1, 1), file=file)
    if not len(det):
        return problems
    lines = det.data["line"].tolist()
    cxcywhn = det.data["cxcywhn"]
    class_id = det.class_id

    finite = np.isfinite(cxcywhn).all(axis=1)
    with np.errstate(invalid="ignore"):
        degenerate = finite & ((cxcywhn[:, 2] <= 0) | (cxcywhn[:, 3] <= 0))
        half = cxcywhn[:, 2:] / 2
        edges = np.column_stack([cxcywhn[:, :2] - half, cxcywhn[:, :2] + half])  # (n, 4) normalised xyxy
        outside = finite & ~degenerate & (
            (edges < -NORMALISED_TOLERANCE) | (edges > 1 + NORMALISED_TOLERANCE)).any(axis=1)
    unknown = ~np.isin(class_id, known_class_ids)
    rows = np.column_stack([class_id.astype(np.float64), cxcywhn])
    first_of = np.arange(len(det))  # index of the first identical row; NaN rows never equal anything
    finite_rows = np.flatnonzero(finite)
    if len(finite_rows):
        _, first, inverse = np.unique(rows[finite_rows], axis=0, return_index=True, return_inverse=True)
        first_of[finite_rows] = finite_rows[first[inverse.ravel()]]
    duplicate = first_of != np.arange(len(det))

    found = []
    for i in np.flatnonzero(~finite).tolist():
        found.append((lines[i], "nan_coordinates", f"values must be finite, but got cx cy w h {_fmt(cxcywhn[i])}", "dropped"))
    for i in np.flatnonzero(degenerate).tolist():
        found.append((lines[i], "degenerate_box", f"w and h must be > 0, but got w={cxcywhn[i, 2]:.6g} h={cxcywhn[i, 3]:.6g}", "dropped"))
    for i in np.flatnonzero(outside).tolist():
        found.append((lines[i], "outside_image",
                      f"box edges must lie in [0, 1], but got x0 y0 x1 y1 {_fmt(edges[i])}", "kept"))
    for i in np.flatnonzero(unknown).tolist():
        found.append((lines[i], "unknown_class",
                      f"class id must be one of data.yaml's {len(known_class_ids)} names "
                      f"(0..{int(known_class_ids.max()) if len(known_class_ids) else -1}), but got {int(class_id[i])}",
                      "dropped"))
    for i in np.flatnonzero(duplicate).tolist():
        found.append((lines[i], "duplicate_box",
                      f"expected each box once, but line {lines[first_of[i]]} is the same box", "dropped"))
    found.sort(key=lambda item: item[0])
    return problems + [Problem(kind, file, f"line {line}", message, action) for line, kind, message, action in found]
