from omr_core.cli import main
import pytest

from omr_core.training.pipeline_check import NothingPredicted, pipeline_check, require_predictions
from tests.training.test_offline_training import tiny_set  # noqa: F401  (fixture)


def test_every_step_passes_and_is_timed(tiny_set, tmp_path, capsys):  # noqa: F811
    assert main(["check", str(tiny_set), "--json", str(tmp_path / "check.json")]) == 0
    out = capsys.readouterr().out
    for step in ("data_loading", "model_initialization", "single_epoch_training", "inference"):
        assert f"PASS {step}" in out


def test_a_broken_step_fails_and_stops_the_rest(tiny_set, tmp_path):  # noqa: F811
    results = pipeline_check(tiny_set, model="no-such-model.yaml")
    assert [r.name for r in results] == ["data_loading", "model_initialization"]
    assert results[0].passed and not results[1].passed and "no-such-model" in results[1].detail


def test_a_model_that_predicts_nothing_fails_the_check_saying_why(tiny_set, monkeypatch):  # noqa: F811
    from ultralytics.engine.model import Model

    real = Model.predict

    def nothing(self, *args, **kwargs):  # what a model whose head learned nothing returns
        results = real(self, *args, **kwargs)
        for result in results:
            result.boxes = result.boxes[:0]
        return results

    monkeypatch.setattr(Model, "predict", nothing)
    results = pipeline_check(tiny_set)
    assert [r.name for r in results][-1] == "inference" and not results[-1].passed
    assert "predicted no box" in results[-1].detail and "Traceback" not in results[-1].detail


@pytest.mark.parametrize("n, passes", [(0, False), (1, True), (40, True)])
def test_the_inference_step_needs_a_box(n, passes):
    if passes:
        assert require_predictions(n, "tile.png").startswith(f"{n} boxes on tile.png")
    else:
        with pytest.raises(NothingPredicted, match="predicted no box on tile.png"):
            require_predictions(n, "tile.png")
