import pytest

from omr_core.catalog import load_class_sets
from omr_core.training.plan import PlanError, load_plan, parse_plan

SETS = load_class_sets()


def test_default_plan_follows_the_plan():
    plan = load_plan(None, SETS)
    assert [s.name for s in plan.stages] == ["3.1", "3.2", "3.3", "3.4", "noise", "finetune"]
    first, second = plan.stages[0], plan.stages[1]
    assert first.start_from == "none" and second.start_from == "previous"
    assert first.settings.model == "yolov8s.yaml" and first.settings.imgsz == 1024 and first.settings.batch == 4
    assert first.settings.nbs == 64 and first.settings.amp and first.settings.balance["min_instances"] == 500
    assert plan.stage("noise").settings.epochs == 50
    # class sets grow: every later stage keeps the earlier classes
    for a, b in zip(plan.stages, plan.stages[1:]):
        assert set(a.class_set.names) <= set(b.class_set.names)


def test_cpu_fallback_only_without_a_gpu():
    plan = load_plan(None, SETS)
    stage = plan.stages[0]
    cpu = plan.settings_for(stage, has_gpu=False)
    assert cpu.device == "cpu" and cpu.imgsz == 640 and cpu.batch == 2 and cpu.amp is False
    gpu = plan.settings_for(stage, has_gpu=True)
    assert gpu.device == "0" and gpu.imgsz == 1024 and gpu.amp is True


def stage(**kw):
    return {"name": "a", "class_set": "3.1", "dataset": "d", **kw}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"stages": []}, "non-empty list"),
        ({"stages": [stage(epochz=3)]}, r"unknown keys \['epochz'\]"),
        ({"stages": [stage(class_set="9.9")]}, "unknown class set"),
        ({"stages": [{"name": "a", "class_set": "3.1"}]}, "'dataset' is required"),
        ({"stages": [stage(), stage()]}, "used twice"),
        ({"stages": [stage(**{"from": "previous"})]}, "no previous stage"),
        ({"stages": [stage(class_set="3.2"), stage(name="b", class_set="3.1")]}, "drops its classes"),
        ({"stages": [stage(imgsz=1000)]}, "multiple of 32"),
        ({"stages": [stage(batch=0)]}, "positive integer"),
        ({"stages": [stage(model="yolov8s")]}, "model YAML"),
        ({"defaults": {"lr": 1}, "stages": [stage()]}, "defaults: unknown keys"),
        ({"stages": [stage(augment={"flipx": 0.5})]}, "augment: unknown keys"),
        ({"stages": [stage(augment={"mosaic": -1})]}, "non-negative numbers"),
        ({"stages": [stage(augment="none")]}, "augment must be a mapping"),
    ],
)
def test_bad_plans_say_what_is_wrong(spec, message):
    with pytest.raises(PlanError, match=message):
        parse_plan(spec, SETS)


def test_stage_overrides_defaults():
    plan = parse_plan({"defaults": {"epochs": 7}, "stages": [stage(), stage(name="b", class_set="3.2", epochs=3)]}, SETS)
    assert plan.stages[0].settings.epochs == 7 and plan.stages[1].settings.epochs == 3
    with pytest.raises(PlanError, match="expected one of"):
        plan.stage("zzz")


def test_augmentation_reaches_ultralytics_and_never_mirrors_by_default():
    default = load_plan(None, SETS)
    assert all(s.settings.augment == {"fliplr": 0.0} for s in default.stages)
    plan = parse_plan({"stages": [stage(augment={"scale": 0.25, "close_mosaic": 3})]}, SETS)
    assert plan.stages[0].settings.augment == {"scale": 0.25, "close_mosaic": 3}
