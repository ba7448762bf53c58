"""What the Evaluation page shows of an evaluation's summary, in words and numbers, so that the page only shows it.

    for metric in headline(summary):                 # mAP at three IoUs, note completeness, vertical alignment
        column.metric(metric.label, metric.value, help=metric.help)
    st.markdown(verdict_counts(boxes[mask]["verdict"]))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from omr_core.evaluation.omr_metrics import explain_completeness
from omr_core.evaluation.verdicts import VERDICTS


@dataclass(frozen=True)
class Metric:
    label: str
    value: str  # three decimals, or "n/a" where nothing could be measured
    help: str | None = None


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def headline(summary: dict) -> list[Metric]:
    """The five numbers an evaluation opens with: mAP@0.5, @0.75, @0.5:0.95, note completeness and vertical
    alignment (with how many boxes each share is of)."""
    notes, aligned = summary["note_completeness"], summary["vertical_alignment"]
    return [Metric("mAP@0.5", f"{summary['mAP50']:.3f}"), Metric("mAP@0.75", f"{summary['mAP75']:.3f}"),
            Metric("mAP@0.5:0.95", f"{summary['mAP50-95']:.3f}"),
            Metric("Note completeness", _share(notes["share"]),
                   f"{notes['complete']} of {notes['with_stem']} stemmed noteheads found with their stem"),
            Metric("Vertical alignment", _share(aligned["share"]),
                   f"{aligned['kept_aligned']} of {aligned['aligned_noteheads']} noteheads in onset columns")]


def completeness_caption(summary: dict) -> str:
    """Why the evaluation's note completeness is what it is."""
    return "Note completeness: " + explain_completeness(summary["note_completeness"], summary["classes"])


def skipped_warning(summary: dict, shown: int = 5) -> str | None:
    """The images an evaluation could not read, with the first `shown` reasons; None when it read them all."""
    skipped = summary.get("skipped") or []
    if not skipped:
        return None
    return f"{len(skipped)} images could not be read and were left out: " + "; ".join(s["reason"] for s in skipped[:shown])


def largest_box_px(boxes: pd.DataFrame) -> float:
    """The size slider's end: the largest box's size (px, square root of its area) rounded up; 1 with no box."""
    return float(np.ceil(boxes["size"].max())) if len(boxes) else 1.0


def image_names(boxes: pd.DataFrame) -> list[str]:
    """The images the boxes of an evaluation (or a selection of them) lie on, sorted."""
    return sorted(boxes["image"].astype(str).unique())


def verdict_counts(verdicts: pd.Series) -> str:
    """How many boxes of each verdict a selection holds, every verdict named (markdown), then the total."""
    counts = verdicts.astype(str).value_counts()
    return " · ".join(f"**{v}** {int(counts.get(v, 0))}" for v in VERDICTS) + f" · {len(verdicts)} boxes"
