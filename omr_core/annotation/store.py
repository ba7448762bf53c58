"""Labels of real scans on disk: saved at once and atomically, so nothing is ever half written or lost.

Per scan `<id>` in the real-scan set:
    labels/<id>.txt     YOLO lines in page coordinates (class index in the DeepScores class list of the set)
    status/<id>.json    {"status": todo | in progress | done | skipped, "updated": ..., "boxes": n, "version": k}

`fileio.write_atomic` writes a temporary file in the same folder, flushes and fsyncs it, then renames it over
the old one (a rename within a folder is atomic on POSIX) and fsyncs the folder: a kill -9 at any moment
leaves the old file or the new one, never a mix. The label file is written before the status that counts its boxes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from omr_core.fileio import write_atomic

STATUSES = ("todo", "in progress", "done", "skipped")


def save_labels(root: Path, scan_id: str, label_text: str, status: str = "in progress", **extra) -> dict:
    """Save one scan's labels, then its status record (with `extra` fields, e.g. which crops were edited);
    returns the record."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, but got {status!r}")
    root = Path(root)
    previous = read_status(root, scan_id)
    write_atomic(root / "labels" / f"{scan_id}.txt", label_text.encode())
    record = {"status": status, "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
              "boxes": sum(1 for line in label_text.splitlines() if line.strip()),
              "version": previous.get("version", 0) + 1,
              **{k: v for k, v in previous.items() if k not in ("status", "updated", "boxes", "version")}, **extra}
    write_atomic(root / "status" / f"{scan_id}.json", json.dumps(record).encode())
    return record


def set_status(root: Path, scan_id: str, status: str) -> dict:
    """Change a scan's status only (its labels stay as they are)."""
    return save_labels(root, scan_id, read_labels(root, scan_id), status)


def read_status(root: Path, scan_id: str) -> dict:
    path = Path(root) / "status" / f"{scan_id}.json"
    return json.loads(path.read_text()) if path.is_file() else {"status": "todo", "boxes": 0, "version": 0}


def read_labels(root: Path, scan_id: str) -> str:
    path = Path(root) / "labels" / f"{scan_id}.txt"
    return path.read_text() if path.is_file() else ""
