"""The real-scan set: scans imported into the workspace, one page image each, found again by content.

    real_scans/
      images/<id>.png     each page as PNG (a PDF page rendered at the chosen dpi); id = its pixels' hash
      scans.json          [{id, source, page, width, height, dpi, added}], written atomically
      labels/, status/    see store.py

Duplicates: a page whose pixels hash to an id already in the set is not added again (the same photo imported
twice, or the same PDF page at the same dpi), and is reported as a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from omr_core.fileio import write_atomic
from omr_core.inference.images import DEFAULT_DPI, ImageInputError, is_pdf, pdf_page_count, read_image

SCANS_JSON = "scans.json"


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source and page, the id it repeats)
    problems: list[str] = field(default_factory=list)  # files that could not be read, and why


def page_id(image: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(image).tobytes())
    digest.update(str(image.shape).encode())
    return digest.hexdigest()[:16]


def list_scans(root: Path) -> list[dict]:
    path = Path(root) / SCANS_JSON
    return json.loads(path.read_text()) if path.is_file() else []


def import_scans(root: Path, files: list[Path], dpi: float = DEFAULT_DPI, names: list[str] | None = None) -> ImportResult:
    """Add images (png, jpg, tiff) and PDFs (every page at `dpi`) to the set. `names`: how to record each
    file's source (an upload's own name); the files themselves are read from `files`."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    scans = list_scans(root)
    known = {s["id"] for s in scans}
    result = ImportResult()
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
