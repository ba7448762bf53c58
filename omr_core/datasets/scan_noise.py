"""Scan and phone-photo noise: turn a clean rendered page into a plausible scan or photo of it, boxes moved exactly.

Why: a detector trained on clean renders only has never seen what users feed it. A phone photo of a printed score
(shared/data/real_scans/tabi.jpg) has paper at grey ~253 in the middle and ~195 in the corners, ink at ~10, a slight
keystone, soft focus, sensor noise and JPEG blocks; a flatbed scan is flatter but rotated, blurred and noisy.

Stages run in the order the physics does, so every parameter means what its name says:

    ink        the print: strokes spread or thin by a fraction of a pixel (before the camera, so warped with the page)
    geometry   the camera pose: one homography (rotation about the centre, scale, shear, keystone), border = paper
    blur       the lens: Gaussian defocus
    contrast   reflectance: clean 0 and 255 become the drawn ink and paper grey levels
    paper      paper texture: low-frequency mottling and fine grain, multiplicative
    lighting   uneven light: a linear brightness gradient (and, on RGB pages, a warm tint)
    vignette   corners darker than the centre
    shadow     a soft curved shadow entering from one side, like a hand or a phone
    noise      sensor noise, additive Gaussian
    gamma      the camera's tone curve
    jpeg       compression

Only `geometry` moves anything, and boxes follow it exactly: the four corners of every box go through the same
homography as the pixels and the new box is their extent. Ink spread moves stroke edges by less than a pixel,
below label noise, so boxes are not grown for it.

Coordinates are continuous pixel-edge coordinates, as boxes are: pixel (col i, row j) covers [i, i+1) x [j, j+1).
`ScanResult.transform` maps those; OpenCV warps pixel centres, so the matrix handed to it is shifted by half a pixel.

Speed, 1960x2772 grey drawn page on this project's shared 2-core CPU, 40 seeds (the machine is shared, so the median
moved between 60 and 85 ms from run to run): "phone" median 84 ms (min 60, p90 100), "scan" 58 ms (min 47),
"light" 68 ms (min 58); an RGB page takes ~2.5x as long. The big items are `cv2.warpPerspective` (~12-17 ms),
JPEG of a noisy page (~20 ms) and the few full-size float32 passes of the light model (~3 ms each). Low-frequency
fields are computed at 1/8 resolution and resized up once, paper grain at 1/2, and Gaussian noise is drawn as
random bytes mapped through a 256-entry normal-quantile table (a full-size `standard_normal` alone takes ~56 ms).

Usage::

    rng = np.random.default_rng(0)
    result = scan_page(page.pixels, xyxy, rng, ScanConfig.preset("phone"))
    kept_xyxy = result.xyxy[result.visible]
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from statistics import NormalDist
from typing import Any

import cv2
import numpy as np

from omr_core.datasets.tiling import CutRule
from omr_core.structures.boxes import BoxMode, convert

DEFAULT_PRESET = "phone"  # every effect on, as on the real phone photo the levels were checked against
PRESETS = (DEFAULT_PRESET, "scan", "light")  # ScanConfig.preset's names, the default first
EFFECTS = ("ink", "geometry", "blur", "contrast", "paper", "lighting", "vignette", "shadow", "noise", "gamma", "jpeg")

# Low-frequency fields (lighting, vignette, shadow, mottling) vary over hundreds of pixels: computed at 1/8
# resolution (1/64 of the pixels) and resized up once, their arithmetic costs next to nothing and looks the same.
_FIELD_DOWNSCALE = 8

# Unit-variance normal quantiles of 256 equal-probability bins: a uniform random byte looked up here is a draw from a
# normal distribution truncated at +-2.9 sigma. For a full page that is ~5 ms against ~56 ms for
# `Generator.standard_normal`.
_NORMAL_LUT = np.array([NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)], dtype=np.float32)
_NORMAL_LUT /= _NORMAL_LUT.std()

Range = tuple[float, float]


@dataclass(frozen=True)
class ScanConfig:
    """Strength of every effect as a (low, high) range drawn uniformly per page; (v, v) fixes it at v.

    The defaults are the "phone" preset: every effect on, with levels checked against one real phone photo of a
    printed score (tabi.jpg) where it shows the effect. `preset("scan")` and `preset("light")` give gentler variants;
    `enabled` (or `only(...)`) turns effects off.
    """

    enabled: frozenset[str] = frozenset(EFFECTS)

    # geometry
    rotation_deg: Range = (-1.5, 1.5)  # positive is counter-clockwise on screen (OpenCV's convention); a page squared
    # by eye on a scanner or under a phone is rarely more than ~1.5 degrees off, and more makes staves visibly step
    scale: Range = (0.97, 1.03)  # camera distance / scan dpi rounding; small so the staff space stays near the render's
    perspective: Range = (-0.02, 0.02)  # keystone, drawn for x and y apart: how much the page shrinks (or grows)
    # towards one edge, as a fraction; 0.02 makes opposite edges differ by ~4%, a phone held not quite parallel
    shear: Range = (-0.005, 0.005)  # x += shear * y: a slightly skewed scanner feed or camera roll
    # ink
    ink_spread_px: Range = (-0.3, 0.6)  # > 0: ink bleeds, each stroke edge moves out by this much; < 0: toner-starved
    # print thins strokes; kept under a pixel because staff lines are only ~2 px thick and must survive
    # blur
    blur_sigma_px: Range = (0.3, 1.0)  # Gaussian sigma: phone focus and scanner optics soften edges by about a pixel;
    # much beyond 1 px the 2 px staff lines of a rendered page fade to grey
    # contrast
    black_level: Range = (5.0, 40.0)  # grey of ink under full light; printed black is never 0 in a photo (tabi: ~10)
    white_level: Range = (228.0, 253.0)  # grey of paper under full light (tabi: ~253 where the light is best)
    # paper
    paper_mottle: Range = (0.0, 0.012)  # std of the low-frequency texture as a fraction of brightness: uneven paper;
    # above ~0.015 it reads as clouds, which tabi.jpg does not show
    paper_grain: Range = (0.0, 0.03)  # std of the fine (~2 px) grain as a fraction of brightness: paper fibres
    # lighting
    lighting_gradient: Range = (0.0, 0.15)  # how much darker the far side of the page is than the lit side
    lighting_tint: Range = (0.0, 0.06)  # RGB only: blue dimmed by this fraction, green by half of it (indoor light;
    # tabi.jpg's mean colour is R 206, G 201, B 193: ~6% less blue)
    # vignette
    vignette: Range = (0.05, 0.25)  # corner darkening relative to the centre; tabi's corners are 17-25% darker
    # shadow
    shadow_probability: float = 0.5  # a shadow on every page would be as unrealistic as none; half sees both often
    shadow_strength: Range = (0.15, 0.4)  # fraction of the light the shadow blocks; more would hide the ink
    shadow_softness: Range = (0.05, 0.2)  # width of the shadow's edge as a fraction of the page's short side
    # noise
    noise_sigma: Range = (1.0, 4.0)  # std in grey levels; tabi's flat paper has ~2.4 after JPEG smoothing
    # gamma
    gamma: Range = (0.85, 1.1)  # out = 255 * (in / 255) ** gamma: phone tone curves brighten or darken mid-greys
    # jpeg
    jpeg_quality: tuple[int, int] = (50, 90)  # cameras save at ~90, messaging apps recompress at ~50-75

    # which transformed boxes still count as seen: the rule tiling uses for boxes cut by a tile edge
    cut_rule: CutRule = field(default_factory=CutRule)

    def __post_init__(self) -> None:
        enabled = frozenset(self.enabled)
        unknown = enabled - set(EFFECTS)
        if unknown:
            raise ValueError(f"enabled must be a subset of {EFFECTS}, but got unknown {sorted(unknown)}")
        object.__setattr__(self, "enabled", enabled)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("enabled", "cut_rule", "shadow_probability"):
                continue
            if len(value) != 2 or value[0] > value[1]:
                raise ValueError(f"{f.name} must be a (low, high) range with low <= high, but got {value}")
        if not 0.0 <= self.shadow_probability <= 1.0:
            raise ValueError(f"shadow_probability must be in [0, 1], but got {self.shadow_probability}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_quality must be a range within [1, 100], but got {self.jpeg_quality}")
        if self.black_level[1] >= self.white_level[0]:
            raise ValueError(
                f"black_level must stay below white_level, but got {self.black_level} and {self.white_level}")

    @classmethod
    def preset(cls, name: str) -> "ScanConfig":
        """A named configuration.

        - "phone": every effect (the defaults): keystone, uneven light, vignette, a shadow on half the pages, JPEG.
        - "scan": a flatbed: rotation, scale and a hint of skew but no keystone, even light, blur, noise, paper, ink,
          contrast and gamma; no vignette, shadow or JPEG.
        - "light": every effect but vignette and shadow, all gentle: for augmenting without hiding anything.
        """
        if name == "phone":
            return cls()
        if name == "scan":
            return cls(
                enabled=frozenset(EFFECTS) - {"vignette", "shadow", "jpeg"},
                perspective=(0.0, 0.0), shear=(-0.002, 0.002), scale=(0.98, 1.02),
                lighting_gradient=(0.0, 0.04),  # a flatbed lamp is even, but the lid edge lets in a little light
                lighting_tint=(0.0, 0.0), black_level=(10.0, 40.0), white_level=(225.0, 250.0),
            )
        if name == "light":
            return cls(
                enabled=frozenset(EFFECTS) - {"vignette", "shadow"},
                rotation_deg=(-0.5, 0.5), scale=(0.99, 1.01), perspective=(-0.005, 0.005), shear=(0.0, 0.0),
                ink_spread_px=(-0.2, 0.3), blur_sigma_px=(0.2, 0.6), black_level=(0.0, 25.0),
                white_level=(235.0, 255.0), paper_mottle=(0.0, 0.015), paper_grain=(0.0, 0.015),
                lighting_gradient=(0.0, 0.05), lighting_tint=(0.0, 0.02), noise_sigma=(0.5, 2.0),
                gamma=(0.9, 1.1), jpeg_quality=(80, 95),
            )
        raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, but got {name!r}")

    def only(self, *effects: str) -> "ScanConfig":
        """The same strengths with only `effects` switched on."""
        return replace(self, enabled=frozenset(effects))


@dataclass(frozen=True)
class ScanResult:
    """A scanned page and its boxes.

    Attributes:
        pixels: same shape and dtype as the input page.
        xyxy: (n, 4) float64, extent of each box's transformed corners, clipped to the image.
        obb8: (n, 8) float64, each box's four corners after the transform, not clipped.
        visible: (n,) bool, False where the box has left the image (per `ScanConfig.cut_rule`): drop those.
        transform: (3, 3) float64 homography applied, in pixel-edge coordinates (identity without `geometry`).
        applied: effect parameter -> value actually drawn for this page (plain floats, for logs).
    """

    pixels: np.ndarray
    xyxy: np.ndarray
    obb8: np.ndarray
    visible: np.ndarray
    transform: np.ndarray
    applied: dict[str, Any]


def scan_page(
    pixels: np.ndarray,
    xyxy: np.ndarray,
    rng: np.random.Generator,
    config: ScanConfig = ScanConfig(),
    obb8: np.ndarray | None = None,
) -> ScanResult:
    """Make a scan-like variant of a page and move its boxes with it.

    Args:
        pixels: (h, w) uint8 grey or (h, w, 3) uint8 RGB page, dark ink on light paper.
        xyxy: (n, 4) float64 boxes in pixels.
        rng: the only source of randomness; one page consumes a fixed number of draws from it, and each effect draws
            from its own child stream, so switching one effect off leaves the others' draws unchanged.
        config: which effects, how strong.
        obb8: optional (n, 8) float64 corners (x1 y1 ... x4 y4) of the same boxes; when given, these are the
            corners transformed (tighter than the corners of `xyxy` for rotated symbols).

    Returns:
        A `ScanResult` with a page of the same shape and dtype as `pixels`.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise ValueError(
            f"pixels must be a (h, w) or (h, w, 3) uint8 array, but got shape {pixels.shape} {pixels.dtype}")
    xyxy = convert(xyxy, BoxMode.XYXY, BoxMode.XYXY)
    if obb8 is None:
        corners = convert(xyxy, BoxMode.XYXY, BoxMode.OBB8)
    else:
        # not convert(obb8, OBB8, OBB8): that goes through xyxy and would square the corners off
        corners = np.asarray(obb8, dtype=np.float64)
        corners = corners.reshape(0, 8) if corners.size == 0 else corners
        if corners.ndim != 2 or corners.shape[1] != 8:
            raise ValueError(f"obb8 must be a 2D array of shape (n, 8), but got shape {corners.shape}")
        if len(corners) != len(xyxy):
            raise ValueError(f"obb8 must have one row per box ({len(xyxy)}), but got {len(corners)}")

    on = config.enabled
    streams = dict(zip(EFFECTS, (np.random.default_rng(s) for s in rng.integers(0, 2**63, size=len(EFFECTS)))))
    h, w = pixels.shape[:2]
    applied: dict[str, Any] = {}
    page = pixels

    if "ink" in on:
        page = _spread_ink(page, streams["ink"], config, applied)

    transform = np.eye(3)
    if "geometry" in on:
        transform = _draw_homography((w, h), streams["geometry"], config, applied)
        page = cv2.warpPerspective(
            page, _to_opencv(transform), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
            borderValue=_paper_colour(pixels),
        )

    if "blur" in on:
        # Applied to the still-sharp uint8 page (4x faster than on float): blur and the smooth lighting that follows
        # nearly commute, so the order costs no realism.
        sigma = _uniform(streams["blur"], config.blur_sigma_px)
        applied["blur_sigma_px"] = sigma
        if sigma > 0:
            page = cv2.GaussianBlur(page, (0, 0), sigma)

    if on & {"contrast", "paper", "lighting", "vignette", "shadow", "noise"}:
        page = _light_and_sense(page, streams, config, applied)

    if "gamma" in on:
        gamma = _uniform(streams["gamma"], config.gamma)
        applied["gamma"] = gamma
        lut = np.round(255.0 * (np.arange(256) / 255.0) ** gamma).astype(np.uint8)
        page = cv2.LUT(page, lut)

    if "jpeg" in on:
        page = _jpeg(page, streams["jpeg"], config, applied)

    moved = _apply_homography(transform, corners)
    xs, ys = moved[:, 0::2], moved[:, 1::2]
    extent = np.column_stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)])
    clipped = np.clip(extent, 0, [w, h, w, h])
    has_area = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    visible = has_area & config.cut_rule.keep(extent, clipped)
    return ScanResult(page, clipped, moved, visible, transform, applied)


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[0] < bounds[1] else float(bounds[0])


def _paper_colour(pixels: np.ndarray) -> float | tuple[float, float, float]:
    """The page's background grey (or RGB): the median of a sparse sample, because a score page is mostly paper."""
    sample = pixels[::16, ::16].reshape(-1, 1 if pixels.ndim == 2 else 3)
    median = np.median(sample, axis=0)
    return float(median[0]) if pixels.ndim == 2 else tuple(float(v) for v in median)


def _spread_ink(page: np.ndarray, rng: np.random.Generator, config: ScanConfig, applied: dict) -> np.ndarray:
    """Move stroke edges by a fraction of a pixel: blend the page with its 3x3-cross min (bleed) or max (thin) filter.

    Blending with weight t moves each edge by ~t px in grey-level mass, which a hard 1 px erode cannot do."""
    spread = _uniform(rng, config.ink_spread_px)
    applied["ink_spread_px"] = spread
    if spread == 0:
        return page
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    moved = cv2.erode(page, kernel) if spread > 0 else cv2.dilate(page, kernel)  # dark ink: erode grows it
    weight = min(abs(spread), 1.0)
    return cv2.addWeighted(page, 1.0 - weight, moved, weight, 0.0)


def _draw_homography(wh: tuple[int, int], rng: np.random.Generator, config: ScanConfig, applied: dict) -> np.ndarray:
    """Rotation, scale, shear and keystone about the page centre. Returns (3, 3) float64 in pixel-edge coordinates."""
    w, h = wh
    angle = np.deg2rad(_uniform(rng, config.rotation_deg))
    scale = _uniform(rng, config.scale)
    shear = _uniform(rng, config.shear)
    keystone_x, keystone_y = _uniform(rng, config.perspective), _uniform(rng, config.perspective)
    applied.update(rotation_deg=float(np.rad2deg(angle)), scale=scale, shear=shear,
                   perspective_x=keystone_x, perspective_y=keystone_y)
    cos, sin = np.cos(angle), np.sin(angle)
    rotate = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]])  # y points down, so this turns counter-clockwise
    shear_scale = np.array([[scale, scale * shear, 0], [0, scale, 0], [0, 0, 1]])
    # The denominator 1 + kx*x + ky*y is 1 +- keystone at the page's left/right (top/bottom) edges.
    keystone = np.array([[1, 0, 0], [0, 1, 0], [keystone_x / (w / 2), keystone_y / (h / 2), 1]])
    to_centre = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]])
    from_centre = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]])
    return from_centre @ keystone @ shear_scale @ rotate @ to_centre


def _to_opencv(transform: np.ndarray) -> np.ndarray:
    """Pixel-edge homography -> the one OpenCV needs, which maps pixel centres (edge coordinate + 0.5) by index."""
    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    return np.linalg.inv(half) @ transform @ half


def _apply_homography(transform: np.ndarray, obb8: np.ndarray) -> np.ndarray:
    """Map (n, 8) corner lists through a (3, 3) homography. Returns (n, 8) float64."""
    points = obb8.reshape(-1, 2)
    homogeneous = np.column_stack([points, np.ones(len(points))]) @ transform.T
    return (homogeneous[:, :2] / homogeneous[:, 2:]).reshape(-1, 8)


def _light_and_sense(page: np.ndarray, streams: dict, config: ScanConfig, applied: dict) -> np.ndarray:
    """Reflectance x illumination + sensor noise, in float32. Returns a uint8 page of the same shape."""
    on = config.enabled
    h, w = page.shape[:2]
    if "contrast" in on:
        black = _uniform(streams["contrast"], config.black_level)
        white = _uniform(streams["contrast"], config.white_level)
        applied.update(black_level=black, white_level=white)
    else:
        black, white = 0.0, 255.0
    # 0 -> black level, 255 -> white level, converted to float32 in the same pass
    value = cv2.addWeighted(page, (white - black) / 255.0, page, 0.0, black, dtype=cv2.CV_32F)

    gain = _illumination_field((w, h), streams, config, applied)
    if "paper" in on:
        grain = _uniform(streams["paper"], config.paper_grain)
        applied["paper_grain"] = grain
        if grain > 0:
            # Grain is drawn at half resolution, ~2 px across like paper fibres, and the smooth light is folded in
            # there too, so one resize brings both up: a quarter of the random bytes and one full-size pass.
            half = _normal_field(streams["paper"], ((h + 1) // 2, (w + 1) // 2), sigma=grain, mean=1.0)
            if gain is not None:
                half *= cv2.resize(gain, half.shape[::-1], interpolation=cv2.INTER_LINEAR)
            gain = half
    if gain is not None:
        gain = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)
    if value.ndim == 3:
        tint = 0.0
        if "lighting" in on:
            tint = _uniform(streams["lighting"], config.lighting_tint)
            applied["lighting_tint"] = tint
        if gain is not None or tint:
            # one 3-channel multiply; numpy broadcasting of (h, w) over (h, w, 3) is ~4x slower
            rgb_gain = np.array([1.0, 1.0 - tint / 2, 1.0 - tint], dtype=np.float32)  # warm indoor light dims blue
            if gain is None:
                gain = np.broadcast_to(rgb_gain, value.shape)
            else:
                gain = cv2.merge([gain * c for c in rgb_gain])
    if gain is not None:
        cv2.multiply(value, np.ascontiguousarray(gain), dst=value)

    if "noise" in on:
        sigma = _uniform(streams["noise"], config.noise_sigma)
        applied["noise_sigma"] = sigma
        cv2.add(value, _normal_field(streams["noise"], value.shape, sigma=sigma), dst=value)
    np.maximum(value, 0, out=value)
    return cv2.convertScaleAbs(value)  # rounds and saturates at 255; values are >= 0 so its abs() is a no-op


def _normal_field(rng: np.random.Generator, shape: tuple[int, ...], sigma: float, mean: float = 0.0) -> np.ndarray:
    """Normal noise (truncated at +-2.9 sigma) of `shape`, float32: random bytes looked up in the quantile table."""
    return cv2.LUT(rng.integers(0, 256, size=shape, dtype=np.uint8), _NORMAL_LUT * np.float32(sigma) + np.float32(mean))


def _illumination_field(wh: tuple[int, int], streams: dict, config: ScanConfig, applied: dict) -> np.ndarray | None:
    """Multiplicative light at 1/8 resolution: gradient x vignette x shadow x paper mottling.

    Returns (ceil(h/8), ceil(w/8)) float32, or None when none of those effects is on."""
    on = config.enabled
    if not on & {"lighting", "vignette", "shadow", "paper"}:
        return None
    w, h = wh
    ws, hs = -(-w // _FIELD_DOWNSCALE), -(-h // _FIELD_DOWNSCALE)
    # normalised coordinates of each low-res cell centre: x in [0, 1] across the width, y in [0, 1] down the height
    x = ((np.arange(ws, dtype=np.float32) + 0.5) / ws)[None, :]
    y = ((np.arange(hs, dtype=np.float32) + 0.5) / hs)[:, None]
    gain = np.ones((hs, ws), dtype=np.float32)

    if "lighting" in on:
        rng = streams["lighting"]
        drop = _uniform(rng, config.lighting_gradient)
        angle = float(rng.uniform(0, 2 * np.pi))
        applied.update(lighting_gradient=drop, lighting_angle_deg=float(np.rad2deg(angle)))
        along = (x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle)
        reach = 0.5 * (abs(np.cos(angle)) + abs(np.sin(angle)))  # the page corner furthest along the direction
        gain *= 1.0 - drop * (0.5 + 0.5 * along / reach)  # 1 on the lit side, 1 - drop on the far side

    if "vignette" in on:
        rng = streams["vignette"]
        strength = _uniform(rng, config.vignette)
        cx, cy = 0.5 + rng.uniform(-0.1, 0.1), 0.5 + rng.uniform(-0.1, 0.1)  # lens axis rarely hits the page centre
        applied.update(vignette=strength, vignette_centre_xy=(float(cx), float(cy)))
        radius2 = ((x - cx) ** 2 + (y - cy) ** 2) / 0.5  # 1 at the corners of a centred page
        gain *= 1.0 - strength * np.minimum(radius2, 1.5)

    if "shadow" in on:
        rng = streams["shadow"]
        draws = rng.uniform(size=7)  # always the same number of draws, shadow or not
        if draws[0] < config.shadow_probability:
            gain *= _shadow(x, y, draws[1:], (w, h), config, applied)
        else:
            applied["shadow_strength"] = 0.0

    if "paper" in on:
        rng = streams["paper"]
        mottle = _uniform(rng, config.paper_mottle)
        applied["paper_mottle"] = mottle
        if mottle > 0:
            field_ = np.zeros((hs, ws), dtype=np.float32)
            for cell_px, weight in ((400, 0.8), (60, 0.6)):  # blotches ~400 px and ~60 px across
                grid = rng.standard_normal((max(2, h // cell_px) + 1, max(2, w // cell_px) + 1)).astype(np.float32)
                field_ += weight * cv2.resize(grid, (ws, hs), interpolation=cv2.INTER_CUBIC)
            field_ *= mottle / max(float(field_.std()), 1e-6)
            gain *= 1.0 + field_
    return gain


def _shadow(x: np.ndarray, y: np.ndarray, draws: np.ndarray, wh: tuple[int, int], config: ScanConfig,
            applied: dict) -> np.ndarray:
    """A soft-edged ellipse centred just outside one side of the page: the curved edge of a hand or phone shadow.

    x: (1, ws), y: (hs, 1) normalised cell centres; `draws`: 6 uniform [0, 1) numbers.
    Returns (hs, ws) float32, the fraction of light that gets through."""
    w, h = wh
    lo, hi = config.shadow_strength
    strength = lo + (hi - lo) * draws[4]
    lo, hi = config.shadow_softness
    softness = lo + (hi - lo) * draws[5]
    side = ["top", "right", "bottom", "left"][int(draws[0] * 4)]
    applied.update(shadow_strength=float(strength), shadow_side=side, shadow_softness=float(softness))
    # Work in units of the page width on both axes so a round shadow stays round on a tall page.
    tall = h / w
    px, py = x, y * tall
    along = 0.15 + 0.7 * draws[1]  # where along its side the shadow enters
    cx, cy = {"top": (along, -0.1), "right": (1.1, along * tall), "bottom": (along, tall + 0.1),
              "left": (-0.1, along * tall)}[side]
    rx, ry = 0.25 + 0.35 * draws[2], 0.25 + 0.35 * draws[3]  # a bite out of one side, never the whole page
    distance = np.sqrt(((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2)  # 1 on the shadow's edge
    edge = softness * min(w, h) / w / (0.5 * (rx + ry))  # the edge's width, in the same units as `distance`
    inside = np.clip((1.0 + edge / 2 - distance) / edge, 0.0, 1.0)
    inside = inside * inside * (3 - 2 * inside)  # smoothstep: no visible kink where the shadow starts
    return (1.0 - strength * inside).astype(np.float32)


def _jpeg(page: np.ndarray, rng: np.random.Generator, config: ScanConfig, applied: dict) -> np.ndarray:
    quality = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    applied["jpeg_quality"] = quality
    # OpenCV encodes BGR; swapping channels keeps the luma/chroma split (and so the artefacts) right for RGB pages
    bgr = cv2.cvtColor(page, cv2.COLOR_RGB2BGR) if page.ndim == 3 else page
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for a page of shape {page.shape}")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB) if page.ndim == 3 else decoded
