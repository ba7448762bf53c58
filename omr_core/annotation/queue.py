"""What to label first: the scans (and their work units) the model is least sure of.

Uncertainty of a set of predictions: the mean over its boxes (confidence >= 0.05) of 1 - |2c - 1|, which is
1 for a box at confidence 0.5 (a coin toss) and 0 at 0 or 1; a page where the model finds nothing at all is as
uncertain as can be (1). The queue: scans in progress first, then the ones to do, most uncertain first (those
never pre-labelled after them, in import order), then done and skipped.

Pre-labels are kept per scan in predictions/<id>.json (model, boxes in page px, class names, confidences), so
the queue is ordered without running the model again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from omr_core.annotation.scans import list_scans
from omr_core.annotation.store import read_status
from omr_core.fileio import write_atomic
from omr_core.structures.detections import MIN_CONF, Detections
from omr_core.structures.problems import Problem, ProblemLog

WANTED_JSON = "wanted.json"  # classes an evaluation asked to label more of
ORDER = {"in progress": 0, "todo": 1, "done": 2, "skipped": 3}


def uncertainty(confidence: np.ndarray) -> float:
    """How unsure a model is of a set of boxes, 0 (all 0 or 1) to 1 (all 0.5): the mean of 1 - |2c - 1| over the
    (n,) confidences from MIN_CONF up; 1 when there are none."""
    confidence = np.asarray(confidence, dtype=np.float64)
    confidence = confidence[confidence >= MIN_CONF]
    if len(confidence) == 0:
        return 1.0
    return float(np.mean(1.0 - np.abs(2.0 * confidence - 1.0)))


def save_predictions(root: Path, scan_id: str, model: str, boxes: Detections, names: list[str]) -> None:
    document = {"model": model, "xyxy": np.round(boxes.xyxy, 2).tolist(),
                "class": [names[int(c)] for c in boxes.class_id],
                "confidence": np.round(boxes.confidence, 4).tolist() if boxes.confidence is not None else []}
    write_atomic(Path(root) / "predictions" / f"{scan_id}.json", json.dumps(document).encode())


def load_predictions(root: Path, scan_id: str, problems: ProblemLog | None = None) -> dict | None:
    """A scan's stored pre-labels, or None (none yet, or a file that cannot be read: reported in `problems`,
    and the scan is then pre-labelled again like one never done)."""
    path = Path(root) / "predictions" / f"{scan_id}.json"
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
        boxes = np.asarray(document["xyxy"], dtype=np.float64).reshape(-1, 4)
        if not len(boxes) == len(document["class"]) == len(document["confidence"]):
            raise ValueError(f"expected as many classes and confidences as boxes ({len(boxes)})")
        np.asarray(document["confidence"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if problems is not None:
            problems.add(Problem("bad_predictions", str(path), f"scan {scan_id}", str(exc), "ignored"))
        return None
    return document


def unit_uncertainty(predictions: dict, units, unit: int) -> float:
    """The uncertainty of the pre-labels whose centre lies in one work unit (annotation.units)."""
    from omr_core.annotation.units import unit_of

    xyxy = np.asarray(predictions["xyxy"], dtype=np.float64).reshape(-1, 4)
    return uncertainty(np.asarray(predictions["confidence"], dtype=np.float64)[unit_of(xyxy, units) == unit])


def queue(root: Path, problems: ProblemLog | None = None) -> list[dict]:
    """Every scan with its status, box count and uncertainty (None: not pre-labelled yet), in labelling order.
    Classes an evaluation asked for (wanted.json) come first among the scans to do: a scan predicted to hold
    one of them goes before the others. Files that cannot be read are reported in `problems` and the rest goes on."""
    wanted = set(read_wanted(root))
    rows = []
    for number, scan in enumerate(list_scans(root, problems)):
        status = read_status(root, scan["id"], problems)
        predictions = load_predictions(root, scan["id"], problems)
        score = uncertainty(predictions["confidence"]) if predictions else None
        holds = bool(predictions) and bool(wanted.intersection(predictions["class"]))
        rows.append({**scan, "status": status["status"], "boxes": status.get("boxes", 0), "uncertainty": score,
                     "wanted": holds,
                     "_order": (ORDER[status["status"]], not holds, score is None, -(score or 0.0), number)})
    rows.sort(key=lambda r: r["_order"])
    for row in rows:
        del row["_order"]
    return rows


def read_wanted(root: Path) -> list[str]:
    path = Path(root) / WANTED_JSON
    try:
        classes = json.loads(path.read_text())["classes"] if path.is_file() else []
    except (OSError, ValueError, KeyError, TypeError):
        return []  # a damaged wish list only loses the ordering it asked for
    return [c for c in classes if isinstance(c, str)] if isinstance(classes, list) else []


def add_wanted(root: Path, classes: list[str]) -> list[str]:
    wanted = read_wanted(root)
    wanted += [c for c in classes if c not in wanted]
    write_atomic(Path(root) / WANTED_JSON, json.dumps({"classes": wanted}).encode())
    return wanted
