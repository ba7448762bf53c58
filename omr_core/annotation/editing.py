"""Which answers of a canvas are new edits, and which version of the labels each was made on.

A canvas (`omr_core.ui.annotator`) is given a drawing of one work unit, named by a drawing id, made from one
version of the scan's labels (`Given`: that version, its label text and the part of the page shown). It
answers after every change with its boxes and a sequence number; an answer already taken is not taken again.
Each edit is saved against the version its drawing was made from (`store.save_labels` with base_version and
base_text), so a tab left open while another tab, person or the pre-labelling job saved is merged with their
work, never written over it.

After a save the canvas keeps its drawing (its selection, zoom and scroll stay) while the labels on disk hold
the same boxes as the canvas; the drawing's Given moves on to the saved version. The canvas's box ids stay the
line numbers of the text its drawing was made from (`Given.ids_text`): a save moves a unit's lines to the end
of the file, so each later answer's ids are read in that text and found again, by their line, in the text it
is saved against (`relink`). When the boxes on disk differ
from the canvas's (another writer changed the unit, its unsure boxes were removed, it was accepted), the canvas
is given a new drawing. An answer that still comes from an older drawing is saved against that drawing's own
version, and merged.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

from omr_core.annotation.canvas import apply_edit
from omr_core.annotation.review import edited
from omr_core.annotation.store import LabelConflict, normal_line, read_version, save_labels

KEEP_GIVEN = 8  # drawings remembered per canvas (answers from older ones are merged as they come)


def drawing_key(boxes: list[dict], view_xyxy) -> tuple:
    """What a canvas shows, as a comparable value: each box's class, page box (to 0.1 px) and unsure mark."""
    x, y = float(view_xyxy[0]), float(view_xyxy[1])
    return tuple(sorted((str(b.get("label")), *(round(float(v) + o, 1) for v, o in zip(b["xyxy"], (x, y, x, y))),
                         bool(b.get("unsure"))) for b in boxes))


@dataclass(frozen=True)
class Given:
    version: int
    text: str
    view_xyxy: tuple[int, int, int, int]
    shows: tuple  # drawing_key of what the canvas shows now
    ids_text: str | None = None  # the text whose line numbers the canvas's box ids are (None: `text`)


def relink(boxes: list[dict], ids_text: str, text: str) -> list[dict]:
    """The canvas's boxes with their ids, line numbers of `ids_text`, turned into line numbers of `text` (the
    same line, found by its content, each used once); a box whose line `text` no longer holds loses its id and
    is saved from its coordinates, as one drawn."""
    if ids_text == text:
        return boxes
    old = ids_text.splitlines()
    where = defaultdict(list)
    for number, line in enumerate(text.splitlines(), start=1):
        where[normal_line(line)].append(number)
    out = []
    for box in boxes:
        line_id = box.get("id")
        if isinstance(line_id, int) and 1 <= line_id <= len(old) and where[normal_line(old[line_id - 1])]:
            out.append({**box, "id": where[normal_line(old[line_id - 1])].pop(0)})
        else:
            out.append({**box, "id": None, "touched": True})
    return out


@dataclass
class CanvasSession:
    """One canvas's drawings and answers (kept in the page's session state)."""

    name: str
    given: dict[str, Given] = field(default_factory=dict)
    current: str | None = None
    count: int = 0
    taken: tuple | None = None  # (drawing id, seq) of the last answer taken

    def new_answer(self, value: dict | None) -> dict | None:
        """The canvas's answer if it is one not taken yet (then it is taken), else None."""
        if not isinstance(value, dict) or "drawing" not in value or "seq" not in value:
            return None
        mark = (value["drawing"], value["seq"])
        if mark == self.taken or value["drawing"] not in self.given:
            return None
        self.taken = mark
        return value

    def give(self, drawing: dict, version: int, text: str) -> str:
        """The drawing id to hand the canvas for the unit as it is on disk (`drawing`: canvas.unit_drawing of
        `text` at `version`): the current one while the canvas shows these boxes, else a new one."""
        key = drawing_key(drawing["boxes"], drawing["view_xyxy"])
        if self.current is not None and self.given[self.current].shows == key:
            kept = self.given[self.current]
            self.given[self.current] = replace(kept, version=version, text=text, ids_text=kept.ids_text or kept.text)
            return self.current
        self.count += 1
        self.current = f"{self.name}:{self.count}"
        self.given[self.current] = Given(version, text, tuple(drawing["view_xyxy"]), key, text)
        for old in list(self.given)[:-KEEP_GIVEN]:
            del self.given[old]
        return self.current


@dataclass(frozen=True)
class Saved:
    record: dict | None  # the status record after the save; None when nothing changed
    unknown: list[str]  # labels the canvas held that are no class (those boxes were left out)
    conflict: LabelConflict | None = None


def save_answer(root, scan_id: str, session: CanvasSession, answer: dict, names: list[str], units, unit: int,
                image_wh: tuple[int, int], state: str) -> Saved:
    """Save a canvas answer for one unit against the version its drawing came from. state: the unit's review
    state before it (a reviewed unit stays reviewed)."""
    given = session.given[answer["drawing"]]
    boxes = relink(answer.get("boxes") or [], given.ids_text or given.text, given.text)
    edit = apply_edit(given.text, image_wh, names, units, unit, given.view_xyxy, boxes)
    shows = drawing_key([b for b in boxes if b.get("label") in names], given.view_xyxy)
    if not edit.changed:  # a new-box class chosen, a box selected: nothing to save (an unsure mark goes with a touch)
        session.given[answer["drawing"]] = replace(given, shows=shows)
        return Saved(None, edit.unknown)
    try:
        record = save_labels(root, scan_id, edit.text, None, base_version=given.version, base_text=given.text,
                             unsure=edit.unsure, sure=edit.sure, started=True, review={unit: edited(state)})
    except LabelConflict as conflict:  # both changed the same boxes: the user's are kept in conflicts/
        return Saved(None, edit.unknown, conflict)
    version, text = read_version(root, scan_id)  # the version saved, or a later one: a pair either way
    session.given[answer["drawing"]] = Given(version, text, given.view_xyxy, shows, given.ids_text or given.text)
    return Saved(record, edit.unknown)
