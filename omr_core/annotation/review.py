"""How far a page is checked: a review state per work unit, and when a page may be called done.

    states = unit_states(status, len(units))    # ["reviewed", "not seen", "edited", ...], one per unit
    mark_done(root, scan_id, len(units))        # Unreviewed unless every unit is reviewed ...
    mark_done(root, scan_id, len(units), confirm=True)   # ... or the user confirms it, recorded in the status

States, in the order work goes: "not seen" (never opened), "seen" (opened, nothing changed), "edited" (boxes
changed, not accepted yet), "reviewed" (accepted: every box of it checked). A page is done when every unit is
reviewed; the user may mark it done before that, and the status then records which units were not reviewed
and when that was confirmed ("done_unreviewed"). The export counts reviewed and unreviewed units again from
the states themselves, so a unit reviewed later counts as reviewed.
"""

from __future__ import annotations

import time
from pathlib import Path

from omr_core.annotation.store import read_status, set_status

STATES = ("not seen", "seen", "edited", "reviewed")


class Unreviewed(ValueError):
    """Marking a page done while some of its units are not reviewed, without the user's confirmation."""

    def __init__(self, units: list[int]):
        super().__init__(f"{len(units)} work unit{'s are' if len(units) != 1 else ' is'} not reviewed yet "
                         f"(unit{'s' if len(units) != 1 else ''} {', '.join(str(k + 1) for k in units)}): review "
                         f"them, or confirm that the page is done as it is")
        self.units = units


def unit_states(status: dict, n_units: int) -> list[str]:
    """The review state of each of a page's units, from its status record (a state it does not know reads as
    "not seen")."""
    review = status.get("review", {}) if isinstance(status.get("review"), dict) else {}
    return [review.get(str(k)) if review.get(str(k)) in STATES else "not seen" for k in range(n_units)]


def summary(status: dict, n_units: int) -> dict:
    """{"units", "reviewed", "unreviewed", "not seen"} of one page."""
    states = unit_states(status, n_units)
    reviewed = states.count("reviewed")
    return {"units": n_units, "reviewed": reviewed, "unreviewed": n_units - reviewed,
            "not seen": states.count("not seen")}


def opened(current: str) -> str:
    """The state of a unit just opened: "seen" the first time, else what it was."""
    return "seen" if current == "not seen" else current


def edited(current: str) -> str:
    """The state of a unit whose boxes were just changed: reviewed units stay reviewed (the user is at it)."""
    return current if current == "reviewed" else "edited"


def mark_done(root: Path, scan_id: str, n_units: int, confirm: bool = False) -> dict:
    """Mark a page done: when every unit is reviewed, or with `confirm` (recorded); else Unreviewed."""
    status = read_status(root, scan_id)
    left = [k for k, s in enumerate(unit_states(status, n_units)) if s != "reviewed"]
    if left and not confirm:
        raise Unreviewed(left)
    extra = {"done_unreviewed": {"units": left, "confirmed": time.strftime("%Y-%m-%d %H:%M:%S")}} if left else \
        {"done_unreviewed": None}
    return set_status(root, scan_id, "done", **extra)


def accept(root: Path, scan_id: str, unit: int, unit_lines: list[str]) -> dict:
    """Accept a unit as it is: reviewed, and its boxes vouched for (no longer unsure). unit_lines: its label
    lines."""
    return set_status(root, scan_id, None, review={unit: "reviewed"}, sure=unit_lines, started=True)
