"""The converter under faults and bad input: an overwrite that fails half way loses nothing, and a bad record
(bytes that are not UTF-8, a repeated id or file stem, an image of another size) is reported and skipped."""

import hashlib
import json
import shutil

import cv2
import numpy as np
import pytest

from omr_core.datasets import convert as convert_module
from omr_core.datasets.tiling import tile_grid
from omr_core.formats.deepscores import read_deepscores
from omr_core.formats.yolo import parse_labels, read_data_yaml
from tests.datasets.test_convert import convert


def fingerprint(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_source(drawn_source, tmp_path, name="src"):
    source = tmp_path / name
    shutil.copytree(drawn_source, source)
    return source


def test_a_failure_in_the_middle_of_an_overwrite_leaves_the_old_set_whole(drawn_source, tmp_path, monkeypatch):
    out = tmp_path / "out"
    convert(drawn_source, out)
    before = fingerprint(out)
    written = []
    real = convert_module._write_image

    def disk_full(target, pixels, source):
        if len(written) == 3:
            raise OSError(28, "No space left on device", str(target))
        written.append(target)
        real(target, pixels, source)

    monkeypatch.setattr(convert_module, "_write_image", disk_full)
    with pytest.raises(OSError, match="No space"):
        convert(drawn_source, out, overwrite=True, class_set="3.1")
    assert fingerprint(out) == before  # the old set, every byte of it
    half_made = tmp_path / ".out.building"
    assert half_made.is_dir()  # left to look at; the next attempt removes it

    monkeypatch.setattr(convert_module, "_write_image", real)
    result = convert(drawn_source, out, overwrite=True, class_set="3.1")
    assert not half_made.exists() and not (tmp_path / ".out.old").exists()
    assert len(read_data_yaml(out)["names"]) == 8 and read_data_yaml(out)["path"] == str(out.resolve())
    assert result.report_html.is_file() and str(out) in str(result.report_html)
    report = json.loads(result.report_json.read_text())
    assert report["dataset"] == "out" and ".building" not in json.dumps(report)


def test_a_bad_source_with_overwrite_leaves_the_old_set(drawn_source, tmp_path):
    out = tmp_path / "out"
    convert(drawn_source, out)
    before = fingerprint(out)
    with pytest.raises(ValueError, match="class set"):
        convert(drawn_source, out, overwrite=True, class_set="no-such-set")
    with pytest.raises(FileNotFoundError):
        convert(tmp_path / "missing", out, overwrite=True)
    assert fingerprint(out) == before


def _rewrite(path, edit, raw_edits=()):
    """Edit a DeepScores JSON as a document, then replace byte strings in the written file."""
    document = json.loads(path.read_text())
    edit(document)
    data = json.dumps(document).encode()
    for old, new in raw_edits:
        assert old in data, old
        data = data.replace(old, new, 1)
    path.write_bytes(data)


def test_bytes_that_are_not_utf8_are_reported_and_the_rest_converted(drawn_source, tmp_path):
    source = copy_source(drawn_source, tmp_path)
    train = source / "deepscores_train.json"
    first, second = json.loads(train.read_text())["images"][:2]

    def edit(document):
        document["images"][0]["filename"] = "BADNAME.png"
        document["categories"]["200"]["name"] = "BADCAT"
        document["annotations"]["BADKEY"] = document["annotations"].pop(second["ann_ids"][0])

    _rewrite(train, edit, [(b"BADNAME", b"bad\xff\xfename"), (b"BADCAT", b"cat\xe9gorie"), (b'"BADKEY"', b'"key\xc3"')])
    result = convert(source, tmp_path / "out")
    found = [p for p in result.problems.problems if p.kind == "not_utf8"]
    assert {p.record.split()[0] for p in found} == {"image", "category", "annotation"}, [str(p) for p in found]
    assert all(p.file == str(train) for p in found)
    image = next(p for p in found if p.record.startswith("image"))
    assert image.record == f"image {first['id']}" and "line 1, column" in image.message
    assert result.stats["pages_written"] == 6 - 1  # only the page whose file name is not UTF-8 is gone


def test_repeated_image_ids_and_file_stems_are_dropped_and_reported(drawn_source, tmp_path):
    source = copy_source(drawn_source, tmp_path)
    train = source / "deepscores_train.json"
    images = json.loads(train.read_text())["images"]

    def edit(document):
        document["images"][1]["id"] = document["images"][0]["id"]  # one id, two pages
        document["images"][3]["filename"] = document["images"][2]["filename"]  # one file under two ids
    _rewrite(train, edit)
    result = convert(source, tmp_path / "out")  # no SameFileError: the rest converts
    kinds = {p.kind: p for p in result.problems.problems}
    assert kinds["duplicate_image_id"].record == f"image {images[0]['id']}"
    assert kinds["duplicate_file_stem"].record == f"image {images[3]['id']}"
    assert result.stats["pages_written"] == 6 - 3  # both pages of the repeated id, the second of the stem


def test_an_image_of_another_size_is_scaled_when_exact_else_dropped(drawn_source, tmp_path):
    source = copy_source(drawn_source, tmp_path)
    records = read_deepscores(source / "deepscores_train.json")
    halved, odd = records[0], records[1]
    pixels = cv2.imread(str(source / "images" / halved.file_name), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(source / "images" / halved.file_name), cv2.resize(pixels, (halved.width // 2, halved.height // 2)))
    cv2.imwrite(str(source / "images" / odd.file_name), cv2.resize(pixels, (odd.width - 7, odd.height)))
    result = convert(source, tmp_path / "out", tile_px=320, overlap_px=32)
    by_record = {p.record: p for p in result.problems.problems if p.kind == "size_mismatch"}
    assert by_record[f"image {halved.image_id}"].action == "scaled"
    assert by_record[f"image {odd.image_id}"].action == "dropped"
    stem = halved.file_name.rsplit(".", 1)[0]
    tiles = sorted((result.output / "labels").rglob(f"{stem}__*.txt"))
    assert len(tiles) == len(tile_grid((halved.width // 2, halved.height // 2), 320, 32))  # the image's size
    boxes = sum(len(parse_labels(t.read_text(), (320, 320))[0]) for t in tiles)
    assert boxes >= len(halved.detections) * 0.9  # the boxes came along, scaled onto the smaller image


def test_images_are_written_as_seen(drawn_source, tmp_path):
    source = copy_source(drawn_source, tmp_path)
    record = read_deepscores(source / "deepscores_train.json")[0]
    path = source / "images" / record.file_name
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(path), np.dstack([np.zeros_like(grey)] * 3 + [255 - grey]))  # black ink on transparent paper
    result = convert(source, tmp_path / "out")
    written = next((result.output / "images").rglob(record.file_name))
    seen = cv2.imread(str(written))  # as Ultralytics will read it: white paper, not black
    assert np.abs(seen[:, :, 0].astype(int) - grey).max() <= 1
