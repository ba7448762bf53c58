from dataclasses import replace

import cv2
import numpy as np
import pytest

from omr_core.datasets.drawn_pages import draw_page
from omr_core.datasets.scan_noise import EFFECTS, ScanConfig, scan_page

PHOTOMETRIC = tuple(e for e in EFFECTS if e != "geometry")

# Every strength pinned to a clearly non-neutral value, so each effect is sure to change the page.
STRONG = replace(
    ScanConfig(), ink_spread_px=(0.5, 0.5), blur_sigma_px=(1.0, 1.0), black_level=(30.0, 30.0),
    white_level=(220.0, 220.0), paper_mottle=(0.02, 0.02), paper_grain=(0.03, 0.03), lighting_gradient=(0.2, 0.2),
    lighting_tint=(0.1, 0.1), vignette=(0.2, 0.2), shadow_probability=1.0, noise_sigma=(3.0, 3.0), gamma=(1.3, 1.3),
    jpeg_quality=(60, 60),
)
STILL = dict(rotation_deg=(0.0, 0.0), scale=(1.0, 1.0), perspective=(0.0, 0.0), shear=(0.0, 0.0))


@pytest.fixture(scope="module")
def drawn():
    page = draw_page(np.random.default_rng(0), wh=(980, 1386))
    return page.pixels, np.array([b for _, b in page.boxes], dtype=np.float64)


def rectangles_page(wh=(640, 800)):
    """Filled black rectangles on white, far enough apart that each one's ink can be measured alone.

    Returns the (h, w) uint8 page and the (n, 4) xyxy of the rectangles (pixel edges)."""
    boxes = np.array([
        [100, 100, 160, 130],  # notehead-sized
        [300, 150, 303, 260],  # a stem: 3 px wide
        [80, 400, 560, 403],  # a staff line: 3 px high, long
        [420, 560, 470, 640],
        [150, 650, 190, 700],
    ], dtype=np.float64)
    pixels = np.full((wh[1], wh[0]), 255, dtype=np.uint8)
    for x0, y0, x1, y1 in boxes.astype(int):
        pixels[y0:y1, x0:x1] = 0
    return pixels, boxes


def ink_extent(pixels, near_xyxy, margin=8):
    """xyxy of the dark pixels (< 128) within `margin` px of a box, in pixel edges."""
    h, w = pixels.shape[:2]
    x0, y0 = max(int(near_xyxy[0]) - margin, 0), max(int(near_xyxy[1]) - margin, 0)
    x1, y1 = min(int(np.ceil(near_xyxy[2])) + margin, w), min(int(np.ceil(near_xyxy[3])) + margin, h)
    ink = pixels[y0:y1, x0:x1] < 128
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return np.array([x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1], dtype=np.float64)


def test_same_seed_same_page_different_seed_different_page(drawn):
    pixels, xyxy = drawn
    a = scan_page(pixels, xyxy, np.random.default_rng(7))
    b = scan_page(pixels, xyxy, np.random.default_rng(7))
    c = scan_page(pixels, xyxy, np.random.default_rng(8))
    np.testing.assert_array_equal(a.pixels, b.pixels)
    np.testing.assert_array_equal(a.xyxy, b.xyxy)
    assert a.applied == b.applied
    assert not np.array_equal(a.pixels, c.pixels)
    assert not np.array_equal(a.xyxy, c.xyxy)


def test_switching_one_effect_off_keeps_the_others_draws(drawn):
    pixels, xyxy = drawn
    every = scan_page(pixels, xyxy, np.random.default_rng(3)).applied
    fewer = scan_page(pixels, xyxy, np.random.default_rng(3), ScanConfig().only("geometry", "jpeg")).applied
    for key in ("rotation_deg", "scale", "perspective_x", "perspective_y", "shear", "jpeg_quality"):
        assert fewer[key] == every[key]
    assert "noise_sigma" not in fewer


@pytest.mark.parametrize(
    "geometry",
    [
        dict(rotation_deg=(3.0, 3.0)),
        dict(rotation_deg=(-2.0, -2.0)),
        dict(scale=(0.95, 0.95)),
        dict(perspective=(0.03, 0.03)),
        dict(shear=(0.02, 0.02)),
        dict(rotation_deg=(1.5, 1.5), scale=(1.02, 1.02), perspective=(-0.02, -0.02), shear=(-0.005, -0.005)),
    ],
)
def test_boxes_follow_the_ink(geometry):
    pixels, boxes = rectangles_page()
    config = replace(ScanConfig().only("geometry"), **{**STILL, **geometry})
    result = scan_page(pixels, boxes, np.random.default_rng(0), config)
    assert result.visible.all()
    for i, box in enumerate(result.xyxy):
        np.testing.assert_allclose(box, ink_extent(result.pixels, box), atol=1.5, err_msg=f"box {i} ({geometry})")
    assert not np.allclose(result.xyxy, boxes, atol=1.0)  # the check above is not passing by doing nothing


def test_rotation_sign_and_transform_match_opencv():
    """Positive rotation_deg turns the page counter-clockwise on screen, as cv2.getRotationMatrix2D does."""
    pixels, boxes = rectangles_page()
    h, w = pixels.shape
    config = replace(ScanConfig().only("geometry"), **{**STILL, "rotation_deg": (4.0, 4.0)})
    result = scan_page(pixels, boxes, np.random.default_rng(0), config)
    opencv = cv2.warpAffine(pixels, cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 4.0, 1.0), (w, h),
                            flags=cv2.INTER_LINEAR, borderValue=255)
    assert np.abs(result.pixels.astype(int) - opencv).max() <= 1
    right_of_centre = np.array([w / 2 + 100, h / 2, 1.0])
    moved = result.transform @ right_of_centre
    assert moved[1] / moved[2] < h / 2  # a point right of the centre moves up


def test_obb8_corners_are_transformed_and_set_the_extent():
    pixels, _ = rectangles_page()
    diamond = np.array([[200.0, 300, 220, 320, 200, 340, 180, 320]])  # extent (180, 300, 220, 340)
    wrong_xyxy = np.array([[0.0, 0, 1, 1]])  # ignored when obb8 is given
    config = replace(ScanConfig().only("geometry"), **{**STILL, "rotation_deg": (90.0, 90.0)})
    h, w = pixels.shape
    result = scan_page(pixels, wrong_xyxy, np.random.default_rng(0), config, obb8=diamond)
    # 90 degrees counter-clockwise about the centre (cx, cy): (x, y) -> (cx + (y - cy), cy - (x - cx))
    cx, cy = w / 2, h / 2
    xs, ys = diamond[0, 0::2], diamond[0, 1::2]
    expected = np.column_stack([cx + (ys - cy), cy - (xs - cx)]).reshape(1, 8)
    np.testing.assert_allclose(result.obb8, expected, atol=1e-9)
    np.testing.assert_allclose(result.xyxy, [[expected[0, 0::2].min(), expected[0, 1::2].min(),
                                              expected[0, 0::2].max(), expected[0, 1::2].max()]], atol=1e-9)


@pytest.mark.parametrize("config", [ScanConfig(enabled=frozenset()), replace(ScanConfig().only("geometry"), **STILL)],
                         ids=["nothing enabled", "geometry of zero strength"])
@pytest.mark.parametrize("channels", [1, 3])
def test_identity(drawn, config, channels):
    pixels, xyxy = drawn
    if channels == 3:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    result = scan_page(pixels, xyxy, np.random.default_rng(0), config)
    np.testing.assert_array_equal(result.pixels, pixels)
    np.testing.assert_allclose(result.xyxy, xyxy, atol=1e-9)
    np.testing.assert_allclose(result.obb8[:, [0, 1, 4, 5]], xyxy, atol=1e-9)
    np.testing.assert_allclose(result.transform, np.eye(3), atol=1e-12)
    assert result.visible.all()


@pytest.mark.parametrize(
    "box, visible",
    [
        ((290, 390, 350, 410), True),  # at the centre: scaling does not move it
        ((560, 20, 600, 60), False),  # near the top-right corner: pushed wholly outside
        ((500, 380, 540, 420), True),  # x 590-650 after scaling: 50 of 60 px inside the 640 px page
        ((530, 380, 560, 420), False),  # x 635-680: 5 of 45 px inside, a sliver
        ((20, 380, 600, 383), True),  # a staff line cut at both ends: elongated, kept like tiling keeps it
    ],
)
def test_boxes_pushed_outside_are_not_visible(box, visible):
    pixels, _ = rectangles_page()
    h, w = pixels.shape
    config = replace(ScanConfig().only("geometry"), **{**STILL, "scale": (1.5, 1.5)})
    result = scan_page(pixels, np.array([box], dtype=np.float64), np.random.default_rng(0), config)
    assert bool(result.visible[0]) is visible
    x0, y0, x1, y1 = result.xyxy[0]
    assert 0 <= x0 <= x1 <= w and 0 <= y0 <= y1 <= h


@pytest.mark.parametrize("effect", PHOTOMETRIC)
@pytest.mark.parametrize("channels", [1, 3])
def test_photometric_effects_keep_shape_dtype_and_boxes(drawn, effect, channels):
    pixels, xyxy = drawn
    if channels == 3:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    result = scan_page(pixels, xyxy, np.random.default_rng(0), STRONG.only(effect))
    assert result.pixels.shape == pixels.shape and result.pixels.dtype == np.uint8
    assert not np.array_equal(result.pixels, pixels), f"{effect} changed nothing"
    np.testing.assert_array_equal(result.xyxy, xyxy)
    np.testing.assert_array_equal(result.transform, np.eye(3))
    assert result.visible.all()
    assert result.applied and "rotation_deg" not in result.applied


@pytest.mark.parametrize("preset", ["phone", "scan", "light"])
def test_rgb_stays_rgb_and_in_channel_order(drawn, preset):
    pixels, xyxy = drawn
    rgb = np.repeat(pixels[..., None], 3, axis=2)
    result = scan_page(rgb, xyxy, np.random.default_rng(1), ScanConfig.preset(preset))
    assert result.pixels.shape == rgb.shape and result.pixels.dtype == np.uint8
    # a warm tint dims blue most: paper must come out red >= green >= blue, not the reverse (BGR mix-up)
    tinted = scan_page(rgb, xyxy, np.random.default_rng(1), STRONG.only("lighting", "jpeg"))
    paper = tinted.pixels[pixels == 255].mean(axis=0)
    assert paper[0] > paper[1] > paper[2]


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_leaves_artefacts_that_grow_as_quality_drops(drawn, channels):
    pixels, xyxy = drawn
    if channels == 3:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    errors = []
    for quality in (95, 60, 20):
        config = replace(ScanConfig().only("jpeg"), jpeg_quality=(quality, quality))
        result = scan_page(pixels, xyxy, np.random.default_rng(0), config)
        assert result.pixels.shape == pixels.shape and result.pixels.dtype == np.uint8
        assert result.applied["jpeg_quality"] == quality
        errors.append(np.abs(result.pixels.astype(int) - pixels).mean())
    assert 0 < errors[0] < errors[1] < errors[2]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("preset", ["phone", "scan", "light"])
def test_presets_keep_every_drawn_symbol_on_the_page(drawn, preset, seed):
    """Default strengths are mild enough that a page with DeepScores-like margins loses no symbol."""
    pixels, xyxy = drawn
    result = scan_page(pixels, xyxy, np.random.default_rng(seed), ScanConfig.preset(preset))
    assert result.visible.all()
    # symbols stay legible: where the clean ink lands after the returned transform, the page is far darker than paper
    h, w = pixels.shape
    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])  # the transform maps pixel edges, OpenCV pixel centres
    landed = cv2.warpPerspective(pixels, np.linalg.inv(half) @ result.transform @ half, (w, h), borderValue=255)
    ink_core = cv2.dilate(landed, np.ones((3, 3), np.uint8)) < 64  # 1 px in from every stroke edge
    assert ink_core.sum() > 1000
    assert np.median(result.pixels[ink_core]) + 100 < np.median(result.pixels)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ScanConfig(enabled=frozenset({"geometry", "sepia"})), "sepia"),
        (lambda: ScanConfig(rotation_deg=(2.0, -2.0)), "rotation_deg"),
        (lambda: ScanConfig(jpeg_quality=(0, 90)), "jpeg_quality"),
        (lambda: ScanConfig(shadow_probability=1.5), "shadow_probability"),
        (lambda: ScanConfig(black_level=(10.0, 240.0)), "black_level"),
        (lambda: ScanConfig.preset("fax"), "fax"),
        (lambda: scan_page(np.zeros((10, 10), np.float32), np.zeros((0, 4)), np.random.default_rng(0)), "uint8"),
        (lambda: scan_page(np.zeros((10, 10, 4), np.uint8), np.zeros((0, 4)), np.random.default_rng(0)),
         r"\(10, 10, 4\)"),
        (lambda: scan_page(np.zeros((10, 10), np.uint8), np.zeros((3,)), np.random.default_rng(0)), r"\(n, 4\)"),
        (lambda: scan_page(np.zeros((10, 10), np.uint8), np.zeros((2, 4)), np.random.default_rng(0),
                           obb8=np.zeros((1, 8))), "one row per box"),
    ],
)
def test_bad_input_says_what_was_expected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_empty_boxes(drawn):
    pixels, _ = drawn
    result = scan_page(pixels, np.zeros((0, 4)), np.random.default_rng(0))
    assert result.xyxy.shape == (0, 4) and result.obb8.shape == (0, 8) and result.visible.shape == (0,)


@pytest.mark.parametrize("channels", [1, 3])
def test_border_is_filled_with_the_paper_colour_not_black(channels):
    pixels, boxes = rectangles_page()
    pixels = np.where(pixels == 255, 230, pixels).astype(np.uint8)  # off-white paper
    if channels == 3:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    config = replace(ScanConfig().only("geometry"), **{**STILL, "rotation_deg": (5.0, 5.0)})
    result = scan_page(pixels, boxes, np.random.default_rng(0), config)
    corners = result.pixels[[0, 0, -1, -1], [0, -1, 0, -1]]  # outside the rotated page
    assert (corners == 230).all()
