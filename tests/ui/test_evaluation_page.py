"""The Evaluation page with AppTest: metrics, the per-class table, failure filters, suggestions, compare."""

import pytest

from tests.ui.apptest import open_page, tab


@pytest.fixture
def app(evaluated_workspace, monkeypatch):
    return open_page(monkeypatch, evaluated_workspace.root, "pages/evaluation.py")


def counts(at) -> dict[str, int]:
    line = next(m.value for m in at.markdown if m.value.startswith("**TP**"))
    parts = [p.strip().replace("**", "") for p in line.split("·")]
    found = {p.rsplit(" ", 1)[0]: int(p.rsplit(" ", 1)[1]) for p in parts[:-1]}
    found["boxes"] = int(parts[-1].split()[0])
    return found


def test_metrics_and_the_per_class_table(app):
    labels = [m.label for m in app.metric]
    assert labels == ["mAP@0.5", "mAP@0.75", "mAP@0.5:0.95", "Note completeness", "Vertical alignment"]
    assert float(app.metric[0].value) > 0.3
    table = tab(app, "Per class").dataframe[0].value
    assert list(table["f1"]) == sorted(table["f1"]) and {"best_conf", "FN", "misclassification"} <= set(table)


def test_filters_narrow_the_failures(app):
    everything = counts(app)
    assert everything["TP"] == 0 and everything["boxes"] > 0  # TP is not among the default verdicts
    app.multiselect(key="eval-f-verdicts").set_value(["FN"]).run()
    missed = counts(app)
    assert missed["FN"] == missed["boxes"] == everything["FN"]
    heads = [c for c in app.multiselect(key="eval-f-classes").options if c.startswith("notehead")][:2]
    app.multiselect(key="eval-f-classes").set_value(heads).run()
    assert counts(app)["FN"] <= missed["FN"]
    app.multiselect(key="eval-f-verdicts").set_value(["TP"]).run()
    app.slider(key="eval-f-conf").set_value((0.5, 1.0)).run()
    confident = counts(app)
    assert confident["TP"] == confident["boxes"] > 0 and not app.exception


def test_compare_two_evaluations(app):
    delta = tab(app, "Compare").dataframe[0].value
    assert {"class", "f1 A", "f1 B", "f1 delta"} <= set(delta) and len(delta) > 0


def test_a_suggestion_is_applied_to_a_stage_of_the_plan(app, evaluated_workspace):
    import yaml

    buttons = [b for b in app.button if str(b.key).startswith("eval-apply-") and "stage" in b.label]
    assert buttons, "no plan action among the suggestions"
    before = evaluated_workspace.training_plan_yaml.read_text()
    buttons[0].click().run()
    assert not app.exception and any("stage" in s.value for s in app.success)
    after = evaluated_workspace.training_plan_yaml.read_text()
    assert after != before and yaml.safe_load(after)["stages"]
    evaluated_workspace.training_plan_yaml.write_text(before)  # the session's other tests see the plan as it was
