import json

from omr_core.cli import main


def test_convert_validate_sample_from_the_cli(drawn_source, tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["convert", str(drawn_source), str(out), "--class-set", "3.2", "--tile", "640", "--sample", "3"]) == 0
    printed = capsys.readouterr().out
    assert '"images_written": 36' in printed and "report" in printed
    assert main(["validate", str(out)]) == 0 and "0 problems" in capsys.readouterr().out
    assert main(["sample", str(out), "--n", "2"]) == 0
    (out / "labels" / "train" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert main(["validate", str(out)]) == 1 and "orphan" in capsys.readouterr().out


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "error:" in capsys.readouterr().err


def test_classes_explains_the_plans_short_names(capsys):
    assert main(["classes"]) == 0
    printed = capsys.readouterr().out
    assert "noteheadFull = noteheadBlackOnLine, noteheadBlackInSpace" in printed and "3.4" in printed


def test_config_round_trips_through_cli_args(tmp_path):
    from omr_core.cli import convert_config, parse_args
    from omr_core.datasets.convert import ConvertConfig

    config = ConvertConfig(source="a", output="b", annotation_set="muscima++", class_set="all", class_sets_yaml="c.yaml",
                           tile_px=1024, overlap_px=200, min_visibility=0.6, elongation=3.0, val_fraction=0.2, seed=7, max_pages=1000,
                           labels_only=True, sample_size=12, overwrite=True)
    assert convert_config(parse_args(config.cli_args())) == config
    plain = ConvertConfig(source="a", output="b")
    assert convert_config(parse_args(plain.cli_args())) == plain


def test_scan_and_boxcheck_commands(drawn_source, tmp_path, capsys):
    assert main(["scan", str(drawn_source), str(tmp_path / "scanned"), "--preset", "scan", "--seed", "3"]) == 0
    assert (tmp_path / "scanned" / "deepscores_train.json").is_file() and len(list((tmp_path / "scanned" / "images").iterdir())) == 6
    assert main(["boxcheck", "--pieces", "1", "--fonts", "Leland", "--json", str(tmp_path / "box.json")]) == 0
    summary = json.loads((tmp_path / "box.json").read_text())
    assert summary["all fonts"]["all"]["p95_px"] <= 1.0
    assert "Leland:" in capsys.readouterr().out


def test_detect_and_evaluate_from_the_cli(evaluated_workspace, page_path, tmp_path, capsys):
    from tests.inference.conftest import bundled_model_dirs

    name = bundled_model_dirs()[0].name
    out = tmp_path / "symbols.json"
    assert main(["detect", str(page_path), "--model", name, "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["model_name"] == name and len(document["symbols"]) > 50 and document["tiles"] > 1
    assert "staff" not in document["classes"]
    assert main(["detect", str(page_path), "--model", name, "--out", str(out), "--ink-classes", "staff"]) == 0
    document = json.loads(out.read_text())
    assert "staff" in document["classes"] and any(s["class_name"] == "staff" for s in document["symbols"])
    ws = evaluated_workspace
    assert main(["evaluate", name, "engraved", "--split", "val", "--workspace", str(ws.root)]) == 0
    assert f"{name}-engraved-val" in ws.list_evaluations()  # a dotted model name stays whole
    assert "mAP50" in capsys.readouterr().out


def test_an_option_several_commands_share_is_one_declaration():
    """--workspace, --trust-pickle, --backend, --conf and --seed come from one parent parser each (convert and
    generate take theirs from their config dataclasses): a command that spells one again fails here."""
    import argparse

    from omr_core.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for flag in ("--workspace", "--trust-pickle", "--backend", "--conf", "--seed", "--ink-classes"):
        declared = {id(action) for name, command in sub.choices.items() if name not in ("convert", "generate")
                    for action in command._actions if flag in action.option_strings}
        assert len(declared) == 1, f"{flag} is declared {len(declared)} times"
    assert sub.choices["init"].parse_args([]).pages == sub.choices["drawn"].parse_args(["f"]).pages == 60
