"""`SymbolDetector`: music symbols in a measure image, a page image or a PDF page, with tiled inference.

    detector = SymbolDetector.load("bundled-3.1")            # a registry name, or a .pt/.onnx path
    found = detector.detect("page.png")                      # Detections: xyxy px, class_id, confidence
    found.data["class_name"]                                 # class names, parallel to the boxes
    detector.to_json(found, image_wh)                        # the same as JSON-ready dicts

Tiling: an image larger than the model's tile is cut into tiles of the trained tile size (the model card's
`tile_px`, else the model's imgsz) overlapping by the card's `overlap_px`; all tiles run in batches, and
`merge.merge_tiles` removes the duplicates of the overlaps and joins symbols cut by a seam. An image no larger
than a tile goes through whole (padded), chosen automatically. A tile is resized only when the model was trained
on tiles of another size than its imgsz. Only the page's inked region is tiled (its margins hold no
symbol), and a tile of blank paper inside it is not run.

Scale: a model reads a narrow band of staff spaces around the one it was trained at (the card's
`staff_space_px`). Every input is first resized to it (`omr_core.staff.rescale`): the staff space is measured on
the image (`omr_core.staff.estimate_staff_space`), or given by the caller (`staff_space_px=`, or `scale=` as
ScoreEye's measures carry it), and boxes are mapped back to the caller's pixels exactly. Where no staff is
found the image is read at its native scale and the run says so (`DetectionRun.rescale.describe()`). A PDF
page is rendered again at the dpi that gives the model's staff space (sharper than resizing the pixels).

Memory: the page, one batch of tiles and the model; a 2000x3000 page at batch 8 stays well under 2 GB.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from omr_core.datasets.tiling import tile_grid
from omr_core.inference.backends import decode, model_input, open_backend
from omr_core.formats.images import DEFAULT_DPI, check_array, is_pdf, read_image
from omr_core.inference.merge import MergeRules, merge_tiles
from omr_core.staff.rescale import Rescale, plan_rescale, resize, to_source
from omr_core.staff.space import StaffSpaceEstimate, estimate_staff_space
from omr_core.registry import (  # noqa: F401  (re-exported: callers import them from here)
    BACKENDS,
    BUNDLED_MODELS,
    PREFERENCE,
    ModelRef,
    UntrustedModelError,
    list_registry_models,
    registry_dirs,
    require_trusted,
    resolve_model,
)
from omr_core.structures.boxes import to_page
from omr_core.structures.detections import DEFAULT_CONF, Detections

# DeepScores names of the thin classes the ink finds (either spelling of the ledger line)
THIN_CLASSES = {"stem": "stem", "legerLine": "ledger", "ledgerLine": "ledger", "staff": "staff", "beam": "beam"}
INK_CLASSES = ("stem", "legerLine", "staff", "beam")  # what a detector can add from the ink (`ink_classes`)


def ink_choices(model_classes) -> list[str]:
    """The thin classes the ink can add to a model with these classes (`ink_classes`): those it lacks."""
    known = set(model_classes)
    return [name for name in INK_CLASSES if name not in known]
BLANK_ABOVE = 160  # a tile with no pixel darker than this (in any channel) is blank paper: not run


def ink_region(image: np.ndarray, pad_px: int = 8) -> tuple[int, int, int, int]:
    """The box (x0, y0, x1, y1) around every pixel darker than BLANK_ABOVE, grown by `pad_px`; empty
    (x1 <= x0) for a blank image. Read on every 4th pixel (a symbol is wider than 4 px), then padded."""
    step = 4
    dark = image[::step, ::step].min(axis=2) < BLANK_ABOVE
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    if len(rows) == 0:
        return 0, 0, 0, 0
    height, width = image.shape[:2]
    return (max(0, int(cols[0]) * step - pad_px), max(0, int(rows[0]) * step - pad_px),
            min(width, (int(cols[-1]) + 1) * step + pad_px), min(height, (int(rows[-1]) + 1) * step + pad_px))


@dataclass
class DetectionRun:
    """One detection: the boxes (the caller's pixels), how the image was scaled and cut, and where the time
    went (ms)."""

    detections: Detections
    image_wh: tuple[int, int]  # the caller's image
    tiles_xyxy: np.ndarray  # (k, 4) the tiles, in the caller's pixels
    timings_ms: dict[str, float]
    rescale: Rescale  # what the model saw: size, staff space measured or given, and why
    tiles_run: int  # tiles the model saw: blank ones (no pixel darker than BLANK_ABOVE) are skipped
    staff_space: StaffSpaceEstimate | None = None  # the estimate, where the staff space was measured
    tiles_full: int = 0  # tiles that held more symbols than the model's head or MAX_DET keeps (boxes were lost)

    def summary(self) -> dict:
        """What a JSON output or a page shows of the run besides the boxes."""
        return {"rescale": self.rescale.to_dict(), "tiles": len(self.tiles_xyxy), "tiles_run": self.tiles_run,
                "tiles_full": self.tiles_full,
                "timings_ms": self.timings_ms,
                **({"staff_space": self.staff_space.to_dict()} if self.staff_space is not None else {})}


def model_staff_space(card: dict, workspace=None) -> float | None:
    """The staff space (px) a model's training images had: its card's, else its dataset's (a workspace
    dataset's data.yaml, for cards written before models recorded it), else None (native scale)."""
    if card.get("staff_space_px"):
        return float(card["staff_space_px"])
    if workspace is not None and card.get("data"):
        from omr_core.formats.yolo import read_data_yaml

        try:
            spec = read_data_yaml(Path(workspace.datasets) / str(card["data"]))
        except (FileNotFoundError, ValueError, OSError):
            return None
        if spec.get("staff_space_px"):
            return float(spec["staff_space_px"])
    return None


class SymbolDetector:
    def __init__(self, backend, tile_px: int | None = None, overlap_px: int | None = None, conf: float = DEFAULT_CONF,
                 iou: float = 0.5, batch: int = 8, rules: MergeRules | None = None, card: dict | None = None,
                 skip_blank: bool = True, staff_space_px: float | None = None, rescale: bool = True,
                 thin: str = "ink", ink_classes: tuple[str, ...] = ()):
        """`staff_space_px`: the staff space the model was trained at (default: the card's); `rescale`: resize
        inputs to it (off: every image is read at its own scale); `thin`: "ink" finds the model's thin classes
        (stem, ledger line, staff, beam) from the ink around its noteheads (`omr_core.ink.thin`), "model" keeps
        what the model itself predicts for them; `ink_classes`: thin classes the model does not know, found from
        the ink all the same (ids after the model's own), e.g. ("staff", "legerLine") for a notehead model."""
        if thin not in ("ink", "model"):
            raise ValueError(f"thin must be 'ink' or 'model', but got {thin!r}")
        self.thin = thin
        self.backend = backend
        self.names: dict[int, str] = dict(backend.info.names)
        for name in ink_classes:
            if name not in THIN_CLASSES:
                raise ValueError(f"ink_classes: {name!r} is not found from the ink; expected some of "
                                 f"{', '.join(sorted(THIN_CLASSES))}")
            if thin != "ink":
                raise ValueError(f"ink_classes {list(ink_classes)} need thin='ink', but thin is {thin!r}")
            if name not in self.names.values():
                self.names[max(self.names, default=-1) + 1] = name
        self.imgsz = backend.info.imgsz
        self.tile_px = int(tile_px or self.imgsz)
        self.overlap_px = int(overlap_px if overlap_px is not None else min(self.tile_px // 4, 128))
        if not 0 <= self.overlap_px < self.tile_px:
            raise ValueError(f"need 0 <= overlap_px < tile_px, but got overlap {self.overlap_px}, tile {self.tile_px}")
        self.conf, self.iou, self.batch, self.rules = conf, iou, max(1, int(batch)), rules or MergeRules()
        self.skip_blank = skip_blank
        self.card = card or {}
        # class name -> its own confidence threshold, from the card; a class without one uses `conf`
        self.class_conf: dict[str, float] = dict(self.card.get("class_conf", {}))
        self.staff_space_px = float(staff_space_px) if staff_space_px else model_staff_space(self.card)
        self.rescale = rescale
        self._cut: list[int] = []  # per run: tiles whose head was full (see backends.decode)

    @classmethod
    def load(cls, model: str | Path, workspace=None, backend: str = "auto", trust_pickle: bool = False,
             device: str | None = None, **settings) -> SymbolDetector:
        """`backend`: "onnx", "int8" (the quantised export), "torch" or "auto" (ONNX Runtime when the model has
        an export: ~2x faster on CPU). A `.pt` that neither this workspace trained nor a bundled card records
        is refused unless `trust_pickle` (loading a pickle runs its code; see omr_core.registry)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'auto', 'onnx', 'int8' or 'torch', but got {backend!r}")
        ref = resolve_model(model, workspace, prefer="onnx" if backend == "auto" else backend)
        if backend == "torch" and ref.path.suffix != ".pt":
            raise ValueError(f"{ref.path}: the torch backend runs .pt files; use backend 'onnx' for this one")
        if backend == "onnx" and ref.path.suffix != ".onnx":
            raise FileNotFoundError(f"{ref.path}: no ONNX export beside it; export it first "
                                    f"(python -m omr_core export {model})")
        require_trusted(ref, workspace, consent=trust_pickle)  # before anything unpickles it
        card = ref.card
        settings.setdefault("tile_px", card.get("tile_px"))
        settings.setdefault("overlap_px", card.get("overlap_px"))
        settings.setdefault("staff_space_px", model_staff_space(card, workspace))
        return cls(open_backend(ref.path, device), card=card, **settings)

    @property
    def model_path(self) -> Path:
        return self.backend.path

    # -- inference -----------------------------------------------------------------------------------------

    def run(self, image: np.ndarray | str | Path, page: int = 0, dpi: float = DEFAULT_DPI,
            staff_space_px: float | None = None, scale: float | None = None) -> DetectionRun:
        """Detect symbols in an RGB array, an image file or a PDF page (`page`, 0-based, rendered at `dpi`).

        `staff_space_px`: the input's staff space when the caller knows it (not measured then); `scale`: the
        factor to resize by (new / old), overriding both. Boxes come back in the input's pixels either way."""
        started = time.perf_counter()
        source = Path(image) if isinstance(image, (str, Path)) else None
        image = read_image(source, page, dpi) if source is not None else check_array(image)
        height, width = image.shape[:2]
        loaded = time.perf_counter()
        estimate = None
        if not self.rescale:
            plan = plan_rescale((width, height), None)
            plan = Rescale(plan.image_wh, plan.size_wh, None, self.staff_space_px, "rescaling switched off")
        else:
            if staff_space_px is None and scale is None and self.staff_space_px:
                estimate = estimate_staff_space(image)
            plan = plan_rescale((width, height), self.staff_space_px, estimate, staff_space_px, scale)
        if source is not None and not plan.identity and is_pdf(source):
            # a PDF page is drawn again at the dpi that gives the model's staff space: sharper than resampling
            work = read_image(source, page, dpi * plan.factor)
            plan = replace(plan, size_wh=(work.shape[1], work.shape[0]))
        else:
            work = resize(image, plan)
        scaled = time.perf_counter()
        self._cut = []
        found, tiles, tiles_run, model_s = self._detect(work)
        inferred = time.perf_counter()
        if self.thin == "ink" and self._thin_ids():
            found_on = estimate.scaled(*plan.scale_xy) if estimate is not None else estimate_staff_space(work)
            found = self._ink_thin(work, found, found_on)
        inked = time.perf_counter()
        found.xyxy = np.clip(to_source(found.xyxy, plan), 0, [width, height, width, height])
        found.data["class_name"] = np.array([self.names.get(int(c), str(c)) for c in found.class_id], dtype=object)
        done = time.perf_counter()
        timings = {"load": (loaded - started) * 1e3, "scale": (scaled - loaded) * 1e3, "model": model_s * 1e3,
                   "tiles": (inferred - scaled - model_s) * 1e3, "thin": (inked - inferred) * 1e3,
                   "merge": (done - inked) * 1e3, "total": (done - started) * 1e3}
        return DetectionRun(found, (width, height), to_source(tiles, plan), {k: round(v, 2) for k, v in timings.items()},
                            plan, tiles_run, estimate, len(self._cut))

    def _thin_ids(self) -> dict[str, int]:
        """The model's thin classes the ink finds: kind (stem, ledger, staff, beam) -> class id."""
        ids = {}
        for class_id, name in self.names.items():
            kind = THIN_CLASSES.get(name)
            if kind:
                ids[kind] = int(class_id)
        return ids

    def _ink_thin(self, image: np.ndarray, found: Detections, estimate: StaffSpaceEstimate) -> Detections:
        """The model's stems, ledger lines, staves and beams replaced by the ones the ink holds (see `ink.thin`)."""
        from omr_core.ink.thin import thin_symbols
        from omr_core.staff.lines import find_staves, page_darkness

        ids = self._thin_ids()
        names = np.array([self.names.get(int(c), "") for c in found.class_id], dtype=object)
        heads = np.char.startswith(names.astype(str), "notehead")
        darkness = page_darkness(image)
        staves = find_staves(darkness, estimate) if estimate.found else []
        thin = thin_symbols(darkness, found.xyxy[heads], staves, estimate.staff_space_px)
        head_conf = found.confidence[heads]
        parts = [found[~np.isin(found.class_id, list(ids.values()))]]
        if "stem" in ids and len(thin.stems_xyxy):
            parts.append(Detections(thin.stems_xyxy, np.full(len(thin.stems_xyxy), ids["stem"]),
                                    head_conf[thin.stem_heads] * thin.stem_score))
        if "ledger" in ids and len(thin.ledgers_xyxy):
            parts.append(Detections(thin.ledgers_xyxy, np.full(len(thin.ledgers_xyxy), ids["ledger"]),
                                    head_conf[thin.ledger_heads]))
        if "beam" in ids and len(thin.beams_xyxy):
            parts.append(Detections(thin.beams_xyxy, np.full(len(thin.beams_xyxy), ids["beam"]),
                                    head_conf[thin.beam_heads] * thin.beam_score))
        if "staff" in ids and len(thin.staves_xyxy):
            parts.append(Detections(thin.staves_xyxy, np.full(len(thin.staves_xyxy), ids["staff"]),
                                    np.full(len(thin.staves_xyxy), 0.5 + 0.5 * estimate.confidence)))
        return Detections.merge(parts)

    def _detect(self, image: np.ndarray) -> tuple[Detections, np.ndarray, int, float]:
        """Tiled detection on an image already at the model's scale: the merged boxes (its pixels), the tiles
        (k, 4), how many of them were run (not blank) and the seconds spent in the model."""
        height, width = image.shape[:2]
        # Only the part of the page that holds ink is cut into tiles: margins hold no symbol.
        rx0, ry0, rx1, ry1 = ink_region(image) if self.skip_blank else (0, 0, width, height)
        region_wh = (rx1 - rx0, ry1 - ry0)
        if region_wh[0] <= 0 or region_wh[1] <= 0:
            tiles = np.zeros((0, 4), dtype=np.int64)  # a blank page
        elif region_wh[0] <= self.tile_px and region_wh[1] <= self.tile_px:
            tiles = np.array([[0, 0, *region_wh]], dtype=np.int64)  # small: the whole of it in one pass
        else:
            tiles = tile_grid(region_wh, self.tile_px, self.overlap_px)
        origin = np.array([rx0, ry0, rx0, ry0])
        parts = [Detections.empty(with_confidence=True) for _ in tiles]
        inked = [k for k, (x0, y0, x1, y1) in enumerate(tiles + origin) if not self.skip_blank
                 or image[y0:y1, x0:x1].min() < BLANK_ABOVE]  # a tile of blank paper between systems
        model_s = 0.0
        floor = min([self.conf, *self.class_conf.values()])  # decode down to the lowest per-class threshold
        for first in range(0, len(inked), self.batch):
            chunk = inked[first : first + self.batch]
            batch, scales = self._batch(image, tiles[chunk] + origin)
            t0 = time.perf_counter()
            raw = self.backend(batch)
            model_s += time.perf_counter() - t0
            for k, scale, found in zip(chunk, scales, decode(raw, self.backend.info.end2end, floor, self.iou,
                                                              cut=self._cut)):
                parts[k] = Detections(to_page(found.xyxy, tiles[k, :2], scale), found.class_id, found.confidence)
        merged = merge_tiles(parts, tiles, region_wh, self.rules) if len(tiles) else Detections.empty(True)
        merged.xyxy = merged.xyxy + origin
        if self.class_conf:  # per-class thresholds (an evaluation's F1-optimal ones, set from its suggestions)
            floor = np.array([self.class_conf.get(self.names.get(int(c)), self.conf) for c in merged.class_id])
            merged = merged[merged.confidence >= floor] if len(merged) else merged
        merged.xyxy = np.clip(merged.xyxy, 0, [width, height, width, height])
        return merged, (tiles + origin).astype(np.float64), len(inked), model_s

    def detect(self, image: np.ndarray | str | Path, page: int = 0, dpi: float = DEFAULT_DPI,
               staff_space_px: float | None = None, scale: float | None = None) -> Detections:
        """The boxes of `run`."""
        return self.run(image, page, dpi, staff_space_px, scale).detections

    def _batch(self, image: np.ndarray, tiles: np.ndarray) -> tuple[np.ndarray, list[float]]:
        """Tiles as a (B, 3, S, S) float32 batch, each resized by S/tile when the model's imgsz differs from
        the tile size, and padded at the right and bottom."""
        scales = [self.imgsz / self.tile_px] * len(tiles)  # as in training: Ultralytics resized tiles to imgsz
        crops = [image[y0:y1, x0:x1] for x0, y0, x1, y1 in tiles]
        return model_input(crops, self.imgsz, scales), scales

    # -- output --------------------------------------------------------------------------------------------

    def to_json(self, detections: Detections, image_wh: tuple[int, int], source: str | None = None) -> dict:
        """Detections as a JSON-ready dict: boxes in pixels (xyxy), class name and id, confidence."""
        return {
            "source": source, "image_wh": list(image_wh), "model": self.model_path.name,
            "model_name": self.card.get("name"), "classes": [self.names[i] for i in sorted(self.names)],
            "symbols": detections_json(detections, self.names),
        }

    def run_json(self, run: DetectionRun, source: str | None = None, page: int = 0,
                 detections: Detections | None = None, **extra) -> dict:
        """One page's detection as the JSON `detect` writes and the Inference page downloads: `to_json` of the
        run's boxes (or of `detections`, the ones a user kept), the 1-based page, `extra` fields, and the run's
        summary (scale, tiles, timings)."""
        document = self.to_json(run.detections if detections is None else detections, run.image_wh, source)
        document.update(page=page + 1, **extra, **run.summary())
        return document


def detections_json(detections: Detections, names: dict[int, str]) -> list[dict]:
    conf = detections.confidence if detections.confidence is not None else np.ones(len(detections))
    return [{"xyxy": [round(float(v), 2) for v in box], "class_id": int(c), "class_name": names.get(int(c), str(c)),
             "confidence": round(float(p), 4)} for box, c, p in zip(detections.xyxy, detections.class_id, conf)]
