"""The ScoreEye hand-off: measures in, symbols out, in page coordinates for the MusicXML stage.

ScoreEye cuts each page into measure images and describes them in a `metadata.json`
(schemas/scoreeye_measures.schema.json):

    {"schema": "scoreeye-measures/1",
     "page": {"index": 1, "image": "page-001.png", "width": 2480, "height": 3508},
     "measures": [{"id": "p1-s1-m1", "image": "p1-s1-m1.png", "system": 1, "measure": 1,
                   "page_xyxy": [120, 410, 690, 655], "scale": 1.0}, ...]}

`scale` is measure-image pixels per page pixel (a measure cut at 2x has scale 2; default 1). A point maps as
    page = page_xyxy[:2] + measure / scale          measure = (page - page_xyxy[:2]) * scale
The symbols go back as one JSON (schemas/scoreeye_symbols.schema.json) grouped by page, system and measure, each
box in page pixels and in its measure's pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omr_core.fileio import write_atomic
from omr_core.locations import SCHEMAS
from omr_core.structures.boxes import to_local, to_page
from omr_core.structures.detections import Detections

MEASURES_SCHEMA = SCHEMAS / "scoreeye_measures.schema.json"
SYMBOLS_SCHEMA = SCHEMAS / "scoreeye_symbols.schema.json"


class HandoffError(ValueError):
    pass


@dataclass(frozen=True)
class Measure:
    id: str
    image: str
    system: int
    measure: int
    page_xyxy: tuple[float, float, float, float]
    scale: float = 1.0


@dataclass(frozen=True)
class PageMeasures:
    index: int
    width: int
    height: int
    image: str | None
    measures: tuple[Measure, ...]
    folder: Path  # where the image paths are relative to


def measure_to_page(detections: Detections, measure: Measure) -> Detections:
    """Boxes in a measure image's pixels -> page pixels."""
    return Detections(to_page(detections.xyxy, measure.page_xyxy[:2], measure.scale), detections.class_id,
                      detections.confidence, dict(detections.data))


def page_to_measure(detections: Detections, measure: Measure) -> Detections:
    """Boxes in page pixels -> a measure image's pixels (not clipped: a symbol may reach past its measure)."""
    return Detections(to_local(detections.xyxy, measure.page_xyxy[:2], measure.scale), detections.class_id,
                      detections.confidence, dict(detections.data))


def _validate(document: dict, schema_path: Path, where: str) -> None:
    import jsonschema

    schema = json.loads(schema_path.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise HandoffError(f"{where}: {len(errors)} schema error(s); first at {at}: {first.message}")


def read_measures(path: Path | str) -> PageMeasures:
    """Read and check a ScoreEye metadata.json; errors name the file and the measure."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HandoffError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise HandoffError(f"{path}: not valid JSON: {exc}") from exc
    _validate(document, MEASURES_SCHEMA, str(path))
    page = document["page"]
    measures, seen = [], set()
    for number, item in enumerate(document["measures"], start=1):
        x0, y0, x1, y1 = item["page_xyxy"]
        if not (0 <= x0 < x1 <= page["width"] and 0 <= y0 < y1 <= page["height"]):
            raise HandoffError(f"{path}: measure {number} ({item['id']}): page_xyxy {item['page_xyxy']} is not a box "
                               f"inside the {page['width']}x{page['height']} page")
        if item["id"] in seen:
            raise HandoffError(f"{path}: measure {number}: id {item['id']!r} is used twice")
        seen.add(item["id"])
        measures.append(Measure(item["id"], item["image"], item["system"], item["measure"],
                                (float(x0), float(y0), float(x1), float(y1)), float(item.get("scale", 1.0))))
    return PageMeasures(page["index"], page["width"], page["height"], page.get("image"), tuple(measures), path.parent)


def write_measures(path: Path | str, page: PageMeasures) -> None:
    """The inverse of `read_measures` (for tests and for cutting measures from a page ourselves)."""
    document = {"schema": "scoreeye-measures/1",
                "page": {"index": page.index, "width": page.width, "height": page.height,
                         **({"image": page.image} if page.image else {})},
                "measures": [{"id": m.id, "image": m.image, "system": m.system, "measure": m.measure,
                              "page_xyxy": list(m.page_xyxy), "scale": m.scale} for m in page.measures]}
    _validate(document, MEASURES_SCHEMA, str(path))
    write_atomic(Path(path), json.dumps(document, indent=2))


def symbols_document(pages: list[tuple[PageMeasures, dict[str, Detections]]], names: dict[int, str],
                     model: str) -> dict:
    """The page-level JSON for the MusicXML stage. `pages` pairs each page with its measures' detections
    (measure id -> boxes in that measure image's pixels). Symbols within a measure are left to right."""
    out_pages = []
    for page, found in sorted(pages, key=lambda p: p[0].index):
        systems: dict[int, list[dict]] = {}
        for measure in sorted(page.measures, key=lambda m: (m.system, m.measure)):
            local = found.get(measure.id, Detections.empty(with_confidence=True))
            on_page = measure_to_page(local, measure)
            conf = local.confidence if local.confidence is not None else np.ones(len(local))
            order = np.argsort(on_page.xyxy[:, 0], kind="stable")
            systems.setdefault(measure.system, []).append({
                "id": measure.id, "measure": measure.measure, "page_xyxy": list(measure.page_xyxy),
                "scale": measure.scale,
                "symbols": [{"class_id": int(local.class_id[i]), "class_name": names.get(int(local.class_id[i]), "?"),
                             "confidence": round(float(conf[i]), 4),
                             "xyxy_page": [round(float(v), 2) for v in on_page.xyxy[i]],
                             "xyxy_measure": [round(float(v), 2) for v in local.xyxy[i]]} for i in order],
            })
        out_pages.append({"index": page.index, "image": page.image, "width": page.width, "height": page.height,
                          "systems": [{"system": s, "measures": systems[s]} for s in sorted(systems)]})
    document = {"schema": "scoreeye-symbols/1", "model": model, "classes": [names[i] for i in sorted(names)],
                "pages": out_pages}
    _validate(document, SYMBOLS_SCHEMA, "symbols document")
    return document


def page_staff_space(measure_images: dict[str, np.ndarray], page: PageMeasures) -> float | None:
    """The page's staff space in page pixels, from its measures: each measure image's estimate divided by the
    measure's `scale` (measure px per page px), the median weighted by confidence. One page has one staff
    space, and a measure is small: the page's value, carried back through each `scale`, is surer than any
    measure's own. None when no measure holds a staff that reads."""
    from omr_core.staff import estimate_staff_space
    from omr_core.staff.rescale import MIN_CONFIDENCE

    values, weights = [], []
    for measure in page.measures:
        found = estimate_staff_space(measure_images[measure.id])
        if found.found and found.confidence >= MIN_CONFIDENCE:
            values.append(found.staff_space_px / measure.scale)
            weights.append(found.confidence * found.samples)
    if not values:
        return None
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def detect_measures(detector, metadata_paths: list[Path | str]) -> dict:
    """Run the detector on every measure image of one or more metadata.json files; the page-level JSON.
    Each measure is read at the model's staff space: the page's (`page_staff_space`) times its `scale`."""
    from omr_core.formats.images import read_image

    pages = []
    for path in metadata_paths:
        page = read_measures(path)
        images = {}
        for measure in page.measures:
            image = (page.folder / measure.image).resolve()
            if page.folder.resolve() not in image.parents:
                raise HandoffError(f"{path}: measure {measure.id}: image {measure.image!r} lies outside {page.folder}")
            images[measure.id] = read_image(image)
        space = page_staff_space(images, page)
        found = {measure.id: detector.detect(images[measure.id],
                                             staff_space_px=space * measure.scale if space else None)
                 for measure in page.measures}
        pages.append((page, found))
    return symbols_document(pages, detector.names, detector.model_path.name)
