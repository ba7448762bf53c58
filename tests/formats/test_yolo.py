import numpy as np
import pytest

from omr_core.formats.yolo import format_labels, label_path_for, parse_labels, read_data_yaml, write_data_yaml
from omr_core.structures import Detections


def test_labels_round_trip():
    det = Detections(np.array([[10.0, 20, 30, 60], [0, 0, 100, 200]]), [3, 0])
    text = format_labels(det, (100, 200))
    assert text.splitlines()[0] == "3 0.200000 0.200000 0.200000 0.200000"
    back, problems = parse_labels(text, (100, 200))
    assert not problems
    np.testing.assert_allclose(back.xyxy, det.xyxy, atol=1e-4)
    assert back.class_id.tolist() == [3, 0]


def test_empty_labels_are_an_empty_file():
    assert format_labels(Detections.empty(), (10, 10)) == ""


def test_malformed_lines_are_reported_with_line_numbers():
    det, problems = parse_labels("0 0.5 0.5 0.1 0.1\nx 1 2\n1 0.5 0.5 0.2\n", (10, 10), "a.txt")
    assert len(det) == 1
    assert [p.record for p in problems] == ["line 2", "line 3"] and problems[0].file == "a.txt"


def test_label_path_for():
    assert str(label_path_for(__import__("pathlib").Path("/d/images/train/x.png"))) == "/d/labels/train/x.txt"


def test_data_yaml(tmp_path):
    write_data_yaml(tmp_path, ["a", "b"], ["train", "val"], {"class_set": "3.1"})
    spec = read_data_yaml(tmp_path)
    assert spec["names"] == {0: "a", 1: "b"} and spec["train"] == "images/train" and spec["class_set"] == "3.1"
    with pytest.raises(FileNotFoundError, match="no data.yaml"):
        read_data_yaml(tmp_path / "missing")


def test_parsed_boxes_know_their_line():
    det, problems = parse_labels("\n0 0.5 0.5 0.1 0.1\nbad\n1 0.5 0.5 0.2 0.2\n", (10, 10))
    assert det.data["line"].tolist() == [2, 4] and [p.record for p in problems] == ["line 3"]


@pytest.mark.parametrize("seed", range(5))
def test_fast_formatting_equals_printf(seed):
    from omr_core.structures import convert

    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (300, 2))
    det = Detections(np.column_stack([xy, xy + rng.uniform(0.5, 300, (300, 2))]), rng.integers(0, 1000, 300))
    cxcywhn = convert(det.xyxy, "xyxy", "cxcywhn", (2707, 3828))
    expected = "".join("%d %.6f %.6f %.6f %.6f\n" % (c, *v) for c, v in zip(det.class_id, cxcywhn))
    assert format_labels(det, (2707, 3828)) == expected


@pytest.mark.parametrize("xyxy, class_id", [([[-10.0, 0, 5, 5]], 3), ([[0.0, 0, 5, 5]], 1234), ([[0.0, 0, 500, 5]], 0)])
def test_values_outside_the_fast_range_still_format(xyxy, class_id):
    det = Detections(np.array(xyxy), [class_id])
    from omr_core.structures import convert

    v = convert(det.xyxy, "xyxy", "cxcywhn", (10, 10))[0]
    assert format_labels(det, (10, 10)) == "%d %.6f %.6f %.6f %.6f\n" % (class_id, *v)
