"""Run durations from a measured training step: the arithmetic, the time budget, the store, a real measurement."""

import json

import pytest

from omr_core.training.estimate import (
    STARTUP_S,
    StepTiming,
    epochs_within,
    estimate_run,
    load_timings,
    measure_step,
    save_timing,
)
from tests.training.test_offline_training import tiny_set  # noqa: F401  (fixture)


def timing(train_s=0.5, load_s=0.0, val_s=0.1, batch=8):
    return StepTiming("yolov8n.yaml", 640, batch, "cpu", load_s, train_s, val_s, "2026-12-01")


@pytest.mark.parametrize("step, n_train, n_val, epochs, epoch_s, total_s", [
    (timing(), 734, 100, 4, 734 * 0.5 + 100 * 0.1, STARTUP_S + 4 * (367 + 10) + 10),
    (timing(train_s=0.4, load_s=0.1), 100, 0, 10, 50.0, STARTUP_S + 500.0),  # loading counts per training image
    (timing(val_s=1.0), 1, 50, 1, 0.5 + 50, STARTUP_S + 50.5 + 50),  # the best weights are validated once more
])
def test_a_run_is_epochs_of_measured_steps(step, n_train, n_val, epochs, epoch_s, total_s):
    estimate = estimate_run(step, n_train, n_val, epochs)
    assert estimate.epoch_s == pytest.approx(epoch_s) and estimate.total_s == pytest.approx(total_s)


def test_the_budget_picks_the_most_epochs_that_fit():
    step = timing()  # 377 s an epoch of 734 + 100 images
    assert epochs_within(step, 734, 100, 30 * 60, most=12) == 4  # 20 + 4 x 377 + 10 = 1538 s <= 1800 s
    assert estimate_run(step, 734, 100, 5).total_s > 30 * 60  # one more does not fit
    assert epochs_within(step, 734, 100, 10 * 3600, most=12) == 12  # never more than the plan asks
    assert epochs_within(step, 734, 100, 60, most=12) == 1  # at least one epoch
    with pytest.raises(ValueError, match="needs training images"):
        estimate_run(step, 0, 10, 3)


def test_measurements_are_kept_per_setting(tmp_path):
    path = tmp_path / "step_times.json"
    assert load_timings(path) == {}
    save_timing(path, timing())
    save_timing(path, timing(batch=4, train_s=0.6))
    kept = load_timings(path)
    assert set(kept) == {"yolov8n.yaml|640|8|cpu", "yolov8n.yaml|640|4|cpu"} and kept["yolov8n.yaml|640|4|cpu"].train_s == 0.6
    path.write_text("{not json")
    assert load_timings(path) == {}  # unreadable: measure again rather than fail the page
    path.write_text(json.dumps({"old": {"model": "x"}}))
    assert load_timings(path) == {}


def test_a_real_step_is_measured_on_this_machine(tiny_set):  # noqa: F811
    seen = []
    measured = measure_step("yolov8n.yaml", 160, 2, "cpu", tiny_set, steps=2,
                            progress=lambda done, total, message: seen.append(message))
    assert measured.key == "yolov8n.yaml|160|2|cpu"
    assert 0 < measured.train_s < 30 and 0 <= measured.load_s < 30 and 0 < measured.val_s < 30
    assert measured.per_train_image_s == pytest.approx(measured.train_s + measured.load_s)
    assert seen[0] == "building the model" and "training step 3 of 3" in seen
