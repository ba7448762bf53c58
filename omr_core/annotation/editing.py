"""Which values a canvas reports are the user's edits, and which version of the labels each was made on.

A canvas is given a drawing made from one version of a scan's labels (`Given`: its boxes, that version and its
label text). What it reports back is an edit only when it differs from what it was given, and from what it
still showed when it was last given something new (`stale`: until the browser has drawn the new drawing, it
may report the old one again; that is no edit). An edit is saved against the version it was made on
(`store.save_labels` with base_version and base_text), so a tab that was left open while another tab or
person saved is merged with their work, never written over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omr_core.structures.detections import Detections


def boxes_key(boxes: Detections | None) -> tuple | None:
    """The boxes of one work unit as a comparable value (class, xyxy to 0.01 px), independent of their order."""
    if boxes is None:
        return None
    rows = np.column_stack([boxes.class_id.astype(np.float64), np.round(boxes.xyxy, 2)]) if len(boxes) else []
    return tuple(sorted(tuple(float(v) for v in row) for row in rows))


@dataclass(frozen=True)
class Given:
    """What a canvas was last given: its boxes (`key`), and the label version and text they come from."""

    key: tuple
    version: int
    text: str
    stale: tuple = ()  # values the canvas may still report from before (not edits)


def is_edit(given: Given | None, value: tuple | None) -> bool:
    """Whether the canvas value is a change the user made to what it was given."""
    return given is not None and value is not None and value != given.key and value not in given.stale


def given_now(drawing: tuple, version: int, text: str, value: tuple | None) -> Given:
    """What the canvas is given in this run; the value it reported is stale until it has drawn this one."""
    return Given(drawing, version, text, (value,) if value is not None and value != drawing else ())
