"""Labels of real scans on disk: saved at once and atomically, and never lost to a second writer.

Per scan `<id>` in the real-scan set:
    labels/<id>.txt     YOLO lines in page coordinates (class index in the DeepScores class list of the set)
    status/<id>.json    {"status": todo | in progress | done | skipped, "updated": ..., "boxes": n, "version": k,
                         "unsure": [label lines], "review": {unit number: seen | edited | reviewed}, ...}
    conflicts/          a refused save's own labels, kept (the message names the file)

"unsure": the boxes a model pre-labelled under its confidence threshold and nobody has touched since, named by
their label line: a box moved, resized or given another class is another line, so it is no longer unsure;
a save can also vouch for lines (`sure`). "review": how far each work unit (annotation.units) has been
checked; a save or `set_review` changes the units it names and keeps the others.

`fileio.write_atomic` writes a temporary file in the same folder, flushes and fsyncs it, then renames it over
the old one (a rename within a folder is atomic on POSIX) and fsyncs the folder: a kill -9 at any moment
leaves the old file or the new one, never a mix. The label file is written before the status that counts its boxes.

Two writers (two tabs, two people, two processes). Each save may state the version and the label text it
started from (`base_version`, `base_text`). Under a lock (`status/<id>.lock`), if the scan moved on since, the
two edits are merged box by box (a box is its label line): the boxes the save removed are removed from the
current labels, the ones it added are added (once, if the other writer added the same). When both removed the
same box and put different ones in its place (one moved it, the other deleted it), the save is refused with
LabelConflict; its labels are kept in conflicts/ and the caller can reload, or save again from the current
version.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from omr_core.fileio import locked, write_atomic
from omr_core.structures.problems import Problem, ProblemLog

STATUSES = ("todo", "in progress", "done", "skipped")
NO_STATUS = {"status": "todo", "boxes": 0, "version": 0}


class LabelConflict(ValueError):
    """A save that both edits changed the same boxes of, differently; nothing was written but the conflict copy."""

    def __init__(self, message: str, version: int, kept: Path, boxes: list[str]):
        super().__init__(message)
        self.version, self.kept, self.boxes = version, kept, boxes


def _lock(root: Path, scan_id: str):
    return locked(Path(root) / "status" / f"{scan_id}.lock")


def save_labels(root: Path, scan_id: str, label_text: str, status: str | None = "in progress",
                base_version: int | None = None, base_text: str | None = None, unsure=(), sure=(),
                review: dict | None = None, started: bool = False, **extra) -> dict:
    """Save one scan's labels, then its status record (with `extra` fields); returns the record. `status`
    None keeps the scan's status as it is on disk (`started`: but a scan still "todo" is "in progress" now).
    `unsure`, `sure`: label lines to mark unsure, or vouched for;
    `review`: {unit number: state} for the units this save changes. With `base_version` (and `base_text`, the
    labels at that version), a save that another writer overtook is merged, or refused with LabelConflict (see
    the module docstring)."""
    _check_status(status)
    root = Path(root)
    with _lock(root, scan_id):
        previous = read_status(root, scan_id)
        status = _status_after(previous, status, started)
        current = read_labels(root, scan_id)
        text = label_text
        if base_version is not None and base_version != previous.get("version", 0) and base_text is not None:
            try:
                text = merge_labels(base_text, label_text, current)
            except _Overlap as overlap:
                kept = write_atomic_copy(root, scan_id, label_text)
                raise LabelConflict(
                    f"{root / 'labels' / (scan_id + '.txt')}: saved elsewhere since you opened it (version "
                    f"{base_version} -> {previous.get('version', 0)}), and both edits changed {len(overlap.boxes)} "
                    f"of the same boxes differently. Nothing of yours is lost: your labels are kept in {kept}. "
                    f"Reload to see the saved version, or save yours over it.",
                    previous.get("version", 0), kept, overlap.boxes) from None
        if text != current or not (root / "labels" / f"{scan_id}.txt").is_file():
            write_atomic(root / "labels" / f"{scan_id}.txt", text.encode())
        return _write_status(root, scan_id, previous, status, text, extra, unsure, sure, review)


def _check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, but got {status!r}")


def _status_after(previous: dict, status: str | None, started: bool) -> str:
    """The status a save gives: `status`, or (None) the one on disk, a scan still "todo" being "in progress"
    once `started`."""
    if status is not None:
        return status
    return "in progress" if started and previous["status"] == "todo" else previous["status"]


def normal_line(line: str) -> str:
    """A label line as the store compares lines: its fields joined by one space."""
    return " ".join(line.split())


def _write_status(root: Path, scan_id: str, previous: dict, status: str, text: str, extra: dict, unsure=(),
                  sure=(), review: dict | None = None) -> dict:
    merged_extra = dict(extra)
    if "edited" in extra and "edited" in previous:  # work units edited by either writer
        merged_extra["edited"] = sorted({tuple(c) for c in previous["edited"]} | {tuple(c) for c in extra["edited"]})
    lines = set(_lines(text))
    marked = (set(previous.get("unsure", [])) | {normal_line(u) for u in unsure}) - {normal_line(u) for u in sure}
    merged_extra["unsure"] = sorted(marked & lines)  # a line no longer in the labels was touched or removed
    merged_extra["review"] = {**previous.get("review", {}), **{str(k): v for k, v in (review or {}).items()}}
    record = {"status": status, "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
              "boxes": sum(1 for line in text.splitlines() if line.strip()),
              "version": previous.get("version", 0) + 1,
              **{k: v for k, v in previous.items() if k not in ("status", "updated", "boxes", "version")},
              **merged_extra}
    write_atomic(root / "status" / f"{scan_id}.json", json.dumps(record).encode())
    return record


def write_atomic_copy(root: Path, scan_id: str, text: str) -> Path:
    kept = Path(root) / "conflicts" / f"{scan_id}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6:06d}.txt"
    write_atomic(kept, text.encode())
    return kept


def set_status(root: Path, scan_id: str, status: str | None, review: dict | None = None, sure=(),
               started: bool = False, **extra) -> dict:
    """Change a scan's status (None: keep it; `started`: a scan still "todo" is "in progress" now), its units'
    review states and extra fields only: its labels stay as they are, whatever another writer saved."""
    _check_status(status)
    root = Path(root)
    with _lock(root, scan_id):
        previous = read_status(root, scan_id)
        status = _status_after(previous, status, started)
        return _write_status(root, scan_id, previous, status, read_labels(root, scan_id), extra, sure=sure,
                             review=review)


class _Overlap(Exception):
    def __init__(self, boxes: list[str]):
        self.boxes = boxes


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _box(line: str) -> tuple | None:
    """(class, x0, y0, x1, y1) in normalised page units of a label line, or None when it does not parse."""
    try:
        c, cx, cy, w, h = line.split()
        cx, cy, w, h = float(cx), float(cy), float(w), float(h)
        return c, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    except ValueError:
        return None


def _replacements(removed: str, added: Counter) -> Counter:
    """The added boxes that overlap a removed one with its class: where it was moved or resized to."""
    box = _box(removed)
    out = Counter()
    for line, n in added.items():
        other = _box(line)
        if box and other and other[0] == box[0] and min(box[3], other[3]) > max(box[1], other[1]) \
                and min(box[4], other[4]) > max(box[2], other[2]):
            out[line] = n
    return out


def merge_labels(base_text: str, mine_text: str, theirs_text: str) -> str:
    """Three-way merge of label files, box by box (a box is one normalised label line): the current labels
    (`theirs`) with the boxes `mine` removed taken out and the ones it added put in. A box both removed is
    fine when both put the same in its place (the same move, or both deleted it); otherwise _Overlap."""
    base, mine, theirs = Counter(_lines(base_text)), Counter(_lines(mine_text)), Counter(_lines(theirs_text))
    mine_removed, mine_added = base - mine, mine - base
    their_removed, their_added = base - theirs, theirs - base
    both = mine_removed & their_removed
    clashes = [line for line in both if _replacements(line, mine_added) != _replacements(line, their_added)]
    if clashes:
        raise _Overlap(sorted(clashes))
    drop = mine_removed - their_removed  # what this save removed, still there
    add = mine_added - their_added  # what this save added, not added by the other writer already
    out = []
    for line in _lines(theirs_text):
        if drop[line] > 0:
            drop[line] -= 1
        else:
            out.append(line)
    for line in _lines(mine_text):
        if add[line] > 0:
            add[line] -= 1
            out.append(line)
    return "".join(line + "\n" for line in out)


def read_status(root: Path, scan_id: str, problems: ProblemLog | None = None) -> dict:
    """A scan's status record; one that cannot be read counts as 'todo' (reported in `problems`)."""
    path = Path(root) / "status" / f"{scan_id}.json"
    if not path.is_file():
        return dict(NO_STATUS)
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(record, dict):
            raise ValueError(f"expected a JSON object, but got {type(record).__name__}")
        if record.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, but got {record.get('status')!r}")
        if not isinstance(record.get("version", 0), int) or not isinstance(record.get("boxes", 0), int):
            raise ValueError("version and boxes must be integers")
        if not isinstance(record.get("unsure", []), list) or not isinstance(record.get("review", {}), dict):
            raise ValueError("unsure must be a list of label lines and review an object of unit states")
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        if problems is not None:
            problems.add(Problem("bad_status", str(path), f"scan {scan_id}", str(exc), "read as todo"))
        return dict(NO_STATUS)
    return record


def read_version(root: Path, scan_id: str) -> tuple[int, str]:
    """A scan's label version and its label text, read together under the scan's lock."""
    with _lock(Path(root), scan_id):
        return read_status(root, scan_id).get("version", 0), read_labels(root, scan_id)


def read_labels(root: Path, scan_id: str) -> str:
    """A scan's label text; bytes that are not UTF-8 come back as U+FFFD, so their line is reported malformed."""
    path = Path(root) / "labels" / f"{scan_id}.txt"
    return path.read_bytes().decode("utf-8", "replace") if path.is_file() else ""


def read_page_labels(root: Path, scan_id: str, image_wh: tuple[int, int], n_classes: int,
                     problems: ProblemLog | None = None):
    """A scan's boxes in page pixels (Detections), skipping lines that do not parse and class indices outside
    0..n_classes-1, each reported with the file and line in `problems`."""
    from omr_core.formats.yolo import parse_labels

    path = Path(root) / "labels" / f"{scan_id}.txt"
    labels, found = parse_labels(read_labels(root, scan_id), image_wh, str(path))
    known = (labels.class_id >= 0) & (labels.class_id < n_classes)
    for line, class_id in zip(labels.data["line"][~known], labels.class_id[~known]):
        found.append(Problem("unknown_class", str(path), f"line {line}",
                             f"class index must be 0..{n_classes - 1}, but got {class_id}", "skipped"))
    if problems is not None:
        problems.extend(found)
    return labels[known]
