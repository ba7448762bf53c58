from omr_core.cli import main
from omr_core.training.pipeline_check import pipeline_check
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
