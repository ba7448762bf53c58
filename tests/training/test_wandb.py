import json

import pytest

from omr_core.training.runner import read_progress, train
from omr_core.training.runs import summarise_run, wandb_sync_command
from tests.training.test_offline_training import tiny_set  # noqa: F401  (fixture)


def run_with(tmp_path, tiny_set, wandb):  # noqa: F811
    run = tmp_path / f"run-{wandb}"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"data": str(tiny_set / "data.yaml"), "model": "yolov8n.yaml",
                                              "wandb": wandb, "settings": {"epochs": 1, "imgsz": 160, "batch": 4,
                                              "workers": 0, "device": "cpu", "plots": False, "amp": False}}))
    return run


def test_offline_by_default_with_the_sync_command(tiny_set, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    run = run_with(tmp_path, tiny_set, "online")  # asks for online without a key
    train(run)
    notes = [e for e in read_progress(run) if e["type"] == "note"]
    assert notes and "WANDB_API_KEY" in notes[0]["message"]
    command = wandb_sync_command(run)
    assert command and command.startswith("wandb sync ") and "offline-run-" in command
    assert summarise_run(run).fallbacks  # the note is shown on the page


def test_off_writes_nothing(tiny_set, tmp_path):  # noqa: F811
    run = run_with(tmp_path, tiny_set, "off")
    train(run)
    assert wandb_sync_command(run) is None


def test_bad_mode(tiny_set, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="wandb must be"):
        train(run_with(tmp_path, tiny_set, "maybe"))
