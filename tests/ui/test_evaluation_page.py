"""The Evaluation page with AppTest: metrics, the per-class table, failure filters, suggestions, compare."""

import pytest

from omr_core.evaluation.verdicts import VERDICTS

from tests.ui.apptest import assert_nothing_raw, open_page, open_tab, tab


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
    open_tab(app, "eval-tab", "Failures")
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
    delta = open_tab(app, "eval-tab", "Compare").dataframe[0].value
    assert {"class", "f1 A", "f1 B", "f1 delta"} <= set(delta) and len(delta) > 0


def test_a_suggestion_is_applied_to_a_stage_of_the_plan(app, evaluated_workspace):
    import yaml

    open_tab(app, "eval-tab", "Suggestions")
    assert_nothing_raw(app)
    buttons = [b for b in app.button if str(b.key).startswith("eval-apply-") and "stage" in b.label]
    assert buttons, "no plan action among the suggestions"
    before = evaluated_workspace.training_plan_yaml.read_text()
    buttons[0].click().run()
    assert not app.exception and any("stage" in s.value for s in app.success)
    after = evaluated_workspace.training_plan_yaml.read_text()
    assert after != before and yaml.safe_load(after)["stages"]
    evaluated_workspace.training_plan_yaml.write_text(before)  # the session's other tests see the plan as it was


def test_the_drill_down_reads_true_then_predicted_and_filters_either_side(app, evaluated_workspace):
    from omr_core.evaluation.cases import filter_mask
    from omr_core.evaluation.run import load_evaluation

    failures = open_tab(app, "eval-tab", "Failures")
    assert app.radio(key="eval-f-role").value == "either"  # by default a class matches both ways
    captions = [c for image in failures.get("image") for c in image.captions if c.split(" · ")[0] in VERDICTS]
    assert captions and all(" as " not in c for c in captions)  # the gallery: "FN · true X, missed" etc.
    assert all(c.split(" · ")[1].startswith(("true ", "predicted ")) for c in captions)
    summary, boxes = load_evaluation(evaluated_workspace.evaluations / app.selectbox(key="eval-name").value)
    verdicts = app.multiselect(key="eval-f-verdicts").value
    failing = boxes[boxes["verdict"].isin(verdicts)]
    name = failing[failing["kind"] == "gt"]["class"].astype(str).value_counts().index[0]  # most failures
    app.multiselect(key="eval-f-classes").set_value([name]).run()
    by_role = {}
    for role in ("either", "true", "predicted"):
        app.radio(key="eval-f-role").set_value(role).run()
        by_role[role] = counts(app)["boxes"]
        assert by_role[role] == filter_mask(boxes, [name], verdicts, role=role).sum()
    assert by_role["either"] >= max(by_role["true"], by_role["predicted"]) and by_role["true"] > 0
    assert_nothing_raw(app)


def test_a_suggestion_opens_its_cases(app):
    open_tab(app, "eval-tab", "Suggestions")
    show = [b for b in app.button if str(b.key).endswith("-cases")]
    assert show, "no suggestion fired on the bundled model's evaluation"
    assert any(w.value.startswith("Evidence: rests on ") for w in app.warning) or \
        any(c.value.startswith("Evidence: rests on ") for c in app.caption)
    show[0].click().run()
    assert not app.exception and app.session_state["eval-tab"] == "Failures"
    assert app.multiselect(key="eval-f-classes").value  # the suggestion's class, filtered
    assert app.radio(key="eval-f-role").value in ("true", "predicted", "either")


def test_note_completeness_says_why(app, evaluated_workspace):
    """The page says how many stemmed noteheads lacked their stem, and whether the model has a stem class."""
    import json

    shown = app.selectbox(key="eval-name").value
    summary = json.loads((evaluated_workspace.evaluations / shown / "summary.json").read_text())
    notes = summary["note_completeness"]
    caption = next(c.value for c in app.caption if c.value.startswith("Note completeness:"))
    if notes["with_stem"] - notes["complete"]:
        assert f"{notes['stem_missed']:,} were found without their stem" in caption
    assert ("no stem class" in caption) == ("stem" not in summary["classes"])


def test_a_new_evaluation_can_add_thin_classes_from_the_ink(app, monkeypatch):
    """The classes the model lacks are offered, and the chosen ones go onto the evaluate job's command line."""
    import omr_core.ui

    started = []
    monkeypatch.setattr(omr_core.ui, "start_watched", lambda ws, key, kind, args, title, **kw: started.append(args))
    at = app
    ink = at.multiselect(key="eval-ink-classes")
    assert "staff" in ink.options and "stem" not in ink.options  # the bundled model has a stem class of its own
    ink.set_value(["staff", "legerLine"]).run()
    at.button(key="eval-start").click().run()
    assert not at.exception, at.exception
    assert started and started[0][-3:] == ["--ink-classes", "staff", "legerLine"]
