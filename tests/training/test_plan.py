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
    # the bundled model's CPU recipe: yolov8n, 640 px, an optimizer step every batch, a time budget
    assert cpu.device == "cpu" and cpu.imgsz == 640 and cpu.amp is False and cpu.model == "yolov8n.yaml"
    assert cpu.batch == 8 and cpu.nbs == 8 and cpu.time_budget_min == 30 and cpu.balance["max_repeat"] == 2
    gpu = plan.settings_for(stage, has_gpu=True)
    assert gpu.device == "0" and gpu.imgsz == 1024 and gpu.amp is True and gpu.model == "yolov8s.yaml"
    assert gpu.time_budget_min is None


def test_each_stage_says_what_its_dataset_is_made_from():
    plan = load_plan(None, SETS)
    assert plan.source == "corpus-default"
    assert [(s.source, s.scan) for s in plan.stages] == [("corpus-default", None)] * 4 + [
        ("corpus-default", "phone"), ("real-scans", None)]
    own = parse_plan({"source": "mine", "stages": [stage(), stage(name="b", class_set="3.2", source="other")]}, SETS)
    assert [s.source for s in own.stages] == ["mine", "other"]


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
        ({"stages": [stage(scan=3)]}, "scan must be a preset name"),
        ({"stages": [stage(time_budget_min=0)]}, "time_budget_min must be a positive number"),
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


def test_the_bundled_models_plan_chains_every_stage_the_script_trains():
    """models/train_bundled.sh trains models/bundled_plan.yaml's stages in order: the plan must load, chain 3.1 ->
    3.4 -> noise -> 3.5 each from the previous one, and name exactly the stages the script runs."""
    import re
    from pathlib import Path

    models = Path(__file__).resolve().parents[2] / "models"
    plan = load_plan(models / "bundled_plan.yaml", load_class_sets())
    script = (models / "train_bundled.sh").read_text()
    loop = re.search(r"for stage in ([^;]+); do", script).group(1).split()
    assert loop == [s.name for s in plan.stages]
    chain = plan.stages[:7]
    assert [s.class_set.name for s in chain] == ["3.1", "3.2", "3.3", "3.4", "3.4", "3.5", "3.5"]
    assert chain[0].start_from == "none" and all(s.start_from == "previous" for s in chain[1:])
    assert [s.scan for s in chain] == [None, None, None, None, "phone", None, "phone"]
    arch = {s.settings.model for s in plan.stages[7:]}
    assert arch == {"yolov8n.yaml", "yolo11n.yaml", "yolo26n.yaml"}
    assert all(s.start_from == "none" and s.dataset == "corpus-3.1" for s in plan.stages[7:])
