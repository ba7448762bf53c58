import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from omr_core.structures.boxes import box_iou
from omr_core.structures.detections import Detections
from omr_core.structures.record import ImageRecord
from omr_core.validation.checks import check_boxes, check_image_file, check_yolo_dataset

NAN, INF = math.nan, math.inf
CATEGORIES = {1: "stem", 2: "clefG"}
GOOD = [30.0, 30.0, 40.0, 40.0]


def make_record(xyxy, class_id, width=100, height=200, ann_id=None, obb8=None) -> ImageRecord:
    data = {}
    if ann_id is not None:
        data["ann_id"] = np.array(ann_id)
    if obb8 is not None:
        data["obb8"] = np.asarray(obb8, dtype=np.float64)
    det = Detections(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4), class_id, data=data)
    return ImageRecord("7", "page.png", width, height, det, CATEGORIES)


@pytest.mark.parametrize(
    "box, class_id, expected_kind, expected_action, expected_xyxy",
    [
        ([NAN, 0, 10, 10], 1, "nan_coordinates", "dropped", None),
        ([0, 0, INF, 10], 1, "nan_coordinates", "dropped", None),
        ([10, 10, 10, 20], 1, "degenerate_box", "dropped", None),  # zero width
        ([10, 20, 20, 10], 1, "degenerate_box", "dropped", None),  # negative height
        ([150, 10, 160, 20], 1, "outside_page", "dropped", None),  # right of the page
        ([10, -30, 20, -5], 1, "outside_page", "dropped", None),  # above the page
        ([100, 10, 110, 20], 1, "outside_page", "dropped", None),  # touches the edge only: no area inside
        ([-5, 10, 20, 20], 1, "outside_page", "clipped", [0, 10, 20, 20]),
        ([90, 190, 110, 210], 1, "outside_page", "clipped", [90, 190, 100, 200]),
        ([10, 10, 20, 20], 9, "unknown_category", "dropped", None),
        ([10, 10, 20, 20], 2, None, None, [10, 10, 20, 20]),  # a good box
        ([0, 0, 100, 200], 1, None, None, [0, 0, 100, 200]),  # exactly the page
    ],
)
def test_check_boxes_rules(box, class_id, expected_kind, expected_action, expected_xyxy):
    record = make_record([GOOD, box], [1, class_id], ann_id=["100", "101"])
    cleaned, problems = check_boxes(record, "src.json")

    if expected_kind is None:
        assert problems == []
    else:
        assert [(p.kind, p.action, p.record, p.file) for p in problems] == [
            (expected_kind, expected_action, "annotation 101 in image 7", "src.json")
        ]
        assert "but got" in problems[0].message
    expected = [GOOD] + ([expected_xyxy] if expected_xyxy is not None else [])
    np.testing.assert_allclose(cleaned.detections.xyxy, expected)
    assert cleaned.detections.data["ann_id"].tolist() == ["100", "101"][: len(expected)]


def test_check_boxes_does_not_modify_its_input():
    record = make_record([[-5, 10, 20, 20], [NAN, 0, 1, 1]], [1, 1])
    before = record.detections.xyxy.copy()
    cleaned, _ = check_boxes(record, "f")
    np.testing.assert_array_equal(record.detections.xyxy, before)
    assert len(record.detections) == 2 and len(cleaned.detections) == 1


def test_boxes_without_ann_id_are_named_by_index():
    _, problems = check_boxes(make_record([GOOD, [NAN, 0, 1, 1]], [1, 1]), "f")
    assert problems[0].record == "box 1 in image 7"


def test_nan_in_obb8_drops_the_box_and_clipping_clips_obb8():
    obb8 = [[-5, 10, 20, 10, 20, 20, -5, 20], [30, 30, NAN, 30, 40, 40, 30, 40]]
    cleaned, problems = check_boxes(make_record([[-5, 10, 20, 20], GOOD], [1, 1], obb8=obb8), "f")
    assert [(p.kind, p.action) for p in problems] == [("nan_coordinates", "dropped"), ("outside_page", "clipped")]
    np.testing.assert_allclose(cleaned.detections.data["obb8"], [[0, 10, 20, 10, 20, 20, 0, 20]])


@pytest.mark.parametrize(
    "boxes, class_ids, threshold, expected_kept",
    [
        ([GOOD, GOOD], [1, 1], 0.95, [0]),  # the later copy goes
        ([GOOD, GOOD], [1, 2], 0.95, [0, 1]),  # different classes are not duplicates
        ([[0, 0, 100, 10], [0, 0, 100, 11]], [1, 1], 0.95, [0, 1]),  # IoU 0.909 < 0.95: kept
        ([[0, 0, 100, 10], [0, 0, 100, 11]], [1, 1], 0.9, [0]),  # IoU 0.909 >= 0.9: dropped
        # A~B and B~C but not A~C: B goes, and C stays because its only match B was not kept.
        ([[0, 0, 100, 10], [0, 0, 102, 10], [0, 0, 104, 10]], [1, 1, 1], 0.97, [0, 2]),
    ],
)
def test_duplicates(boxes, class_ids, threshold, expected_kept):
    record = make_record(boxes, class_ids, width=200, height=200, ann_id=[str(i) for i in range(len(boxes))])
    cleaned, problems = check_boxes(record, "f", duplicate_iou=threshold)
    assert cleaned.detections.data["ann_id"].tolist() == [str(i) for i in expected_kept]
    dropped = sorted(set(range(len(boxes))) - set(expected_kept))
    assert [p.record for p in problems] == [f"annotation {i} in image 7" for i in dropped]
    assert all(p.kind == "duplicate_box" and p.action == "dropped" for p in problems)


def test_duplicate_message_names_the_earlier_box():
    _, problems = check_boxes(make_record([GOOD, GOOD], [1, 1], ann_id=["a1", "a2"]), "f")
    assert "annotation a1" in problems[0].message and "IoU 1.000" in problems[0].message


@pytest.mark.parametrize("threshold, jitter_px, resize", [(0.95, 0.2, 0.01), (0.8, 1.5, 0.05), (0.5, 6.0, 0.2)])
def test_duplicates_match_a_brute_force_greedy_pass(threshold, jitter_px, resize):
    rng = np.random.default_rng(3)
    xy = rng.uniform(50, 900, size=(300, 2))  # away from the page edges: no box gets clipped
    wh = rng.uniform(20, 60, size=(300, 2))
    copies = rng.choice(300, 150, replace=True)  # some boxes copied several times: chains of matches
    xy = np.concatenate([xy, xy[copies] + rng.uniform(-jitter_px, jitter_px, size=(150, 2))])
    wh = np.concatenate([wh, wh[copies] * rng.uniform(1 - resize, 1 + resize, size=(150, 2))])
    all_boxes = rng.permutation(np.column_stack([xy, xy + wh]))  # copies before and after their originals
    class_id = np.ones(len(all_boxes), dtype=np.int64)  # one class: the most pairs
    cleaned, problems = check_boxes(make_record(all_boxes, class_id, width=1000, height=1000), "f", threshold)

    kept: list[int] = []
    for i in range(len(all_boxes)):  # the definition, one box at a time
        if not kept or box_iou(all_boxes[i : i + 1], all_boxes[kept]).max() < threshold:
            kept.append(i)
    np.testing.assert_allclose(cleaned.detections.xyxy, all_boxes[kept])
    assert len(problems) == len(all_boxes) - len(kept) > 60


@pytest.mark.parametrize("boxes", [[], [[NAN, 0, 1, 1]]])
def test_empty_page_is_kept_and_reported(boxes):
    cleaned, problems = check_boxes(make_record(boxes, [1] * len(boxes)), "f")
    assert problems[-1].kind == "empty_page" and problems[-1].action == "kept"
    assert problems[-1].record == "image 7"
    assert len(cleaned.detections) == 0


def test_page_without_size_is_not_checked_against_it():
    cleaned, problems = check_boxes(make_record([[500, 500, 510, 510]], [1], width=0, height=0), "f")
    assert [(p.kind, p.action) for p in problems] == [("unknown_page_size", "kept")]
    assert len(cleaned.detections) == 1


# -- image files ---------------------------------------------------------------------------------------------


@pytest.fixture
def png(tmp_path) -> Path:
    path = tmp_path / "page.png"
    pixels = (np.random.default_rng(0).random((30, 20, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_good_image_passes(png):
    assert check_image_file(png, (20, 30), "src.json", "image 1") is None
    assert check_image_file(png, None, "src.json", "image 1") is None


def test_missing_image(tmp_path):
    problem = check_image_file(tmp_path / "nope.png", (20, 30), "src.json", "image 1")
    assert (problem.kind, problem.action, problem.file, problem.record) == ("missing_image", "dropped", "src.json", "image 1")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_png_is_corrupt(png, cut):
    data = png.read_bytes()
    png.write_bytes(data[: int(len(data) * cut)])
    problem = check_image_file(png, (20, 30), "f", "r")
    assert (problem.kind, problem.action) == ("corrupt_image", "dropped")


def test_png_without_its_end_chunk_is_corrupt(png):
    png.write_bytes(png.read_bytes()[:-12])  # IEND is the last 12 bytes
    assert check_image_file(png, None, "f", "r").kind == "corrupt_image"


def test_truncated_jpeg_is_corrupt(tmp_path):
    path = tmp_path / "page.jpg"
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(path, quality=90)
    assert check_image_file(path, (64, 64), "f", "r") is None
    path.write_bytes(path.read_bytes()[:-400])
    assert check_image_file(path, (64, 64), "f", "r").kind == "corrupt_image"


def test_not_an_image_is_corrupt(tmp_path):
    path = tmp_path / "page.png"
    path.write_bytes(b"this is text")
    assert check_image_file(path, None, "f", "r").kind == "corrupt_image"


def test_size_mismatch_is_dropped(png):
    problem = check_image_file(png, (2707, 3828), "f", "image 1")
    assert (problem.kind, problem.action) == ("size_mismatch", "dropped")  # its boxes would lie off the image
    assert "2707 x 3828" in problem.message and "20 x 30" in problem.message


@pytest.mark.parametrize("stated_wh, action, factor", [
    ((20, 30), None, 1.0),  # as stated
    ((40, 60), "scaled", 0.5),  # the record is of a page twice the image's size: boxes halved
    ((10, 15), "scaled", 2.0),
    ((40, 61), "dropped", None),  # no single ratio
    ((30, 20), "dropped", None),  # turned
])
def test_a_record_is_fitted_to_its_image_or_dropped(png, stated_wh, action, factor):
    from omr_core.validation.checks import check_page_image

    boxes = Detections(np.array([[2.0, 4.0, 8.0, 10.0]]), np.array([0]), data={"obb8": np.array([[2.0, 4, 8, 4, 8, 10, 2, 10]])})
    record = ImageRecord("1", "page.png", *stated_wh, boxes, {0: "stem"})
    fitted, problem = check_page_image(record, png, "src.json")
    assert (problem.action if problem else None) == action
    if factor is None:
        assert fitted is None and "20 x 30" in problem.message and problem.record == "image 1"
    else:
        assert (fitted.width, fitted.height) == (20, 30)
        assert np.allclose(fitted.detections.xyxy, boxes.xyxy * factor)
        assert np.allclose(fitted.detections.data["obb8"], boxes.data["obb8"] * factor)


def test_an_exif_turned_image_is_checked_at_its_seen_size(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("RGB", (30, 20), "white").save(tmp_path / "turned.jpg", exif=exif)
    assert check_image_file(tmp_path / "turned.jpg", (20, 30), "f", "r") is None


# -- converted YOLO sets -------------------------------------------------------------------------------------

LABEL_LINES = [
    "0 0.5 0.5 0.2 0.2",  # 1 good
    "1 0.5 0.5 0.2",  # 2 malformed
    "0 nan 0.5 0.1 0.1",  # 3 NaN
    "0 0.5 0.5 0 0.1",  # 4 zero width
    "0 0.95 0.5 0.2 0.1",  # 5 right edge at 1.05
    "5 0.3 0.3 0.1 0.1",  # 6 class 5 is not in names
    "0 0.5 0.5 0.2 0.2",  # 7 line 1 again
    "",  # 8 blank: ignored
    "1 0.9 0.5 0.2000001 0.1",  # 9 edge at 1.00000005: within the rounding tolerance
    "1 0.5 0.5 -0.1 0.1",  # 10 negative width
]


@pytest.fixture
def yolo_root(tmp_path) -> Path:
    root = tmp_path / "set"
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
    (root / "data.yaml").write_text(yaml.safe_dump(
        {"path": "/somewhere/else", "train": "images/train", "val": "images/val", "names": {0: "stem", 1: "clefG"}}))
    for name in ("p1.png", "p2.png"):
        (root / "images" / "train" / name).write_bytes(b"")  # label text is all the check reads
    (root / "labels" / "train" / "p1.txt").write_text("\n".join(LABEL_LINES) + "\n")
    (root / "labels" / "train" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "images" / "val" / "v1.jpg").write_bytes(b"")
    (root / "labels" / "val" / "v1.txt").write_text("")  # background image: fine
    return root


def test_check_yolo_dataset_finds_every_defect(yolo_root):
    log = check_yolo_dataset(yolo_root)
    found = sorted((p.kind, p.file, p.record, p.action) for p in log.problems)
    label = "labels/train/p1.txt"
    assert found == sorted([
        ("malformed_label", label, "line 2", "dropped"),
        ("nan_coordinates", label, "line 3", "dropped"),
        ("degenerate_box", label, "line 4", "dropped"),
        ("outside_image", label, "line 5", "kept"),
        ("unknown_class", label, "line 6", "dropped"),
        ("duplicate_box", label, "line 7", "dropped"),
        ("degenerate_box", label, "line 10", "dropped"),
        ("missing_label", "images/train/p2.png", "file", "kept"),
        ("orphan_label", "labels/train/orphan.txt", "file", "skipped"),
    ])
    duplicate = next(p for p in log.problems if p.kind == "duplicate_box")
    assert "line 1" in duplicate.message


def test_clean_yolo_dataset_has_no_problems(yolo_root):
    (yolo_root / "labels" / "train" / "p1.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.2 0.2\n")
    (yolo_root / "labels" / "train" / "p2.txt").write_text("\ufeff1 0.5 0.5 0.2 0.2\n")  # a BOM is accepted
    (yolo_root / "labels" / "train" / "orphan.txt").unlink()
    assert len(check_yolo_dataset(yolo_root)) == 0


def test_check_yolo_dataset_needs_data_yaml(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.yaml"):
        check_yolo_dataset(tmp_path)


def test_not_an_image_is_corrupt_after_ultralytics_patched_pil(tmp_path):
    """Ultralytics patches PIL.Image.open to try an optional HEIF plugin; without it that raises ImportError."""
    import subprocess
    import sys

    path = tmp_path / "not-an-image.png"
    path.write_bytes(b"this is not an image at all")
    code = ("import omr_core.offline as o; o.import_ultralytics()\n"
            "from pathlib import Path\nfrom omr_core.validation.checks import check_image_file\n"
            f"p = check_image_file(Path({str(path)!r}), None, 'f', 'r')\nprint(p.kind)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "corrupt_image", out.stderr[-2000:]
