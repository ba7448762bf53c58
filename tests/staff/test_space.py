"""The staff-space estimate against constructed staves, engraved pages at many scales, their phone-photo
variants, measure crops, and images that hold no staff."""

import json

import cv2
import numpy as np
import pytest

from omr_core.staff.space import estimate_staff_space, grey


def staves_image(space_px: float, thickness_px: float, slope_deg: float = 0.0, wh=(1200, 900), staves=3,
                 supersample: int = 8, notes: bool = True) -> np.ndarray:
    """Anti-aliased staves: drawn 8x larger in black and white, then averaged down; optionally with noteheads
    and stems over them, as music has."""
    w, h = wh[0] * supersample, wh[1] * supersample
    big = np.full((h, w), 255, np.uint8)
    x = np.arange(w, dtype=np.float64) / supersample
    tilt = np.tan(np.deg2rad(slope_deg))
    rng = np.random.default_rng(int(space_px * 100))
    for k in range(staves):
        top = (k + 0.6) * h / supersample / (staves + 0.2)
        for line in range(5):
            centre = (top + line * space_px + x * tilt) * supersample
            for col in range(0, w, 1):
                y0 = int(round(centre[col] - thickness_px * supersample / 2))
                big[y0 : y0 + int(round(thickness_px * supersample)), col] = 0
        if notes:
            for cx in rng.uniform(0.05, 0.95, 12) * wh[0]:
                cy = top + rng.integers(0, 9) * space_px / 2 + cx * tilt
                cv2.ellipse(big, (int(cx * supersample), int(cy * supersample)),
                            (int(0.65 * space_px * supersample), int(0.5 * space_px * supersample)), -20, 0, 360, 0, -1)
                cv2.line(big, (int((cx + 0.6 * space_px) * supersample), int(cy * supersample)),
                         (int((cx + 0.6 * space_px) * supersample), int((cy - 3.5 * space_px) * supersample)), 0,
                         max(1, int(0.12 * space_px * supersample)))
    return cv2.resize(big, wh, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("space_px, thickness_px, slope_deg", [
    (6.3, 0.8, 0.0), (9.0, 1.0, 1.0), (12.4, 1.5, 0.0), (17.6, 2.0, 2.5), (23.1, 3.0, -1.5), (41.7, 5.0, 0.5),
])
def test_constructed_staves_of_known_spacing_thickness_and_slope(space_px, thickness_px, slope_deg):
    found = estimate_staff_space(staves_image(space_px, thickness_px, slope_deg))
    assert found.found, found.reason
    # along a slope the vertical distance between lines is space / cos(slope): what a column reads
    vertical = space_px / np.cos(np.deg2rad(slope_deg))
    assert found.staff_space_px == pytest.approx(vertical, rel=0.01)
    assert abs(found.line_thickness_px - thickness_px) <= 1.0
    assert found.confidence > 0.5


def _truth(source):
    """File name -> staff space (px) from the generator's own record of each page."""
    pages = {}
    for line in (source / "generation.jsonl").read_text().splitlines():
        for page in json.loads(line).get("pages", []):
            pages[page["file_name"]] = page
    return pages


def _resize(image, factor):
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


@pytest.mark.parametrize("factor", [0.4, 0.55, 0.75, 1.0, 1.5, 2.0, 2.5])
def test_engraved_pages_at_every_scale_within_3_percent(engraved, factor):
    for name, page in _truth(engraved).items():
        image = _resize(cv2.imread(str(engraved / "images" / name), cv2.IMREAD_COLOR), factor)
        found = estimate_staff_space(image)
        assert found.found, (name, factor, found.reason)
        assert found.staff_space_px == pytest.approx(page["staff_space_px"] * factor, rel=0.03), (name, factor)


def test_the_staff_boxes_of_the_annotations_agree(engraved):
    """DeepScores' `staff` box spans the five lines: four staff spaces plus one line's thickness."""
    for name, page in _truth(engraved).items():
        found = estimate_staff_space(cv2.imread(str(engraved / "images" / name), cv2.IMREAD_GRAYSCALE))
        boxes = np.array(page["xyxy"])[np.array(page["classes"]) == "staff"]
        from_boxes = (np.median(boxes[:, 3] - boxes[:, 1]) - found.line_thickness_px) / 4
        assert found.staff_space_px == pytest.approx(from_boxes, rel=0.03)


@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_phone_photo_variants_within_3_percent(engraved, factor):
    """The phone preset rotates, tilts, blurs, shades and compresses the page; the truth is each staff's own
    spacing carried through the same homography."""
    from omr_core.datasets.scan_noise import ScanConfig, scan_page

    for k, (name, page) in enumerate(sorted(_truth(engraved).items())):
        image = _resize(cv2.imread(str(engraved / "images" / name), cv2.IMREAD_GRAYSCALE), factor)
        boxes = np.array(page["xyxy"])[np.array(page["classes"]) == "staff"] * factor
        scanned = scan_page(image, boxes, np.random.default_rng([5, k]), ScanConfig.preset("phone"))
        space = page["staff_space_px"] * factor
        x = (boxes[:, 0] + boxes[:, 2]) / 2
        ends = []
        for y in (boxes[:, 1] + 0.04 * space, boxes[:, 3] - 0.04 * space):
            mapped = scanned.transform @ np.vstack([x, y, np.ones_like(x)])
            ends.append(mapped[:2] / mapped[2])
        truth = float(np.median(np.hypot(*(ends[1] - ends[0])) / 4))
        found = estimate_staff_space(scanned.pixels)
        assert found.found, (name, factor, found.reason)
        assert found.staff_space_px == pytest.approx(truth, rel=0.03), (name, factor)


def test_measure_crops_holding_one_staff(engraved):
    """A ScoreEye measure: one staff with some margin, about a measure wide, at several zooms."""
    for name, page in _truth(engraved).items():
        image = cv2.imread(str(engraved / "images" / name), cv2.IMREAD_GRAYSCALE)
        space = page["staff_space_px"]
        for x0, y0, x1, y1 in np.array(page["xyxy"])[np.array(page["classes"]) == "staff"][:4]:
            crop = image[int(y0 - 3 * space) : int(y1 + 3 * space), int(x0 + 10 * space) : int(x0 + 24 * space)]
            for factor in (0.5, 1.0, 2.5):
                found = estimate_staff_space(_resize(crop, factor))
                assert found.found, (name, factor, found.reason)
                assert found.staff_space_px == pytest.approx(space * factor, rel=0.03)


def test_a_real_phone_photo(tmp_path):
    """tabi.jpg: the outer lines of its first staff lie 51 px apart (read off the photo by eye)."""
    from pathlib import Path

    photo = Path(__file__).resolve().parents[1] / "data" / "tabi.jpg"
    found = estimate_staff_space(cv2.imread(str(photo), cv2.IMREAD_COLOR)[:, :, ::-1])
    assert found.found
    assert found.staff_space_px == pytest.approx(51 / 4, rel=0.03)
    assert found.spread < 0.05  # photographed square on: one scale across the page


def _text_page(seed=1):
    page = np.full((1400, 1000), 255, np.uint8)
    rng = np.random.default_rng(seed)
    words = "the quick brown fox jumps over the lazy dog lorem ipsum dolor sit amet consectetur elit".split()
    for row in range(50, 1380, 34):
        cv2.putText(page, " ".join(rng.choice(words, 8)), (40, row), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2, cv2.LINE_AA)
    return page


@pytest.mark.parametrize("image, reason", [
    (np.full((2772, 1960, 3), 255, np.uint8), "no five equally spaced"),
    (np.zeros((600, 800), np.uint8), "no five equally spaced"),
    (np.random.default_rng(0).integers(0, 256, (600, 800), dtype=np.uint8), ""),
    (_text_page(), ""),
    (np.where(np.arange(1000)[:, None] % 24 < 2, 0, 255).astype(np.uint8).repeat(700, axis=1), "ruled"),
])
def test_no_staff_is_said_and_nothing_guessed(image, reason):
    found = estimate_staff_space(image)
    assert not found.found and found.staff_space_px is None and found.confidence == 0.0
    assert reason in found.reason and found.reason
    assert "no staff found" in found.describe()


def test_a_photo_of_text_holds_no_staff():
    from omr_core.datasets.scan_noise import ScanConfig, scan_page

    photo = scan_page(_text_page(seed=4), np.zeros((0, 4)), np.random.default_rng(2), ScanConfig.preset("phone"))
    assert not estimate_staff_space(photo.pixels).found


def test_a_tilted_photo_reports_regions_that_differ():
    """Perspective: the bottom of the page is nearer the camera, so its staves are larger."""
    image = staves_image(14.0, 1.5, wh=(1200, 1500), staves=6, notes=False)
    h, w = image.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[60, 0], [w - 60, 0], [w, h], [0, h]])
    warped = cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=255)
    found = estimate_staff_space(warped)
    assert found.found and len(found.regions) >= 3
    top = min(found.regions, key=lambda r: r.xyxy[1])
    bottom = max(found.regions, key=lambda r: r.xyxy[1])
    assert bottom.staff_space_px > top.staff_space_px
    assert found.spread > 0.05
    assert "not uniform" in found.describe()


def test_bad_pixels_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        estimate_staff_space(np.zeros((100, 100), np.float32))
    assert not estimate_staff_space(np.full((10, 400), 255, np.uint8)).found


def test_grey_is_the_integer_luminance_of_every_colour():
    """grey() runs as one cv2.transform; it must equal (77 r + 150 g + 29 b) >> 8 exactly, on all 2^24 colours,
    with an alpha channel ignored, and pass a grey image through."""
    rgb = np.stack(np.meshgrid(np.arange(256), np.arange(256), np.arange(256), indexing="ij"), -1)
    rgb = rgb.reshape(4096, 4096, 3).astype(np.uint8)
    r, g, b = (rgb[:, :, k].astype(np.uint32) for k in range(3))
    expected = ((77 * r + 150 * g + 29 * b) >> 8).astype(np.uint8)
    assert np.array_equal(grey(rgb), expected)
    alpha = np.random.default_rng(0).integers(0, 256, rgb.shape[:2] + (1,), dtype=np.uint8)
    assert np.array_equal(grey(np.concatenate([rgb, alpha], axis=2)[:64]), expected[:64])
    assert grey(expected) is expected
    with pytest.raises(ValueError, match="shape"):
        grey(np.zeros((4, 4, 2), np.uint8))
