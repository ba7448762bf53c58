"""Improvement suggestions from an evaluation: rules over its numbers, each with evidence and an action.

A rule fires for a class with at least `min_gt` ground-truth boxes (fewer is noise). In order:

    low recall            recall < 0.5            -> oversample the class in the next stage (and, when the
                                                     training set holds fewer than `min_train` of it,
                                                     label more real scans that hold it); a class that is
                                                     already common (COMMON_SHARE of the most common class
                                                     or more) gains nothing from repeats: train longer
    small misses          the misses' median size is under 0.6x the found boxes' median, or under 10 px
                                                  -> smaller tiles / a larger imgsz
    confused pair         >= 15% of a class's boxes are predicted as one other class ("true X, predicted Y")
                                                  -> merge the pair if it is a known look-alike pair, else
                                                     oversample whichever of the two is not already common
                                                     (train longer when both are)
    badly placed          FP-localisation > 30% of the class's false positives (and >= 10 of them)
                                                  -> a larger imgsz (finer boxes)
    threshold             the class's F1-optimal confidence differs from the evaluation's by > 0.15 and
                          gains >= 0.05 F1    -> use that confidence for the class

How common a class is comes from `train_counts` (boxes per class in the training data) when given, else
from the evaluation's own ground truth, which follows the same distribution.

Each suggestion carries `evidence` (numbers), `evidence_boxes` and `evidence_images` (how many boxes, on
how many images, the rule's numbers rest on), `weak` (fewer than MIN_EVIDENCE_BOXES boxes: at 15 boxes one
box moves a recall or an F1 by ~0.07, so treat the suggestion as a hint and look at its cases first) and
`cases` (the failure-page filter that shows them: classes, which class role they match, verdicts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from omr_core.evaluation.verdicts import FALSE

MIN_EVIDENCE_BOXES = 30  # below this many boxes a suggestion is marked weak
COMMON_SHARE = 0.5  # a class with at least this share of the most common class's boxes is "common"

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
    cases: dict = field(default_factory=dict)  # failure-page filter: class, role, verdicts
    evidence_boxes: int = 0
    evidence_images: int = 0

    @property
    def weak(self) -> bool:
        return self.evidence_boxes < MIN_EVIDENCE_BOXES

    def evidence_text(self) -> str:
        """The size of the evidence in words, with the weak mark."""
        text = f"rests on {self.evidence_boxes:,} boxes on {self.evidence_images:,} image" + \
            ("s" if self.evidence_images != 1 else "")
        return text + (f": weak evidence (under {MIN_EVIDENCE_BOXES} boxes), look at the cases first" if self.weak else "")

    def to_dict(self) -> dict:
        return {**asdict(self), "weak": self.weak}


def suggest(summary: dict, boxes, train_counts: dict[str, int] | None = None, min_gt: int = 10,
            min_train: int = 500) -> list[Suggestion]:
    """`summary` and `boxes` from an evaluation; `train_counts`: boxes per class in the training data."""
    out: list[Suggestion] = []
    names = summary["classes"]
    confusion = summary["confusion"]
    gt = boxes[boxes["kind"] == "gt"]
    images = gt.groupby("class", observed=True)["image"].nunique().to_dict()
    counts = dict(train_counts) if train_counts else {r["class"]: r["gt"] for r in summary["per_class"]}
    top = max(counts.values(), default=0)

    def common(name: str) -> bool:
        return top > 0 and counts.get(name, 0) >= COMMON_SHARE * top

    def how_common(name: str) -> str:
        where = "in training" if train_counts else "among the evaluated boxes"
        rank = "the most common class" if counts.get(name, 0) == top else "a common class"
        return f"{name} is already {rank} {where} ({counts.get(name, 0):,} boxes)"

    for row in summary["per_class"]:
        name, n_gt = row["class"], row["gt"]
        if n_gt < min_gt:
            continue
        seen_on = int(images.get(name, 0))
        recall = row["recall"]
        if recall < 0.5:
            trained = (train_counts or {}).get(name)
            if common(name):
                action = {"kind": "train_longer", "class": name, "epochs_factor": 2}
                message = (f"{name} recall is low ({recall:.2f} on {n_gt:,} boxes), but {how_common(name)}: "
                           "oversampling it would only repeat it; train longer (more epochs), or at a larger imgsz "
                           "if its boxes are thin or small")
            else:
                action = {"kind": "oversample", "class": name}
                message = f"{name} recall is low ({recall:.2f} on {n_gt:,} boxes): oversample it in the next stage"
                if trained is not None and trained < min_train:
                    message += f"; the training set holds only {trained:,}: label more real scans that hold it"
                    action = {"kind": "label_more", "class": name, "then": "oversample"}
            out.append(Suggestion("low recall", (name,), message, action,
                                  {"recall": recall, "gt": n_gt, "train_boxes": trained},
                                  {"classes": [name], "role": "true", "verdicts": ["FN"]}, n_gt, seen_on))
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
                     "missed": len(missed)}, {"classes": [name], "role": "true", "verdicts": ["FN"]},
                    len(missed), int(mine[mine["verdict"] == "FN"]["image"].nunique())))
        c = row["class_id"]
        for other, count in enumerate(confusion[c][: len(names)]):
            if other == c or count < max(3, 0.15 * n_gt):
                continue
            pair = (name, names[other])
            look_alike = similar(*pair)
            rare = [n for n in pair if not common(n)]
            if look_alike:
                action, advice = {"kind": "merge_pair", "classes": list(pair)}, \
                    "a known look-alike pair: merge it, or oversample " + (" and ".join(rare) if rare else "neither (both are common): train longer")
            elif rare:
                action, advice = {"kind": "oversample", "classes": rare}, f"oversample {' and '.join(rare)}"
            else:
                action = {"kind": "train_longer", "classes": list(pair), "epochs_factor": 2}
                advice = "both are already common, so oversampling adds nothing: train longer"
            out.append(Suggestion(
                "confused pair", pair,
                f"true {name}, predicted {names[other]}: {count:,} of {n_gt:,} {name} boxes ({count / n_gt:.0%}); "
                + advice,
                action, {"confused": int(count), "gt": n_gt, "look_alike": look_alike},
                {"classes": [name], "role": "true", "verdicts": ["misclassification"]}, int(count), seen_on))
        false = sum(row[v] for v in FALSE)
        if row["FP-localisation"] >= 10 and row["FP-localisation"] > 0.3 * false:
            out.append(Suggestion(
                "badly placed", (name,),
                f"{name}: {row['FP-localisation']} of {false} false positives are badly placed boxes: "
                "train at a larger imgsz for finer boxes",
                {"kind": "resolution", "class": name, "imgsz_factor": 1.5},
                {"FP-localisation": row["FP-localisation"], "false_positives": false},
                {"classes": [name], "role": "predicted", "verdicts": ["FP-localisation"]},
                int(row["FP-localisation"]), seen_on))
        best = row.get("best_conf")
        if best is not None and abs(best - summary["conf"]) > 0.15 and row["best_f1"] - row["f1"] >= 0.05:
            out.append(Suggestion(
                "threshold", (name,),
                f"{name}: at confidence {best:.2f} F1 is {row['best_f1']:.2f} (now {row['f1']:.2f} at "
                f"{summary['conf']:.2f}): use that threshold for this class",
                {"kind": "class_threshold", "class": name, "conf": round(best, 3)},
                {"f1": row["f1"], "best_f1": row["best_f1"], "best_conf": best},
                {"classes": [name], "role": "either"}, n_gt, seen_on))
    return out
