import pytest

from omr_core.training.alerts import AlertRules, check_alerts
from omr_core.training.gates import evaluate, gate_passed, load_criteria, stage_metrics


def history(val, train=None, **last):
    train = train or [1.0] * len(val)
    rows = [{"epoch": i + 1, "val_loss": v, "train_loss": t} for i, (v, t) in enumerate(zip(val, train))]
    rows[-1].update(last)
    return rows


@pytest.mark.parametrize(
    "rows, kinds",
    [
        (history([3.0, 2.5, 2.0, 1.8, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.95]), set()),  # still improving
        (history([2.0, 1.0] + [1.0] * 10), {"stalled"}),  # flat for 10 epochs
        (history([2.0, 1.5, 1.0, 1.02, 1.05, 1.08, 1.12], [2.0, 1.6, 1.3, 1.1, 0.9, 0.7, 0.5]), {"overfitting"}),
        (history([1.0, 0.9], ram_percent=95.0), {"memory"}),
        (history([1.0, 0.9], gpu_memory_percent=91.0, ram_percent=50.0), {"memory"}),
        ([], set()),
    ],
)
def test_alert_rules(rows, kinds):
    assert {a.kind for a in check_alerts(rows)} == kinds


def test_class_f1_only_after_20_epochs():
    rows = history([1.0] * 20, per_class={"restHalf": {"f1": 0.2}, "stem": {"f1": 0.9}})
    alerts = [a for a in check_alerts(rows, AlertRules(stall_epochs=100)) if a.kind == "class_f1"]
    assert [a.subject for a in alerts] == ["restHalf"] and "oversample restHalf" in alerts[0].action
    early = history([1.0] * 19, per_class={"restHalf": {"f1": 0.2}})
    assert not [a for a in check_alerts(early) if a.kind == "class_f1"]


def test_alerts_have_a_key_to_record_them_once():
    (alert,) = check_alerts(history([1.0, 0.9], ram_percent=99.0))
    assert alert.key == ("memory", "ram") and alert.to_dict()["epoch"] == 2


CRITERIA = load_criteria()


def test_the_plans_criteria():
    assert CRITERIA["quality_gates"]["phase_3_gate"] == {"mAP50": 0.70}
    assert CRITERIA["minimum_acceptable"]["mAP50"] == 0.60 and CRITERIA["target_performance"]["key_classes_f1"] == 0.85


@pytest.mark.parametrize(
    "group, metrics, passed, statuses",
    [
        ("phase_3_gate", {"mAP50": 0.71}, True, ["passed"]),
        ("phase_3_gate", {"mAP50": 0.69}, False, ["failed"]),
        ("phase_3_gate", {}, False, ["not measured"]),
        ("phase_4_gate", {"min_class_f1": 0.6}, True, ["passed"]),
        ("final_gate", {"mAP50": 0.99}, False, ["not measured"]),  # end-to-end success is not a training metric
    ],
)
def test_gates(group, metrics, passed, statuses):
    results = evaluate(CRITERIA, group, metrics)
    assert [r.status for r in results] == statuses and gate_passed(results) is passed


def test_upper_bounds_and_metrics_from_a_stage():
    metrics = stage_metrics(0.65, {"stem": 0.9, "clefG": 0.4, "beam": 0.7}, CRITERIA["key_classes"])
    assert metrics == {"mAP50": 0.65, "min_class_f1": 0.4, "key_classes_f1": 0.4}
    results = {r.metric: r for r in evaluate(CRITERIA, "minimum_acceptable", {**metrics, "gpu_memory_gb": 3.0})}
    assert results["mAP50"].status == "passed" and results["min_class_f1"].status == "failed"
    assert results["gpu_memory_gb"].bound == "<=" and results["gpu_memory_gb"].status == "passed"
    assert results["inference_ms_per_measure"].status == "not measured"
    with pytest.raises(ValueError, match="no criteria group"):
        evaluate(CRITERIA, "phase_9_gate", {})
