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
