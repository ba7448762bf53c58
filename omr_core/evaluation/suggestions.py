"""Improvement suggestions from an evaluation: rules over its numbers, each with evidence and an action.

A rule fires for a class with at least `min_gt` ground-truth boxes (fewer is noise). In order:

    low recall            recall < 0.5            -> oversample the class in the next stage (and, when the
                                                     training set holds fewer than `min_train` of it,
                                                     label more real scans that hold it)
    small misses          the misses' median size is under 0.6x the found boxes' median, or under 10 px
                                                  -> smaller tiles / a larger imgsz
    confused pair         >= 15% of a class's boxes are predicted as one other class
                                                  -> merge the pair if it is a known look-alike pair, else
                                                     oversample both
    badly placed          FP-localisation > 30% of the class's false positives (and >= 10 of them)
                                                  -> a larger imgsz (finer boxes)
    threshold             the class's F1-optimal confidence differs from the evaluation's by > 0.15 and
                          gains >= 0.05 F1    -> use that confidence for the class

Each suggestion carries `evidence` (numbers) and `cases` (the failure-page filter that shows them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from omr_core.evaluation.verdicts import FALSE

# Pairs that look alike on the page (the plan's class-confusion analysis); the matrix highlights them.
SIMILAR_PAIRS = (
    ("noteheadBlackOnLine", "noteheadHalfOnLine"), ("noteheadBlackInSpace", "noteheadHalfInSpace"),
    ("noteheadHalfOnLine", "noteheadWholeOnLine"), ("noteheadHalfInSpace", "noteheadWholeInSpace"),
    ("noteheadBlackOnLine", "noteheadBlackInSpace"), ("noteheadHalfOnLine", "noteheadHalfInSpace"),
    ("noteheadWholeOnLine", "noteheadWholeInSpace"), ("accidentalSharp", "accidentalNatural"),
    ("accidentalFlat", "accidentalNatural"), ("keySharp", "accidentalSharp"), ("keyFlat", "accidentalFlat"),
    ("keyNatural", "accidentalNatural"), ("augmentationDot", "repeatDot"), ("restQuarter", "rest8th"),
    ("flag8thUp", "flag16thUp"), ("flag8thDown", "flag16thDown"), ("timeSig3", "timeSig8"),
)


def similar(a: str, b: str) -> bool:
    return (a, b) in SIMILAR_PAIRS or (b, a) in SIMILAR_PAIRS


@dataclass(frozen=True)
class Suggestion:
    rule: str
    classes: tuple[str, ...]
    message: str
    action: dict
    evidence: dict
    cases: dict = field(default_factory=dict)  # failure-page filter: class, verdicts

    def to_dict(self) -> dict:
        return asdict(self)


def suggest(summary: dict, boxes, train_counts: dict[str, int] | None = None, min_gt: int = 10,
            min_train: int = 500) -> list[Suggestion]:
    """`summary` and `boxes` from an evaluation; `train_counts`: boxes per class in the training data."""
    train_counts = train_counts or {}
    out: list[Suggestion] = []
    names = summary["classes"]
    confusion = summary["confusion"]
    gt = boxes[boxes["kind"] == "gt"]
    for row in summary["per_class"]:
        name, n_gt = row["class"], row["gt"]
        if n_gt < min_gt:
            continue
        recall = row["recall"]
        if recall < 0.5:
            trained = train_counts.get(name)
            action = {"kind": "oversample", "class": name}
            message = f"{name} recall is low ({recall:.2f} on {n_gt} boxes): oversample it in the next stage"
            if trained is not None and trained < min_train:
                message += f"; the training set holds only {trained}: label more real scans that hold it"
                action = {"kind": "label_more", "class": name, "then": "oversample"}
            out.append(Suggestion("low recall", (name,), message, action,
                                  {"recall": recall, "gt": n_gt, "train_boxes": trained},
                                  {"class": name, "verdicts": ["FN"]}))
        mine = gt[gt["class"] == name]
        missed, found = mine[mine["verdict"] == "FN"]["size"], mine[mine["verdict"] == "TP"]["size"]
        if len(missed) >= min_gt // 2:
            found_px = float(found.median()) if len(found) else None
            if missed.median() < 10 or (found_px and missed.median() < 0.6 * found_px):
                against = f" against {found_px:.0f} px found" if found_px else ""
                out.append(Suggestion(
                    "small misses", (name,),
                    f"{name}: the missed boxes are small (median {missed.median():.0f} px{against}): "
                    "use smaller tiles or a larger imgsz",
                    {"kind": "resolution", "class": name, "imgsz_factor": 1.5},
                    {"missed_median_px": float(missed.median()), "found_median_px": found_px,
                     "missed": len(missed)}, {"class": name, "verdicts": ["FN"]}))
        c = row["class_id"]
        for other, count in enumerate(confusion[c][: len(names)]):
            if other == c or count < max(3, 0.15 * n_gt):
                continue
            pair = (name, names[other])
            look_alike = similar(*pair)
            out.append(Suggestion(
                "confused pair", pair,
                f"{count} of {n_gt} {name} boxes ({count / n_gt:.0%}) are predicted as {names[other]}: "
                + ("a known look-alike pair: merge it, or oversample both" if look_alike else "oversample both"),
                {"kind": "merge_pair" if look_alike else "oversample", "classes": list(pair)},
                {"confused": int(count), "gt": n_gt, "look_alike": look_alike},
                {"class": names[other], "verdicts": ["misclassification"], "other": name}))
        false = sum(row[v] for v in FALSE)
        if row["FP-localisation"] >= 10 and row["FP-localisation"] > 0.3 * false:
            out.append(Suggestion(
                "badly placed", (name,),
                f"{name}: {row['FP-localisation']} of {false} false positives are badly placed boxes: "
                "train at a larger imgsz for finer boxes",
                {"kind": "resolution", "class": name, "imgsz_factor": 1.5},
                {"FP-localisation": row["FP-localisation"], "false_positives": false},
                {"class": name, "verdicts": ["FP-localisation"]}))
        best = row.get("best_conf")
        if best is not None and abs(best - summary["conf"]) > 0.15 and row["best_f1"] - row["f1"] >= 0.05:
            out.append(Suggestion(
                "threshold", (name,),
                f"{name}: at confidence {best:.2f} F1 is {row['best_f1']:.2f} (now {row['f1']:.2f} at "
                f"{summary['conf']:.2f}): use that threshold for this class",
                {"kind": "class_threshold", "class": name, "conf": round(best, 3)},
                {"f1": row["f1"], "best_f1": row["best_f1"], "best_conf": best}, {"class": name}))
    return out
