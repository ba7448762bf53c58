"""ScoreEye hand-off: measure <-> page coordinates, metadata.json checks, and the page-level symbols JSON."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from omr_core.inference.handoff import (
    HandoffError,
    Measure,
    PageMeasures,
    detect_measures,
    measure_to_page,
    page_to_measure,
    read_measures,
    symbols_document,
    write_measures,
)
from omr_core.structures.detections import Detections

NAMES = {0: "noteheadBlackOnLine", 1: "stem", 2: "clefG"}


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.5])
def test_measure_and_page_coordinates_round_trip(scale):
    rng = np.random.default_rng(1)
    measure = Measure("p1-s1-m1", "m.png", 1, 1, (310.0, 402.5, 890.0, 655.0), scale)
    xy = rng.uniform(0, 500, (50, 2))
    local = Detections(np.column_stack([xy, xy + rng.uniform(1, 80, (50, 2))]), rng.integers(0, 3, 50),
                       rng.uniform(0.3, 1, 50))
    on_page = measure_to_page(local, measure)
    assert np.allclose(on_page.xyxy[:, :2], measure.page_xyxy[:2] + local.xyxy[:, :2] / scale)
    back = page_to_measure(on_page, measure)
    assert np.allclose(back.xyxy, local.xyxy, atol=1e-9) and np.array_equal(back.class_id, local.class_id)


def page(folder: Path, measures=None) -> PageMeasures:
    measures = measures or (Measure("p1-s1-m1", "m1.png", 1, 1, (100, 200, 400, 330)),
                            Measure("p1-s2-m1", "m3.png", 2, 1, (100, 500, 380, 630), 2.0),
                            Measure("p1-s1-m2", "m2.png", 1, 2, (400, 200, 700, 330)))
    return PageMeasures(1, 1000, 1400, "page-001.png", tuple(measures), folder)


def test_metadata_round_trips_through_the_schema(tmp_path):
    write_measures(tmp_path / "metadata.json", page(tmp_path))
    assert read_measures(tmp_path / "metadata.json") == page(tmp_path)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["measures"][1].update(page_xyxy=[100, 500, 1200, 630]), "measure 2 \\(p1-s2-m1\\).*not a box inside"),
    (lambda d: d["measures"][2].update(id="p1-s1-m1"), "measure 3: id 'p1-s1-m1' is used twice"),
    (lambda d: d["measures"][0].pop("system"), "at measures/0: 'system' is a required property"),
    (lambda d: d["measures"][0].update(scale=0), "at measures/0/scale"),
    (lambda d: d.update(schema="scoreeye-measures/9"), "at schema"),
])
def test_bad_metadata_names_the_file_and_the_measure(tmp_path, edit, message):
    path = tmp_path / "metadata.json"
    write_measures(path, page(tmp_path))
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(HandoffError, match=message) as caught:
        read_measures(path)
    assert str(path) in str(caught.value)


def test_symbols_are_grouped_by_page_system_and_measure_in_page_pixels(tmp_path):
    p = page(tmp_path)
    found = {"p1-s1-m2": Detections(np.array([[50, 10, 60, 20], [5, 10, 15, 20]], float), np.array([0, 2]),
                                    np.array([0.9, 0.8])),
             "p1-s2-m1": Detections(np.array([[20, 40, 40, 60]], float), np.array([1]), np.array([0.7]))}
    document = symbols_document([(p, found)], NAMES, "best.onnx")
    systems = document["pages"][0]["systems"]
    assert [s["system"] for s in systems] == [1, 2]
    assert [m["id"] for m in systems[0]["measures"]] == ["p1-s1-m1", "p1-s1-m2"]  # measure order, not file order
    second = systems[0]["measures"][1]["symbols"]
    assert [s["class_name"] for s in second] == ["clefG", "noteheadBlackOnLine"]  # left to right
    assert second[0]["xyxy_page"] == [405.0, 210.0, 415.0, 220.0] and second[0]["xyxy_measure"] == [5, 10, 15, 20]
    scaled = systems[1]["measures"][0]["symbols"][0]
    assert scaled["xyxy_page"] == [110.0, 520.0, 120.0, 530.0]  # a 2x measure image: halved, then offset
    assert systems[0]["measures"][0]["symbols"] == []


class FakeDetector:
    """Reports one box per measure image at a known spot: the hand-off is tested apart from any model."""

    names = NAMES
    model_path = Path("fake.onnx")

    def __init__(self):
        self.seen = []

    def detect(self, image, staff_space_px=None):
        self.seen.append((image.shape[1], staff_space_px))  # measures are read once, then detected as arrays
        return Detections(np.array([[1.0, 2.0, 11.0, 12.0]]), np.array([1]), np.array([0.5]))


def test_detect_measures_runs_every_measure_image(tmp_path):
    p = page(tmp_path)
    for k, m in enumerate(p.measures):
        Image.new("L", (300 + k, 130), 255).save(tmp_path / m.image)
    write_measures(tmp_path / "metadata.json", p)
    detector = FakeDetector()
    document = detect_measures(detector, [tmp_path / "metadata.json"])
    assert sorted(detector.seen) == [(300, None), (301, None), (302, None)]  # blank: no staff space to hand on
    first = document["pages"][0]["systems"][0]["measures"][0]["symbols"][0]
    assert first["xyxy_page"] == [101.0, 202.0, 111.0, 212.0] and first["class_name"] == "stem"


def test_measure_images_outside_the_metadata_folder_are_refused(tmp_path):
    p = page(tmp_path / "pages", (Measure("p1-s1-m1", "../../etc/passwd", 1, 1, (0, 0, 10, 10)),))
    (tmp_path / "pages").mkdir()
    write_measures(tmp_path / "pages" / "metadata.json", p)
    with pytest.raises(HandoffError, match="lies outside"):
        detect_measures(FakeDetector(), [tmp_path / "pages" / "metadata.json"])


def test_the_page_staff_space_comes_from_the_measures_through_their_scale(page_path):
    """Measures cut at 1x, 2x and 0.6x of one page: each measure's own staff space divided by its scale agrees
    with the page's, and a blank measure does not move it."""
    import cv2

    from omr_core.inference.handoff import page_staff_space
    from omr_core.formats.images import read_image
    from omr_core.staff import estimate_staff_space

    page = read_image(page_path)
    truth = estimate_staff_space(page).staff_space_px
    boxes = [(150, 250, 950, 700), (900, 250, 1700, 700), (150, 700, 950, 1150), (200, 30, 600, 120)]
    measures, images = [], {}
    for number, ((x0, y0, x1, y1), scale) in enumerate(zip(boxes, (1.0, 2.0, 0.6, 1.0)), start=1):
        crop = page[y0:y1, x0:x1]
        if number == 4:
            crop = np.full_like(crop, 255)
        images[f"m{number}"] = cv2.resize(crop, None, fx=scale, fy=scale) if scale != 1 else crop
        measures.append(Measure(f"m{number}", f"m{number}.png", 1, number, (x0, y0, x1, y1), scale))
    folder = PageMeasures(1, page.shape[1], page.shape[0], None, tuple(measures), page_path.parent)
    assert page_staff_space(images, folder) == pytest.approx(truth, rel=0.02)
    blank = PageMeasures(1, page.shape[1], page.shape[0], None, (measures[3],), page_path.parent)
    assert page_staff_space({"m4": images["m4"]}, blank) is None
