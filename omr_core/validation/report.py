"""The validation report as one JSON document (`build_report`): what the checks found and counted in a source
and in the set converted from it. `omr_core.reports.write_validation_report` writes it as validation.json and a
self-contained report.html.

A converter calls it at the end of a run:

    source_log = reader.problems  # the reader's own findings (malformed JSON...) belong to the source too
    source_acc, converted_acc = DistributionAccumulator(), DistributionAccumulator()
    for record, split in pages:
        record, problems = check_boxes(record, file=json_path)
        source_log.extend(problems)
        space = staff_space_px(record)  # measured before the stage's filter drops the `staff` boxes
        source_acc.add(record, split, staff_space=space)
        stage_record = ...  # the stage's classes only; categories = {yolo_id: name}
        converted_acc.add(stage_record, split, staff_space=space)
    converted_log = check_yolo_dataset(out_root)
    report = build_report("DeepScoresV2 dense", source_log, converted_log, source_acc, converted_acc,
                          stage_classes=list(class_set.names), settings={...})
    write_validation_report(out_root / "reports", report)   # omr_core.reports
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from omr_core.structures.problems import ProblemLog
from omr_core.validation.distribution import DistributionAccumulator, class_weights, imbalance

SCHEMA = "omr_core/validation_report/1"
WEIGHT_FORMULA = "w_c = (1 - beta) / (1 - beta^n_c), normalised so the mean over present classes is 1; absent classes get 0"


def _counts_for_balance(distribution: dict, classes: list[str]) -> tuple[dict[str, int], str]:
    """Training counts when there is a train split (weights are for training), else all splits."""
    if "train" in distribution["counts"]:
        counts, origin = distribution["counts"]["train"], "train"
    else:
        counts, origin = distribution["totals"], "all splits"
    return {c: int(counts.get(c, 0)) for c in classes}, origin


def _section(problems: ProblemLog, accumulator: DistributionAccumulator, classes: list[str] | None) -> dict:
    distribution = accumulator.to_dict()
    classes = list(distribution["classes"]) if classes is None else list(classes)
    counts, origin = _counts_for_balance(distribution, classes)
    return {
        "pages": sum(distribution["pages"].values()),
        "boxes": sum(distribution["boxes"].values()),
        "problems": problems.to_dict(),
        "distribution": distribution,
        "imbalance": {"counts_from": origin, "classes": imbalance(counts)},
    }


def build_report(
    dataset: str,
    source_problems: ProblemLog,
    converted_problems: ProblemLog | None,
    source_distribution: DistributionAccumulator,
    converted_distribution: DistributionAccumulator | None,
    stage_classes: list[str],
    settings: dict,
    beta: float = 0.999,
) -> dict:
    """Assemble the validation report of one conversion (or of the source alone: converted_* = None).

    Args:
        dataset: a name for the title ("DeepScoresV2 dense").
        source_problems, source_distribution: what was found and counted in the source records (all classes).
        converted_problems, converted_distribution: the same for the converted set (the stage's classes only).
        stage_classes: the class set's names in YOLO id order.
        settings: the run's settings (paths, class set, thresholds...); values JSON cannot hold (Path...) are
            stored as their str(); NaN is refused.
        beta: the class-balanced weights' beta (see `class_weights`).

    Returns:
        {
          "schema": "omr_core/validation_report/1",
          "dataset": str, "created": ISO-8601 UTC str, "settings": dict, "stage_classes": [str],
          "source": SECTION,                 # every class of the source
          "converted": SECTION | None,       # the stage's classes
          "class_weights": {                 # suggested loss weights for the stage's classes
              "from": "converted" | "source", "counts_from": "train" | "all splits",
              "beta": float, "formula": str,
              "classes": {name: {"count": int, "ratio": float, "verdict": str, "weight": float}},  # YOLO id order
          },
        }
        SECTION = {
          "pages": int, "boxes": int,
          "problems": ProblemLog.to_dict(),            # {"total", "counts": [{kind, action, count}], "listed": [...]}
          "distribution": DistributionAccumulator.to_dict(),
          "imbalance": {"counts_from": str, "classes": {name: {"count", "ratio", "verdict"}}},
        }
    """
    stage_classes = list(stage_classes)
    source = _section(source_problems, source_distribution, None)
    converted = None
    if converted_distribution is not None:
        converted = _section(converted_problems or ProblemLog(), converted_distribution, stage_classes)
    basis_name, basis = ("converted", converted) if converted is not None else ("source", source)
    counts, origin = _counts_for_balance(basis["distribution"], stage_classes)
    verdicts = imbalance(counts)
    weights = class_weights(counts, beta=beta)
    report = {
        "schema": SCHEMA,
        "dataset": dataset,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": json.loads(json.dumps(settings, default=str)),
        "stage_classes": stage_classes,
        "source": source,
        "converted": converted,
        "class_weights": {
            "from": basis_name,
            "counts_from": origin,
            "beta": beta,
            "formula": WEIGHT_FORMULA,
            "classes": {c: {**verdicts[c], "weight": weights[c]} for c in stage_classes},
        },
    }
    json.dumps(report, allow_nan=False)  # fail here, with the report's builder on the stack, not in the writer
    return report
