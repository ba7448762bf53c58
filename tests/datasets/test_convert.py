import json
import shutil
from collections import Counter

import cv2
import numpy as np
import pytest

from omr_core.datasets.convert import ConvertConfig, convert_deepscores, resolve_max_pages
from omr_core.formats.deepscores import read_deepscores
from omr_core.formats.yolo import parse_labels, read_data_yaml


def convert(source, out, **kwargs):
    return convert_deepscores(ConvertConfig(source=str(source), output=str(out), sample_size=5, **kwargs))


def label_files(root, split):
    return sorted((root / "labels" / split).glob("*.txt"))


def test_drawn_source_converts_with_zero_problems(drawn_source, tmp_path):
    result = convert(drawn_source, tmp_path / "out")
    out = result.output
    assert len(result.problems) == 0
    report = json.loads(result.report_json.read_text())
    assert report["source"]["problems"]["total"] == 0 and report["converted"]["problems"]["total"] == 0
    spec = read_data_yaml(out)
    assert len(spec["names"]) == 136 and spec["names"][1] == "legerLine"  # contiguous YOLO ids over 'all'
    # the test JSON's pages form the test split; the rest is split train/val by page
    assert result.stats["per_split_images"]["test"] == 1
    assert result.stats["per_split_images"]["train"] + result.stats["per_split_images"]["val"] == 5
    # every image has its label file and the boxes are the source's, in YOLO form
    records = {r.file_name: r for r in read_deepscores(drawn_source / "deepscores_train.json")}
    for label in label_files(out, "train"):
        image = out / "images" / "train" / (label.stem + ".png")
        assert image.is_file()
        record = records[image.name]
        det, problems = parse_labels(label.read_text(), (record.width, record.height))
        assert not problems and len(det) == len(record.detections)
        np.testing.assert_allclose(np.sort(det.xyxy, axis=0), np.sort(record.detections.xyxy, axis=0), atol=0.01)
    assert result.report_html.is_file() and result.sample_html.is_file()


def test_class_set_keeps_only_its_classes_in_its_order(drawn_source, tmp_path):
    result = convert(drawn_source, tmp_path / "out", class_set="3.3")
    names = read_data_yaml(result.output)["names"]
    assert names[0] == "noteheadBlackOnLine" and names[6] == "stem" and len(names) == 14
    ids = Counter(int(line.split()[0]) for f in (result.output / "labels").rglob("*.txt") for line in f.read_text().splitlines())
    assert set(ids) <= set(range(14))
    assert result.stats["left_out_of_class_set"]["legerLine"] > 0  # counted, not silently dropped


def test_tiling_writes_tiles_with_clipped_boxes(drawn_source, tmp_path):
    result = convert(drawn_source, tmp_path / "out", tile_px=640, overlap_px=160)
    tiles = list((result.output / "images").rglob("*.png"))
    assert len(tiles) == 6 * 6  # a 980x1386 page: 2 x 3 tiles
    for tile in tiles[:6]:
        pixels = cv2.imread(str(tile), cv2.IMREAD_UNCHANGED)
        assert pixels.shape[:2] == (640, 640)
        det, _ = parse_labels((result.output / "labels" / tile.parent.name / (tile.stem + ".txt")).read_text(), (640, 640))
        assert (det.xyxy >= -1e-3).all() and (det.xyxy <= 640 + 1e-3).all()
    assert result.stats["boxes_cut_dropped"] > 0


def test_page_cap_keeps_splits_by_page(drawn_source, tmp_path):
    result = convert(drawn_source, tmp_path / "out", max_pages=3)
    assert result.stats["pages_written"] == 3 and result.stats["class_mix_distance"] is not None


def test_labels_only(drawn_source, tmp_path):
    result = convert(drawn_source, tmp_path / "out", labels_only=True)
    assert not list((result.output / "images").rglob("*.png"))
    assert len(list((result.output / "labels").rglob("*.txt"))) == 6 and result.sample_html is None


def test_refuses_to_overwrite_unless_asked(drawn_source, tmp_path):
    convert(drawn_source, tmp_path / "out")
    with pytest.raises(FileExistsError, match="not empty"):
        convert(drawn_source, tmp_path / "out")
    convert(drawn_source, tmp_path / "out", overwrite=True)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("x")
    with pytest.raises(FileExistsError, match="refusing to replace"):
        convert(drawn_source, tmp_path / "mine", overwrite=True)


@pytest.fixture
def broken_source(drawn_source, tmp_path):
    """The drawn source with one of each defect the issue names."""
    src = tmp_path / "broken"
    shutil.copytree(drawn_source, src)
    doc = json.loads((src / "deepscores_train.json").read_text())
    images = doc["images"]
    (src / "images" / images[0]["filename"]).unlink()  # missing image
    (src / "images" / images[1]["filename"]).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # corrupt PNG
    anns = doc["annotations"]
    third = images[2]["ann_ids"]
    anns[third[0]]["a_bbox"][0] = float("nan")  # NaN coordinates
    anns[third[1]]["cat_id"][0] = "9999"  # unknown category
    anns[third[2]]["a_bbox"] = [5000.0, 5000.0, 5010.0, 5010.0]  # outside the page
    anns[third[3]]["a_bbox"] = [10.0, 10.0, 10.0, 30.0]  # zero width
    duplicate = str(max(int(k) for k in anns) + 1)
    anns[duplicate] = dict(anns[third[4]])  # duplicate box
    images[2]["ann_ids"].append(duplicate)
    text = json.dumps(doc, indent=1)
    # a malformed record: break annotation third[5] only
    key = f'"{third[5]}": {{'
    start = text.index(key)
    text = text[:start] + text[start:].replace('"area":', '"area" 12,', 1)
    (src / "deepscores_train.json").write_text(text)
    return src, images, third


def test_bad_input_is_reported_and_the_rest_converted(broken_source, tmp_path):
    src, images, third = broken_source
    result = convert(src, tmp_path / "out")
    problems = result.problems.problems
    by_kind = {p.kind: p for p in problems}
    assert by_kind["missing_image"].record == f"image {images[0]['id']}"
    assert by_kind["corrupt_image"].record == f"image {images[1]['id']}"
    assert by_kind["nan_coordinates"].record.startswith(f"annotation {third[0]}")
    assert by_kind["unknown_category"].record.startswith(f"annotation {third[1]}")
    assert by_kind["outside_page"].record.startswith(f"annotation {third[2]}")
    assert by_kind["degenerate_box"].record.startswith(f"annotation {third[3]}")
    assert "duplicate_box" in by_kind
    assert by_kind["malformed_json"].record == f"annotation {third[5]}" and "line" in by_kind["malformed_json"].message
    assert all(p.file.endswith("deepscores_train.json") for p in problems if p.kind != "corrupt_image")
    # everything else was converted: 6 pages less the two with broken images
    assert result.stats["images_written"] == 4
    report = json.loads(result.report_json.read_text())
    kinds = {c["kind"] for c in report["source"]["problems"]["counts"]}
    assert {"missing_image", "corrupt_image", "nan_coordinates", "malformed_json"} <= kinds


def test_truncated_json_converts_what_it_can(drawn_source, tmp_path):
    src = tmp_path / "truncated"
    shutil.copytree(drawn_source, src)
    raw = (src / "deepscores_train.json").read_bytes()
    (src / "deepscores_train.json").write_bytes(raw[: int(len(raw) * 0.6)])
    result = convert(src, tmp_path / "out")
    stopped = [p for p in result.problems.problems if p.action == "stopped"]
    assert len(stopped) == 1 and "truncated" in stopped[0].message
    assert result.stats["images_written"] >= 1 + 1  # the test file's page and at least one train page


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("pilot", 1000), ("250", 250), (7, 7)])
def test_resolve_max_pages(value, expected):
    assert resolve_max_pages(value) == expected


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="pilot"):
        resolve_max_pages("huge")


def test_muscima_with_deepscores_stage_names_is_refused(drawn_source, tmp_path):
    with pytest.raises(ValueError, match="does not have"):
        convert(drawn_source, tmp_path / "out", class_set="3.1", annotation_set="muscima++")


def test_pages_are_resized_to_a_staff_space_with_labels_scaled_exactly(engraved, tmp_path):
    """Every written box is its source box times the page's own factor (written width / source width), the page's
    staff space measured afterwards is the one asked for, and data.yaml records it."""
    from omr_core.staff import estimate_staff_space

    result = convert(engraved, tmp_path / "out", staff_space_px=11.0, val_fraction=0.0)
    spec = read_data_yaml(result.output)
    assert spec["staff_space_px"] == 11.0 and spec["staff_space_range_px"] == [11.0, 11.0]
    assert result.stats["staff_space"]["measured_by"] == {"image": 2}
    source_px = result.stats["staff_space"]["source_pages_px"]
    assert 15 <= source_px["min"] <= source_px["max"] <= 18.6
    records = {r.file_name: r for r in read_deepscores(engraved / "deepscores_train.json")}
    for label in label_files(result.output, "train"):
        record = records[label.stem + ".png"]
        pixels = cv2.imread(str(result.output / "images" / "train" / (label.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        factor_xy = np.array([pixels.shape[1] / record.width, pixels.shape[0] / record.height])
        assert abs(factor_xy[0] - factor_xy[1]) < 1e-3 and factor_xy[0] < 0.75
        det, _ = parse_labels(label.read_text(), (pixels.shape[1], pixels.shape[0]))
        np.testing.assert_allclose(np.sort(det.xyxy, axis=0), np.sort(record.detections.xyxy * np.tile(factor_xy, 2), axis=0),
                                   atol=0.01)
        assert estimate_staff_space(pixels).staff_space_px == pytest.approx(11.0, rel=0.02)


def test_a_page_without_staff_is_kept_at_its_size_and_reported(drawn_source, tmp_path):
    """Drawn test pages have no staff lines that read as staves; without staff boxes either nothing is guessed."""
    from omr_core.formats.deepscores import write_deepscores

    source = tmp_path / "src"
    shutil.copytree(drawn_source, source)
    for json_path in source.glob("*.json"):
        records = [r for r in read_deepscores(json_path)]
        kept = []
        for r in records:
            names = np.array(r.class_names)
            r.detections = r.detections[names != "staff"]
            kept.append(r)
        write_deepscores(json_path, kept)
        for r in kept:  # blank the page: no staff on the image either
            cv2.imwrite(str(source / "images" / r.file_name), np.full((r.height, r.width), 255, np.uint8))
    result = convert(source, tmp_path / "out", staff_space_px=12.0)
    assert result.problems.count("no_staff_space") == 6
    assert result.stats["staff_space"]["measured_by"] == {"none": 6}
    assert "staff_space_px" not in read_data_yaml(result.output)
