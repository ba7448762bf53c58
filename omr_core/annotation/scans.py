"""The real-scan set: scans imported into the workspace, one page image each, found again by content.

    real_scans/
      images/<id>.png     each page as PNG (a PDF page rendered at the chosen dpi); id = its pixels' hash
      scans.json          [{id, source, page, width, height, dpi, added}], written atomically
      labels/, status/    see store.py

Duplicates: a page whose pixels hash to an id already in the set is not added again (the same photo imported
twice, or the same PDF page at the same dpi), and is reported as a duplicate.

A scans.json that cannot be read loses nothing: the list is rebuilt from images/ (each page's id is its file
name; where it came from is then unknown), the damaged file is kept beside it before the next import writes a
new one, and each bad record is reported with the file and its position.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from omr_core.fileio import write_atomic
from omr_core.formats.images import DEFAULT_DPI, ImageInputError, image_size_wh, is_pdf, pdf_page_count, read_image
from omr_core.structures.problems import Problem, ProblemLog

SCANS_JSON = "scans.json"
_SCAN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # a file name inside the set's folders, never a path


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source and page, the id it repeats)
    problems: list[str] = field(default_factory=list)  # files that could not be read, and why


def page_id(image: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(image).tobytes())
    digest.update(str(image.shape).encode())
    return digest.hexdigest()[:16]


def list_scans(root: Path, problems: ProblemLog | None = None) -> list[dict]:
    """The scans of the set, in import order. Records that are not usable (no id, an id that is no page
    hash, a size that is no number, no image file) are left out; a list that cannot be read at all is rebuilt
    from images/. Both are reported in `problems`."""
    root = Path(root)
    path = root / SCANS_JSON
    if not path.is_file():
        return []
    found = ProblemLog() if problems is None else problems
    try:
        records = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(records, list):
            raise ValueError(f"expected a JSON list of scans, but got {type(records).__name__}")
    except (OSError, ValueError) as exc:
        found.add(Problem("bad_scan_list", str(path), "file", str(exc), "rebuilt from images/"))
        return _rebuilt(root, found)
    scans, seen = [], set()
    for number, record in enumerate(records, start=1):
        reason = _unusable(root, record, seen)
        if reason:
            found.add(Problem("bad_scan", str(path), f"record {number}", reason, "skipped"))
            continue
        seen.add(record["id"])
        scans.append(record)
    return scans


def _unusable(root: Path, record, seen: set) -> str | None:
    if not isinstance(record, dict):
        return f"expected an object, but got {type(record).__name__}"
    scan_id = record.get("id")
    if not isinstance(scan_id, str) or not _SCAN_ID.match(scan_id):
        return f"id must be a name (letters, digits, '.', '_', '-'), but got {str(scan_id)[:40]!r}"
    if scan_id in seen:
        return f"scan {scan_id} is listed twice"
    if not all(isinstance(record.get(k), int) and record[k] > 0 for k in ("width", "height")):
        return f"scan {scan_id}: width and height must be positive integers"
    if not (root / "images" / f"{scan_id}.png").is_file():  # the page would fail to open
        return f"scan {scan_id}: its image {root / 'images' / (scan_id + '.png')} is missing"
    return None


def _rebuilt(root: Path, problems: ProblemLog) -> list[dict]:
    """The scan list made again from the page images themselves."""
    scans = []
    for image in sorted((root / "images").glob("*.png")):
        if not _SCAN_ID.match(image.stem):
            continue
        try:
            width, height = image_size_wh(image)
        except ImageInputError as exc:
            problems.add(Problem("bad_scan", str(image), f"scan {image.stem}", str(exc), "skipped"))
            continue
        scans.append({"id": image.stem, "source": f"(recovered from {image.name})", "page": 1, "width": width,
                      "height": height, "dpi": None, "added": None})
    return scans


def import_scans(root: Path, files: list[Path], dpi: float = DEFAULT_DPI, names: list[str] | None = None) -> ImportResult:
    """Add images (png, jpg, tiff) and PDFs (every page at `dpi`) to the set. `names`: how to record each
    file's source (an upload's own name); the files themselves are read from `files`."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    damaged = ProblemLog()
    scans = list_scans(root, damaged)
    if damaged.count("bad_scan_list") or damaged.count("bad_scan"):  # kept before a new list replaces it
        copy = root / f"{SCANS_JSON}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        write_atomic(copy, (root / SCANS_JSON).read_bytes())
    known = {s["id"] for s in scans}
    result = ImportResult(problems=[str(p) for p in damaged.problems])
    for number, file in enumerate(files):
        file = Path(file)
        source = names[number] if names else file.name
        try:
            pdf = file.is_file() and is_pdf(file)
            pages = range(pdf_page_count(file)) if pdf else [0]
            for page in pages:
                image = read_image(file, page, dpi)
                scan_id = page_id(image)
                label = f"{source} page {page + 1}" if pdf else source
                if scan_id in known:
                    result.duplicates.append((label, scan_id))
                    continue
                ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                write_atomic(root / "images" / f"{scan_id}.png", png.tobytes())
                scans.append({"id": scan_id, "source": source, "page": page + 1, "width": int(image.shape[1]),
                              "height": int(image.shape[0]), "dpi": dpi if pdf else None,
                              "added": time.strftime("%Y-%m-%d %H:%M:%S")})
                known.add(scan_id)
                result.added.append(scan_id)
        except ImageInputError as exc:
            result.problems.append(str(exc))
    write_atomic(root / SCANS_JSON, json.dumps(scans, indent=1).encode())
    return result
