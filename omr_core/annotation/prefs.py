"""What the annotation page remembers across reloads, per real-scan set: the class of new boxes, the recent
classes, the scan and unit last worked on. One small JSON file (annotator.json), written atomically; a file
that cannot be read is the defaults (it only remembers choices)."""

from __future__ import annotations

import json
from pathlib import Path

from omr_core.fileio import locked, write_atomic

PREFS_JSON = "annotator.json"
RECENT = 9  # the digits 1-9 pick them
DEFAULTS = {"new_class": None, "recent": [], "scan": None, "units": {}}


def read_prefs(root: Path) -> dict:
    path = Path(root) / PREFS_JSON
    try:
        stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        stored = {}
    prefs = dict(DEFAULTS)
    if isinstance(stored, dict):
        if isinstance(stored.get("new_class"), str):
            prefs["new_class"] = stored["new_class"]
        if isinstance(stored.get("recent"), list):
            prefs["recent"] = [c for c in stored["recent"] if isinstance(c, str)][:RECENT]
        if isinstance(stored.get("scan"), str):
            prefs["scan"] = stored["scan"]
        if isinstance(stored.get("units"), dict):
            prefs["units"] = {k: v for k, v in stored["units"].items() if isinstance(v, int)}
    return prefs


def update_prefs(root: Path, new_class: str | None = None, recent: list[str] | None = None, scan: str | None = None,
                 unit: int | None = None) -> dict:
    """Remember what is given (None: keep); `unit` is the unit last opened on `scan`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f"{PREFS_JSON}.lock"):
        prefs = read_prefs(root)
        changed = dict(prefs)
        if new_class is not None:
            changed["new_class"] = new_class
        if recent is not None:
            changed["recent"] = [c for c in dict.fromkeys(recent) if isinstance(c, str)][:RECENT]
        if scan is not None:
            changed["scan"] = scan
            if unit is not None:
                changed["units"] = {**prefs["units"], scan: int(unit)}
        if changed != prefs:
            write_atomic(root / PREFS_JSON, json.dumps(changed, indent=1).encode(), durable=False)
        return changed


def used_class(recent: list[str], name: str) -> list[str]:
    """The recent classes after `name` was used: first, once."""
    return [name, *[c for c in recent if c != name]][:RECENT]
