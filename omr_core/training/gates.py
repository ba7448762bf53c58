"""Quality gates and success criteria (the plan's `success_criteria.yaml`), evaluated on a stage's metrics.

A criterion is `metric: threshold` (at least) or `metric: {max: threshold}` (at most). Metrics a stage
cannot measure come out as "not measured": a gate passes only when all of its criteria were measured and met.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from omr_core.locations import SUCCESS_CRITERIA_YAML

DEFAULT_CRITERIA_YAML = SUCCESS_CRITERIA_YAML


@dataclass(frozen=True)
class CriterionResult:
    group: str  # "phase_3_gate", "minimum_acceptable", ...
    metric: str
    bound: str  # ">=" or "<="
    threshold: float
    value: float | None
    status: str  # passed | failed | not measured

    def to_dict(self) -> dict:
        return asdict(self)


def load_criteria(path: Path | str | None = None) -> dict:
    path = Path(path) if path else DEFAULT_CRITERIA_YAML
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for group in ("minimum_acceptable", "target_performance", "quality_gates"):
        if group not in spec:
            raise ValueError(f"{path}: expected a '{group}' section, but it is missing")
    return spec


def stage_metrics(mAP50: float | None, per_class_f1: dict[str, float], key_classes: list[str]) -> dict[str, float]:
    """The metrics the criteria name, from a stage's validation results."""
    metrics: dict[str, float] = {}
    if mAP50 is not None:
        metrics["mAP50"] = float(mAP50)
    if per_class_f1:
        metrics["min_class_f1"] = float(min(per_class_f1.values()))
        keys = [per_class_f1[c] for c in key_classes if c in per_class_f1]
        if keys:
            metrics["key_classes_f1"] = float(min(keys))
    return metrics


def evaluate(criteria: dict, group: str, metrics: dict[str, float]) -> list[CriterionResult]:
    """Results of one group: a gate name ("phase_3_gate") or "minimum_acceptable" / "target_performance"."""
    section = criteria["quality_gates"].get(group) if group not in criteria else criteria[group]
    if section is None:
        raise ValueError(f"no criteria group {group!r}; expected one of "
                         f"{['minimum_acceptable', 'target_performance', *criteria['quality_gates']]}")
    results = []
    for metric, rule in section.items():
        bound, threshold = ("<=", float(rule["max"])) if isinstance(rule, dict) else (">=", float(rule))
        value = metrics.get(metric)
        if value is None:
            status = "not measured"
        else:
            status = "passed" if (value <= threshold if bound == "<=" else value >= threshold) else "failed"
        results.append(CriterionResult(group, metric, bound, threshold, value, status))
    return results


def gate_passed(results: list[CriterionResult]) -> bool:
    return bool(results) and all(r.status == "passed" for r in results)
