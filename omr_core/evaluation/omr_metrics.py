"""OMR metrics: what the MusicXML stage needs, beyond box-by-box mAP (the plan's Phase 4).

Note completeness: among ground-truth noteheads that carry a stem (black and half noteheads, normal and
small, with a ground-truth `stem` box touching theirs, boxes grown by `touch_px`), the share for which the
notehead and that stem are both detected (TP at the evaluation's IoU and confidence). A note is only usable
when both are found. Noteheads with no touching stem are left out and counted.

Vertical alignment: ground-truth noteheads of one onset column (a chord, or notes of several staves played
together) share their x position. Per image, noteheads whose centres lie within `tolerance` staff spaces in x
and which follow each other within `max_gap` staff spaces in y form a column; columns of two or more are the
aligned groups. A notehead of such a group counts as aligned when every notehead of its group is detected and
the centres of the matching predictions also lie within `tolerance` staff spaces of each other in x. The metric
is the share of aligned-group noteheads that count. The staff space of an image is the median height of its
ground-truth noteheads (a notehead is one staff space high).
"""

from __future__ import annotations

import numpy as np

from omr_core.evaluation.matching import Flat
from omr_core.evaluation.verdicts import Verdicts
from omr_core.structures.graph import components


def _stemmed_heads(names: np.ndarray) -> np.ndarray:
    names = names.astype(str)
    return np.char.startswith(names, "noteheadBlack") | np.char.startswith(names, "noteheadHalf")


def _all_heads(names: np.ndarray) -> np.ndarray:
    return np.char.startswith(names.astype(str), "notehead")


def note_completeness(gt: Flat, gt_names: np.ndarray, verdicts: Verdicts, touch_px: float = 1.0) -> dict:
    heads = np.flatnonzero(_stemmed_heads(gt_names))
    stems = np.flatnonzero(gt_names.astype(str) == "stem")
    found = verdicts.gt_verdict == "TP"
    eligible = complete = head_missed = stem_missed = 0
    for image in np.unique(gt.image[heads]):
        h = heads[gt.image[heads] == image]
        s = stems[gt.image[stems] == image]
        if len(s) == 0:
            continue
        a, b = gt.xyxy[h], gt.xyxy[s]
        gap_x = np.maximum(a[:, None, 0], b[None, :, 0]) - np.minimum(a[:, None, 2], b[None, :, 2])
        gap_y = np.maximum(a[:, None, 1], b[None, :, 1]) - np.minimum(a[:, None, 3], b[None, :, 3])
        touching = (gap_x <= touch_px) & (gap_y <= touch_px)
        has = touching.any(axis=1)
        # the touching stem: the nearest in x (a chord's heads all touch one stem)
        centre = (a[:, 0] + a[:, 2]) / 2
        distance = np.where(touching, np.abs((b[None, :, 0] + b[None, :, 2]) / 2 - centre[:, None]), np.inf)
        stem_of = s[distance.argmin(axis=1)]
        eligible += int(has.sum())
        complete += int((has & found[h] & found[stem_of]).sum())
        head_missed += int((has & ~found[h]).sum())
        stem_missed += int((has & found[h] & ~found[stem_of]).sum())
    return {"noteheads": len(heads), "with_stem": eligible, "complete": complete,
            "share": complete / eligible if eligible else None, "without_stem": len(heads) - eligible,
            "head_missed": head_missed, "stem_missed": stem_missed}


def explain_completeness(notes: dict, model_classes: list[str]) -> str:
    """Why note completeness is what it is, in one or two sentences (the Evaluation page shows it)."""
    if notes.get("share") is None:
        return "No stemmed notehead in the ground truth of this split: nothing to measure."
    parts = []
    if "stem" not in model_classes:
        parts.append("The model has no stem class, so no note can be complete")
    missed_stems, missed_heads = notes.get("stem_missed", 0), notes.get("head_missed", 0)
    incomplete = notes["with_stem"] - notes["complete"]
    if incomplete:
        parts.append(f"{incomplete:,} of {notes['with_stem']:,} stemmed noteheads are incomplete: "
                     f"{missed_stems:,} were found without their stem, {missed_heads:,} were not found themselves")
    else:
        parts.append(f"All {notes['with_stem']:,} stemmed noteheads were found with their stem")
    if notes.get("without_stem"):
        parts.append(f"{notes['without_stem']:,} noteheads carry no stem (whole notes) and are not counted")
    return ". ".join(parts) + "."


def staff_space_px(gt: Flat, gt_names: np.ndarray, image: int) -> float | None:
    heads = (gt.image == image) & _all_heads(gt_names)
    if not heads.any():
        return None
    return float(np.median(gt.xyxy[heads, 3] - gt.xyxy[heads, 1]))


def columns(xyxy: np.ndarray, space_px: float, tolerance: float, max_gap: float) -> np.ndarray:
    """Column label of each box (-1: alone): chained by x-centre within `tolerance` and y within `max_gap`
    staff spaces."""
    n = len(xyxy)
    label = np.full(n, -1, np.int64)
    if n < 2:
        return label
    cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
    linked = (np.abs(cx[:, None] - cx[None, :]) <= tolerance * space_px) & \
        (np.abs(cy[:, None] - cy[None, :]) <= max_gap * space_px)
    roots = components(n, *np.nonzero(np.triu(linked, 1)))
    sizes = np.bincount(roots, minlength=n)
    return np.where(sizes[roots] >= 2, roots, -1)


def vertical_alignment(gt: Flat, gt_names: np.ndarray, pred: Flat, verdicts: Verdicts, tolerance: float = 0.5,
                       max_gap: float = 8.0) -> dict:
    heads = np.flatnonzero(_all_heads(gt_names))
    aligned = ok = 0
    for image in np.unique(gt.image[heads]):
        h = heads[gt.image[heads] == image]
        space = staff_space_px(gt, gt_names, int(image))
        label = columns(gt.xyxy[h], space, tolerance, max_gap)
        for column in np.unique(label[label >= 0]):
            members = h[label == column]
            aligned += len(members)
            preds = verdicts.gt_pred[members]
            if (preds < 0).any():
                continue
            cx = (pred.xyxy[preds, 0] + pred.xyxy[preds, 2]) / 2
            if cx.max() - cx.min() <= tolerance * space:
                ok += len(members)
    return {"aligned_noteheads": aligned, "kept_aligned": ok, "share": ok / aligned if aligned else None,
            "tolerance_staff_spaces": tolerance}
