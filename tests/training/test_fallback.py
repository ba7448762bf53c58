"""The out-of-memory fallback: the rule, and the runner applying it to a simulated CUDA OOM."""

import json

import pytest

from omr_core.training.fallback import is_out_of_memory, next_fallback, smaller_model
from omr_core.training.runner import read_progress, train
from tests.training.test_offline_training import tiny_set  # noqa: F401  (fixture)


@pytest.mark.parametrize("model, expected", [("yolov8s.yaml", "yolov8n.yaml"), ("yolov8x.yaml", "yolov8l.yaml"),
                                             ("yolo11m.yaml", "yolo11s.yaml"), ("yolov8n.yaml", None), ("best.pt", None)])
def test_smaller_model(model, expected):
    assert smaller_model(model) == expected


def test_batch_first_then_model_then_give_up():
    steps, model, batch = [], "yolov8s.yaml", 8
    while (step := next_fallback(model, batch, first_batch=8)) is not None:
        model, batch, note = step
        steps.append((model, batch))
    assert steps == [("yolov8s.yaml", 4), ("yolov8s.yaml", 2), ("yolov8n.yaml", 8), ("yolov8n.yaml", 4), ("yolov8n.yaml", 2)]


def test_runner_falls_back_on_a_simulated_cuda_oom(tiny_set, tmp_path, monkeypatch):  # noqa: F811
    from omr_core.offline import import_ultralytics

    import_ultralytics()
    import torch
    from ultralytics import YOLO

    calls = []
    real_train = YOLO.train

    def flaky_train(self, **kwargs):
        calls.append(kwargs.get("batch"))
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_train(self, **kwargs)

    monkeypatch.setattr(YOLO, "train", flaky_train)
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"data": str(tiny_set / "data.yaml"), "model": "yolov8n.yaml", "settings": {
        "epochs": 1, "imgsz": 160, "batch": 8, "workers": 0, "device": "cpu", "plots": False, "amp": False}}))
    train(run)
    assert calls == [8, 4]
    events = read_progress(run)
    (fallback,) = [e for e in events if e["type"] == "fallback"]
    assert fallback["batch"] == 4 and "out of memory at batch 8" in fallback["reason"]
    assert events[-1]["state"] == "done"
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory")) and not is_out_of_memory(ValueError("x"))
