"""YOLO detection datasets as Ultralytics reads them.

Layout: `images/<split>/<stem>.<ext>` beside `labels/<split>/<stem>.txt`, one line per box:
`class_id cx cy w h` with the centre and size divided by the image width and height (BoxMode.CXCYWHN), and a
`data.yaml` naming the split folders and the class names in YOLO id order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from omr_core.fileio import write_atomic
from omr_core.structures.boxes import BoxMode, convert
from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def format_labels(detections: Detections, image_wh: tuple[int, int]) -> str:
    """YOLO label text for detections whose `class_id` already holds YOLO ids (one line per box)."""
    return label_bytes(detections, image_wh).decode("ascii")


_POW10 = 10 ** np.arange(5, -1, -1, dtype=np.int64)  # the six decimals of a "%.6f" value


def label_bytes(detections: Detections, image_wh: tuple[int, int]) -> bytes:
    """`format_labels` as ASCII bytes.

    Lines are assembled with numpy digit arithmetic: 0.38 instead of 0.72 us a box here (formatting was the
    reading process's largest cost in the 1M-annotation benchmark). Values outside [0, 10) or class ids outside
    0..999 take the plain `%` path. Rounding is to the nearest 1e-6 like "%.6f" (a value exactly halfway may differ in the last
    digit)."""
    n = len(detections)
    if not n:
        return b""
    cxcywhn = convert(detections.xyxy, BoxMode.XYXY, BoxMode.CXCYWHN, image_wh)
    class_id = detections.class_id
    with np.errstate(invalid="ignore"):
        plain = not (np.isfinite(cxcywhn).all() and (cxcywhn >= 0).all() and (cxcywhn < 9.9999995).all()
                     and (class_id >= 0).all() and (class_id <= 999).all())
    if plain:
        rows = np.column_stack([class_id.astype(np.float64), cxcywhn]).ravel().tolist()
        return (("%d %.6f %.6f %.6f %.6f\n" * n) % tuple(rows)).encode("ascii")
    scaled = np.rint(cxcywhn * 1e6).astype(np.int64)  # (n, 4)
    line = np.empty((n, 40), dtype=np.uint8)  # "ccc" + 4 x " d.dddddd" + "\n"; unused class digits cut below
    line[:, :3] = 48 + (class_id[:, None] // np.array([100, 10, 1])) % 10
    values = line[:, 3:39].reshape(n, 4, 9)
    values[:, :, 0] = 32
    values[:, :, 1] = 48 + scaled // 1_000_000
    values[:, :, 2] = 46
    values[:, :, 3:] = 48 + (scaled[:, :, None] % 1_000_000 // _POW10) % 10
    line[:, 39] = 10
    keep = np.ones((n, 40), dtype=bool)
    keep[:, 0] = class_id >= 100  # no leading zeros in the class id
    keep[:, 1] = class_id >= 10
    return line[keep].tobytes()


def write_labels(path: Path, detections: Detections, image_wh: tuple[int, int]) -> None:
    """Write one label file (an empty file marks an image with no boxes: a background image)."""
    path.write_bytes(label_bytes(detections, image_wh))


def parse_labels(text: str, image_wh: tuple[int, int], file: str = "<labels>") -> tuple[Detections, list[Problem]]:
    """Parse YOLO label text into pixel boxes; malformed lines are reported and skipped.

    The boxes carry data["cxcywhn"] (n, 4) as written and data["line"] (n,) their 1-based line numbers."""
    rows, problems, lines = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            if len(parts) != 5:
                raise ValueError(f"expected 5 fields 'class cx cy w h', but got {len(parts)}")
            class_id = int(parts[0])
            rows.append([class_id, *(float(p) for p in parts[1:])])
            lines.append(number)
        except ValueError as exc:
            problems.append(Problem("malformed_label", file, f"line {number}", f"{exc}: {line.strip()[:80]!r}", "dropped"))
    array = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    xyxy = convert(array[:, 1:], BoxMode.CXCYWHN, BoxMode.XYXY, image_wh)
    data = {"cxcywhn": array[:, 1:], "line": np.asarray(lines, dtype=np.int64)}  # 1-based line of each box
    return Detections(xyxy, array[:, 0].astype(np.int64), data=data), problems


def label_path_for(image_path: Path) -> Path:
    """`.../images/<split>/x.png` -> `.../labels/<split>/x.txt` (Ultralytics' rule: the last `images` part)."""
    parts = list(image_path.parts)
    index = len(parts) - 1 - parts[::-1].index("images")
    parts[index] = "labels"
    return Path(*parts).with_suffix(".txt")


def write_data_yaml(root: Path, names: list[str], splits: list[str], extra: dict | None = None) -> Path:
    """Write `data.yaml` with an absolute `path`, so Ultralytics finds the set wherever it is run from."""
    spec = {"path": str(root.resolve()), **{s: f"images/{s}" for s in splits}, "names": dict(enumerate(names))}
    spec.update(extra or {})
    target = root / "data.yaml"
    write_atomic(target, yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return target


def read_data_yaml(root: Path) -> dict:
    path = root / "data.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{root}: no data.yaml; expected a YOLO dataset folder made by the converter")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = spec.get("names")
    if isinstance(names, list):
        spec["names"] = dict(enumerate(names))
    if not isinstance(spec.get("names"), dict):
        raise ValueError(f"{path}: 'names' must map YOLO ids to class names, but got {names!r}")
    return spec


def split_folder(dataset: Path, split: str, spec: dict | None = None) -> Path:
    """The image folder of a split, as data.yaml names it (relative to its `path`); `spec`: data.yaml already read."""
    spec = spec if spec is not None else read_data_yaml(Path(dataset))
    return Path(spec.get("path") or dataset) / spec.get(split, f"images/{split}")


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
