import json

import pytest

from omr_core.rendering.generate import (
    PROGRESS_FILE,
    GenerateConfig,
    generate,
    list_pieces,
    load_score,
    corpus_root,
    plan_tasks,
    run_isolated,
)
from tests.rendering.workers import echo_or_crash


def test_a_crashing_or_hanging_task_costs_only_itself():
    done, failed = {}, {}
    tasks = [1, "abort", 2, "hang", 3, "raise", 4]
    run_isolated(tasks, echo_or_crash, workers=2, timeout_s=3.0,
                 on_done=lambda t, r: done.__setitem__(t, r), on_failed=lambda t, why: failed.__setitem__(t, why))
    assert done == {1: 2, 2: 4, 3: 6, 4: 8}
    assert "crashed" in failed["abort"] and "longer than 3" in failed["hang"] and "bad piece" in failed["raise"]


def test_utf16_musicxml_is_read():
    text = load_score(corpus_root() / "monteverdi" / "madrigal.5.8.mxl")  # UTF-16 inside the archive
    assert text.lstrip().startswith("<?xml") and 'encoding="UTF-8"' in text[:100] and "<score-partwise" in text


def test_plan_is_seeded_and_splits_by_piece():
    pieces = list_pieces(("bach", "beethoven", "mozart", "palestrina"))
    config = GenerateConfig(output="x", seed=3)
    a, b = plan_tasks(config, pieces), plan_tasks(config, pieces)
    assert a == b and a != plan_tasks(GenerateConfig(output="x", seed=4), pieces)
    assert len({t.piece for t in a}) == len(a) == len(pieces)  # every piece once
    assert {t.piece.split("/")[0] for t in a[:4]} == {"bach", "beethoven", "mozart", "palestrina"}  # collections take turns
    assert a[0].split == "test" and sum(t.split == "test" for t in a) == pytest.approx(len(a) / 10, abs=1)
    assert {t.font for t in a[:5]} == set(config.fonts)


@pytest.mark.parametrize("bad, message", [(dict(fonts=("Arial",)), "fonts must be"), (dict(n_pages=0), "n_pages")])
def test_bad_config(bad, message):
    with pytest.raises(ValueError, match=message):
        GenerateConfig(output="x", **bad)


def test_unknown_collection():
    with pytest.raises(ValueError, match="unknown corpus collections"):
        list_pieces(("nobody",))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    pieces = list_pieces(("bach", "beethoven", "joplin", "mozart"))
    return generate(GenerateConfig(output=str(out), n_pages=8, seed=1, workers=2), pieces=pieces), pieces


def test_generated_set_reads_back_with_zero_validation_errors(generated, tmp_path):
    from omr_core.datasets.convert import ConvertConfig, convert_deepscores

    result, _ = generated
    listed = [i for split in ("train", "test")
              for i in json.loads((result.output / f"deepscores_{split}.json").read_text())["images"]]
    assert result.pages == len(listed) == 8 and len(list((result.output / "images").glob("*.png"))) >= 8
    converted = convert_deepscores(ConvertConfig(source=str(result.output), output=str(tmp_path / "yolo"), sample_size=2))
    assert len(converted.problems) == 0, converted.problems.problems[:5]
    assert converted.stats["boxes_written"] > 8 * 200
    info = json.loads((result.output / "deepscores_train.json").read_text())["info"]
    assert set(info["pieces"]["train"]).isdisjoint(info["pieces"]["test"]) and info["pieces"]["test"]
    assert isinstance(info["boxes_fixed"], dict)  # what the generator merged or clipped is stated, not hidden


def test_resume_skips_finished_pieces(generated):
    result, pieces = generated
    log = (result.output / PROGRESS_FILE).read_text().splitlines()
    before = {p.name: p.stat().st_mtime_ns for p in (result.output / "images").glob("*.png")}
    again = generate(GenerateConfig(output=str(result.output), n_pages=8, seed=1, workers=2), pieces=pieces)
    assert again.pages == 8 and (result.output / PROGRESS_FILE).read_text().splitlines() == log  # nothing redone
    assert {p.name: p.stat().st_mtime_ns for p in (result.output / "images").glob("*.png")} == before
    more = generate(GenerateConfig(output=str(result.output), n_pages=24, seed=1, workers=2), pieces=pieces)
    assert more.pages == 24 and len((result.output / PROGRESS_FILE).read_text().splitlines()) > len(log)
    for split in ("train", "test"):
        images = json.loads((result.output / f"deepscores_{split}.json").read_text())["images"]
        assert all((result.output / "images" / image["filename"]).is_file() for image in images)


def test_unisons_drawn_twice_become_one_box(tmp_path):
    from omr_core.formats.deepscores import read_deepscores
    from omr_core.rendering.generate import _write_dataset

    box = [100.0, 100.0, 118.0, 114.0]
    page = {"file_name": "m21-00000-x-page-1.png", "width": 1960, "height": 2772, "staff_space_px": 16.8,
            "classes": ["noteheadBlackOnLine", "noteheadBlackOnLine", "stem"], "xyxy": [box, box, [117, 40, 119, 107]]}
    done = {0: {"task": 0, "piece": "bach/x.mxl", "font": "Leipzig", "scale": 40, "split": "train", "pages": [page]}}
    _write_dataset(tmp_path, GenerateConfig(output=str(tmp_path), n_pages=1), done, {}, 0.0)
    (record,) = read_deepscores(tmp_path / "deepscores_train.json")
    assert sorted(record.class_names) == ["noteheadBlackOnLine", "stem"]
    info = json.loads((tmp_path / "deepscores_train.json").read_text())["info"]
    assert info["boxes_fixed"] == {"duplicate_box": 1}


def test_abc_tune_books_give_their_first_tune():
    from omr_core.rendering.generate import first_abc_tune

    book = "%comment\nX:1\nT:One\nK:C\nCDEF|\n\nX:2\nT:Two\nK:G\nGABc|\n"
    assert first_abc_tune(book) == "X:1\nT:One\nK:C\nCDEF|\n\n"
    assert first_abc_tune("X:7\nK:C\nC|") == "X:7\nK:C\nC|"
    text = load_score(corpus_root() / "oneills1850" / "1276-1375.abc")
    assert text.startswith("X:") and text.count("\nX:") == 0


@pytest.mark.parametrize("collections", [(), ("bach", "trecento")])
def test_cli_args_remake_the_same_config(collections):
    from omr_core.cli import generate_config, parse_args

    config = GenerateConfig(output="out", n_pages=12, collections=collections, fonts=("Bravura",), seed=5)
    assert generate_config(parse_args(config.cli_args())) == config
