"""The detector reads every input at its model's staff space: measured, given or switched off, boxes mapped back
to the caller's pixels exactly, and detection flat across scales."""

import cv2
import numpy as np
import pytest

from omr_core.formats.deepscores import DeepScoresReader
from omr_core.inference.detector import SymbolDetector
from omr_core.formats.images import read_image
from omr_core.structures.boxes import box_iou
from omr_core.structures.detections import Detections


@pytest.fixture(scope="module")
def detector(workspace, model_dir):
    return SymbolDetector.load(model_dir.name, workspace, backend="torch", batch=4)


@pytest.fixture(scope="module")
def truth(engraved, page_path):
    record = next(r for r in DeepScoresReader(engraved / "deepscores_train.json").records()
                  if r.file_name == page_path.name)
    names = np.array(record.class_names).astype(str)
    return record.detections[np.char.startswith(names, "notehead")]


def test_the_model_knows_its_staff_space(detector):
    assert 15 <= detector.staff_space_px <= 18.5  # the bundled model's card


def test_boxes_found_on_the_resized_image_come_back_exactly(detector, page_path, monkeypatch):
    """A perfect detector on what the model sees (the truth carried into the resized image) gives the truth
    back in the caller's pixels, at shrinking and enlarging factors."""
    image = read_image(page_path)
    truth = np.array([[100.0, 200.0, 118.5, 216.25], [1500.25, 2400.0, 1530.0, 2433.5]])
    for given in (9.0, 33.0):
        seen = {}

        def perfect(work, seen=seen):
            plan_scale = (work.shape[1] / image.shape[1], work.shape[0] / image.shape[0])
            seen["scale"] = plan_scale
            xyxy = truth * np.array([*plan_scale, *plan_scale])
            return Detections(xyxy, np.zeros(2, np.int64), np.ones(2)), np.zeros((0, 4)), 0, 0.0

        monkeypatch.setattr(detector, "_detect", perfect)
        run = detector.run(image, staff_space_px=given)
        assert run.rescale.source == "given staff space" and run.staff_space is None
        assert run.rescale.factor == pytest.approx(detector.staff_space_px / given, rel=1e-3)
        assert seen["scale"] == run.rescale.scale_xy
        np.testing.assert_allclose(run.detections.xyxy, truth, atol=1e-9)


@pytest.mark.parametrize("target_px", [8.0, 12.0, 30.0, 45.0])
def test_detection_is_flat_across_scales(detector, page_path, truth, target_px):
    """The page shown at a staff space from 8 to 45 px: measured, resized to the model's, and its noteheads found
    where they are on the page given (IoU >= 0.5), as well as at the model's own scale."""
    image = read_image(page_path)
    native_space = DetectorPage.space(detector, image)
    factor = target_px / native_space
    shown = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    run = detector.run(shown)
    assert run.rescale.source == "measured"
    assert run.rescale.measured_px == pytest.approx(target_px, rel=0.03)
    heads = run.detections[np.char.startswith(run.detections.data["class_name"].astype(str), "notehead")]
    expected = truth.xyxy * np.array([shown.shape[1] / image.shape[1], shown.shape[0] / image.shape[0]] * 2)
    recall = float((box_iou(expected, heads.xyxy).max(axis=1) >= 0.5).mean())
    assert recall >= DetectorPage.recall(detector, page_path, truth) - 0.02, f"recall {recall:.3f} at {target_px} px"


class DetectorPage:
    """Values of the page at its own scale, computed once."""

    cache: dict = {}

    @classmethod
    def space(cls, detector, image):
        if "space" not in cls.cache:
            cls.cache["space"] = detector.run(image).rescale.measured_px
        return cls.cache["space"]

    @classmethod
    def recall(cls, detector, page_path, truth):
        if "recall" not in cls.cache:
            found = detector.detect(page_path)
            heads = found[np.char.startswith(found.data["class_name"].astype(str), "notehead")]
            cls.cache["recall"] = float((box_iou(truth.xyxy, heads.xyxy).max(axis=1) >= 0.5).mean())
        return cls.cache["recall"]


def test_a_blank_page_is_read_at_native_scale_and_says_why(detector):
    run = detector.run(np.full((1200, 900, 3), 255, np.uint8))
    assert run.rescale.identity and "no staff found" in run.rescale.describe()
    assert run.staff_space is not None and not run.staff_space.found


def test_rescaling_can_be_switched_off_and_a_scale_given(detector, page_path, workspace, model_dir):
    image = read_image(page_path)
    off = SymbolDetector.load(model_dir.name, workspace, backend="torch", rescale=False).run(image[:800, :900])
    assert off.rescale.identity and off.rescale.source == "rescaling switched off" and off.staff_space is None
    given = detector.run(image[:800, :900], scale=0.5)
    assert given.rescale.source == "given scale" and given.rescale.size_wh == (450, 400)


def test_a_pdf_page_is_rendered_again_at_the_model_s_staff_space(detector, page_path, tmp_path):
    """A score PDF at 120 dpi has a staff space half the model's: the page is drawn again at ~2x the dpi,
    and the boxes come back in the 120-dpi page's pixels."""
    import skia

    pixels = cv2.imread(str(page_path), cv2.IMREAD_COLOR)
    pdf = tmp_path / "score.pdf"
    stream = skia.FILEWStream(str(pdf))
    document = skia.PDF.MakeDocument(stream)
    width_pt, height_pt = pixels.shape[1] * 72 / 240, pixels.shape[0] * 72 / 240  # the page printed at 240 dpi
    canvas = document.beginPage(width_pt, height_pt)
    rgba = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGBA)
    canvas.drawImageRect(skia.Image.fromarray(rgba), skia.Rect(0, 0, width_pt, height_pt))
    document.endPage()
    document.close()
    stream.flush()
    del stream
    run = detector.run(pdf, dpi=120)
    assert run.image_wh == pytest.approx((pixels.shape[1] / 2, pixels.shape[0] / 2), abs=1)
    assert run.rescale.size_wh[0] == pytest.approx(run.image_wh[0] * run.rescale.factor, abs=2)
    assert 1.7 < run.rescale.factor < 2.4
    heads = run.detections[np.char.startswith(run.detections.data["class_name"].astype(str), "notehead")]
    assert len(heads) > 30 and heads.xyxy[:, 2].max() <= run.image_wh[0]
