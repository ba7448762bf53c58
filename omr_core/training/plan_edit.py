"""Change one stage of a plan YAML without touching anything else in the file (the user's comments stay).

Stages are written one to a line as flow mappings (`  - {name: "3.2", class_set: "3.2", ...}`), as the shipped
plan does; the stage's line is parsed, updated and written back on its own line. A plan whose stage is laid
out otherwise is refused with a clear message rather than rewritten.

Why not a round-trip YAML library: ruamel.yaml's round-trip re-wraps the other flow mappings of the file (the
plan's three-line `cpu_fallback`) and re-indents the stage list, so the user's file would change where nobody
edited it (bench/RESULTS.md); this edit touches one line.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from omr_core.fileio import write_atomic


class PlanEditError(ValueError):
    pass


def _flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()


def update_stage(plan_yaml: Path, stage: str, changes: dict) -> dict:
    """Merge `changes` into the stage's entry (dicts merge one level deep); returns the new entry."""
    path = Path(plan_yaml)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*-\s*)(\{.*\})\s*(#.*)?$", line.rstrip("\n"))
        if not match:
            continue
        entry = yaml.safe_load(match.group(2))
        if not isinstance(entry, dict) or str(entry.get("name")) != str(stage):
            continue
        for key, value in changes.items():
            entry[key] = {**entry.get(key, {}), **value} if isinstance(value, dict) else value
        comment = f"  {match.group(3)}" if match.group(3) else ""
        lines[number] = f"{match.group(1)}{_flow(entry)}{comment}\n"
        write_atomic(path, "".join(lines).encode())
        return entry
    raise PlanEditError(f"{path}: no stage {stage!r} written on one line as '- {{name: ..., ...}}'; "
                        "edit the plan by hand or lay the stage out on one line")
