import json
from collections import Counter

import numpy as np
import pytest

from omr_core.formats.deepscores import DeepScoresReader, page_group, read_deepscores, write_deepscores
from omr_core.structures import Detections, ImageRecord
from omr_core.structures.problems import ProblemLog


def test_reads_the_real_page(sample_json):
    problems = ProblemLog()
    (record,) = read_deepscores(sample_json, problems=problems)
    assert (record.width, record.height) == (2707, 3828)
    assert record.file_name == "lg-5230237-aug-emmentaler--page-2.png"
    assert record.group == "lg-5230237"
    assert len(record.detections) == 547 and len(problems) == 0
    counts = Counter(record.class_names)
    assert counts["stem"] == 149 and counts["noteheadBlackInSpace"] == 67 and counts["legerLine"] == 25
    first = record.detections[record.detections.data["ann_id"] == "41408"]
    np.testing.assert_allclose(first.xyxy[0], [128.9027381, 208.62534924, 2578.09496095, 302.2144752])
    assert record.class_names[list(record.detections.data["ann_id"]).index("41408")] == "staff"
    assert first.data["obb8"].shape == (1, 8)


def test_muscima_set_reports_symbols_without_a_class(sample_json):
    problems = ProblemLog()
    (record,) = read_deepscores(sample_json, "muscima++", problems)
    assert len(record.detections) == 538
    assert problems.count("no_class_in_set") == 9  # stringsUpBow / stringsDownBow have no muscima++ class
    assert Counter(record.class_names)["noteheadFullSmall"] == 130


def _doc(annotations, images=None, first="images"):
    images = images if images is not None else [
        {"id": 1, "filename": "p1.png", "width": 100, "height": 100, "ann_ids": [k for k, v in annotations.items() if str(v.get("img_id")) == "1"]},
    ]
    cats = {"25": {"name": "noteheadBlackOnLine", "annotation_set": "deepscores", "color": 25},
            "42": {"name": "stem", "annotation_set": "deepscores", "color": 42}}
    body = {"info": {}, "annotation_sets": ["deepscores", "muscima++"], "categories": cats}
    order = ["images", "annotations"] if first == "images" else ["annotations", "images"]
    for key in order:
        body[key] = images if key == "images" else annotations
    return body


def ann(img=1, cat="25", box=(10, 10, 20, 20)):
    return {"a_bbox": list(box), "o_bbox": [box[2], box[3], box[2], box[1], box[0], box[1], box[0], box[3]],
            "cat_id": [cat, None], "area": 1, "img_id": str(img), "comments": ""}


def write(tmp_path, doc, name="deepscores_train.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))  # json.dumps writes NaN for float('nan'), as careless tools do
    return path


def test_annotations_before_images_still_read(tmp_path):
    path = write(tmp_path, _doc({"1": ann(), "2": ann(cat="42")}, first="annotations"))
    (record,) = read_deepscores(path)
    assert sorted(record.class_names) == ["noteheadBlackOnLine", "stem"]


def test_nan_coordinates_are_read_for_validation_to_report(tmp_path):
    path = write(tmp_path, _doc({"1": ann(box=(float("nan"), 1, 2, 3)), "2": ann()}))
    problems = ProblemLog()
    (record,) = read_deepscores(path, problems=problems)
    assert len(record.detections) == 2 and np.isnan(record.detections.xyxy).any()
    assert len(problems) == 0  # NaN is a validation verdict, not a parse error


def test_malformed_record_is_dropped_with_id_and_position(tmp_path):
    doc = _doc({"1": ann(), "2": ann(), "3": ann()})
    text = json.dumps(doc, indent=2).replace('"area": 1,', '"area": 1 oops,', 1)  # breaks annotation 1 only
    path = tmp_path / "deepscores_train.json"
    path.write_text(text)
    problems = ProblemLog()
    (record,) = read_deepscores(path, problems=problems)
    assert sorted(record.detections.data["ann_id"].tolist()) == ["2", "3"]
    (problem,) = [p for p in problems.problems if p.kind == "malformed_json"]
    assert problem.record == "annotation 1" and problem.action == "dropped"
    line = text[: text.index("oops")].count("\n") + 1
    assert f"line {line}" in problem.message and str(path) == problem.file


def test_wrong_field_types_name_the_field(tmp_path):
    bad = ann()
    bad["a_bbox"] = [1, 2, 3]
    path = write(tmp_path, _doc({"1": bad, "2": ann()}))
    problems = ProblemLog()
    (record,) = read_deepscores(path, problems=problems)
    assert len(record.detections) == 1
    (problem,) = problems.problems
    assert problem.kind == "malformed_record" and problem.record == "annotation 1" and "a_bbox" in problem.message


def test_truncated_file_drops_the_page_it_cut_and_says_where(tmp_path):
    annotations = {str(i): ann() for i in range(1, 200)}
    path = write(tmp_path, _doc(annotations))
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * 0.7)])
    problems = ProblemLog()
    assert read_deepscores(path, problems=problems) == []  # not a page with part of its boxes (the rest: background)
    kinds = Counter(p.kind for p in problems.problems)
    assert kinds["malformed_json"] == 1 and kinds["missing_annotations"] == 1
    stopped = next(p for p in problems.problems if p.kind == "malformed_json")
    assert "truncated" in stopped.message and "line" in stopped.message and stopped.action == "stopped"
    cut = next(p for p in problems.problems if p.kind == "missing_annotations")
    assert cut.record == "image 1" and cut.action == "dropped" and "199 ann_ids" in cut.message


def test_unknown_and_bad_categories(tmp_path):
    path = write(tmp_path, _doc({"1": ann(cat="999"), "2": ann(cat="abc"), "3": ann()}))
    problems = ProblemLog()
    (record,) = read_deepscores(path, problems=problems)
    assert record.detections.class_id.tolist() == [999, 25]  # 999 kept for validation to report
    assert [p.kind for p in problems.problems] == ["bad_category"]


def test_annotation_pointing_at_unknown_image(tmp_path):
    path = write(tmp_path, _doc({"1": ann(img=7), "2": ann()}))
    problems = ProblemLog()
    (record,) = read_deepscores(path, problems=problems)
    assert len(record.detections) == 1
    assert problems.problems[0].kind == "unknown_image" and problems.problems[0].record == "annotation 1"


def test_annotation_set_not_in_file(tmp_path):
    doc = _doc({"1": ann()})
    doc["annotation_sets"] = ["deepscores"]
    with pytest.raises(ValueError, match="not in this file's sets"):
        read_deepscores(write(tmp_path, doc), "muscima++")


def test_records_stream_before_the_file_ends(tmp_path):
    images = [{"id": i, "filename": f"p{i}.png", "width": 50, "height": 50, "ann_ids": [str(i)]} for i in range(1, 4)]
    path = write(tmp_path, _doc({str(i): ann(img=i) for i in range(1, 4)}, images))
    reader = DeepScoresReader(path)
    stream = reader.records()
    first = next(stream)
    assert first.image_id == "1" and reader.annotations_read == 3  # emitted when complete, not at the end
    assert [r.image_id for r in stream] == ["2", "3"]


def test_write_then_read_round_trip(tmp_path):
    det = Detections(np.array([[1.0, 2, 30, 40], [5, 5, 9, 9]]), [25, 42])
    path = tmp_path / "out.json"
    write_deepscores(path, [ImageRecord("7", "a.png", 64, 48, det, {})])
    (record,) = read_deepscores(path)
    np.testing.assert_allclose(record.detections.xyxy, det.xyxy)
    assert record.class_names == ["noteheadBlackOnLine", "stem"]


@pytest.mark.parametrize(
    "file_name, group",
    [("lg-5230237-aug-emmentaler--page-2.png", "lg-5230237"), ("lg-5230237-aug-lilyjazz--page-2.png", "lg-5230237"),
     ("other.png", "other")],
)
def test_page_group(file_name, group):
    assert page_group(file_name) == group


def _as_tuples(records):
    return [(r.image_id, r.detections.data["ann_id"].tolist(), r.detections.class_id.tolist(),
             np.round(r.detections.xyxy, 6).tolist()) for r in records]


@pytest.mark.parametrize("cut", [None, 0.7])
def test_worker_processes_give_the_same_records_and_problems(tmp_path, monkeypatch, cut):
    import omr_core.formats.json_stream as json_stream

    monkeypatch.setattr(json_stream, "CHUNK_BYTES", 2048)  # many small batches, so several are in flight
    images = [{"id": i, "filename": f"p{i}.png", "width": 50, "height": 50, "ann_ids": [str(10 * i + j) for j in range(8)]}
              for i in range(1, 30)]
    annotations = {str(10 * i + j): ann(img=i, cat="42" if j % 2 else "25") for i in range(1, 30) for j in range(8)}
    annotations["15"]["cat_id"] = [None, None]
    path = write(tmp_path, _doc(annotations, images))
    if cut:
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * cut)])
    results = {}
    for workers in (0, 2):
        problems = ProblemLog()
        reader = DeepScoresReader(path, problems=problems, workers=workers)
        results[workers] = (sorted(_as_tuples(reader.records())), sorted((p.kind, p.record) for p in problems.problems))
    assert results[0] == results[2]
    assert ("no_class_in_set", "annotation 15") in results[2][1]
    if cut:
        assert any(kind == "malformed_json" for kind, _ in results[2][1])


def test_big_files_use_both_cores_by_default(sample_json, monkeypatch):
    import omr_core.formats.deepscores as deepscores

    assert DeepScoresReader(sample_json).workers == 0
    monkeypatch.setattr(deepscores, "PARALLEL_MIN_BYTES", 1)
    assert DeepScoresReader(sample_json).workers == min(2, __import__("os").cpu_count())


def test_small_chunks_really_make_many_batches(tmp_path, monkeypatch):
    import omr_core.formats.json_stream as json_stream

    monkeypatch.setattr(json_stream, "CHUNK_BYTES", 2048)
    path = write(tmp_path, _doc({str(i): ann() for i in range(1, 200)}))
    batches = [b for b in json_stream.stream_members(path, {"annotations"}, set())]
    assert len(batches) > 10
