"""DeepScoresV2 folder -> YOLO dataset, with validation reports.

    python -m omr_core convert SOURCE OUTPUT --class-set 3.1 --tile 640 --overlap 160

Input: a folder with `images/` and `deepscores_train.json` / `deepscores_test.json` (any other `*.json`
there is read as training data). Output: `images/<split>/`, `labels/<split>/`, `data.yaml`,
`conversion.json` (settings and counts), `index.parquet` (one row per box, for the gallery) and `reports/`
(validation JSON + HTML, visual sample HTML).

Rules, in order, for each page:
1. Pages of `deepscores_test.json` go to `test`; the others are split into train/val by page group (a score
   rendered in several fonts is one group), seeded (`split.split_groups`).
2. With `max_pages`, pages are chosen by `scaling.select_pages` (keeps the class mix).
3. A missing or corrupt image drops the page (reported). Box checks (`validation.check_boxes`) drop or clip
   bad boxes (reported).
4. Boxes whose class is outside the chosen class set are left out (counted per class, not a problem).
5. With `staff_space_px`, each page is first resized so that its staff space becomes that value: measured on
   the image by `omr_core.staff.estimate_staff_space` (the same measure the detector uses on what it is given,
   so training and inference agree), else from the page's `staff` boxes; a page with neither is kept at its
   own size and reported. Labels are scaled by the same per-axis factors.
6. With tiling, each page is cut by `tiling.tile_grid` and boxes follow `tiling.CutRule`.

The staff space of the written images (median and range) goes into `data.yaml` (`staff_space_px`,
`staff_space_range_px`) and `conversion.json`, and from there onto the card of every model trained on the set.

Replace, never delete first: the dataset is built beside OUTPUT (`.OUTPUT.building`) and swapped in only once it
is complete (`fileio.staged_folder`'s rules), so a bad source, a full disk or a kill leaves the old set whole;
the half-made folder is removed by the next attempt.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from omr_core.catalog import ANNOTATION_SETS
from omr_core.catalog.class_sets import ClassSet, get_class_set, load_class_sets
from omr_core.config_args import cli, to_args
from omr_core.fileio import recover, staging_path, swap_in, write_atomic
from omr_core.formats.deepscores import DeepScoresReader
from omr_core.formats.yolo import format_labels, write_data_yaml
from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem, ProblemLog
from omr_core.structures.record import ImageRecord

from omr_core.datasets.scaling import class_mix_distance, resolve_max_pages, select_pages
from omr_core.datasets.split import split_groups
from omr_core.datasets.tiling import CutRule, crop_detections, tile_grid

Progress = Callable[[int, int, str], None]  # (done, total, message)


@dataclass
class ConvertConfig:
    """Settings of one conversion; saved in `conversion.json` so a dataset says how it was made."""

    source: str = field(metadata=cli("source", "folder with images/ and deepscores_train.json / deepscores_test.json",
                                     positional=True))
    output: str = field(metadata=cli("output", "new YOLO dataset folder", positional=True))
    annotation_set: str = field(default="deepscores", metadata=cli("--annotation-set", choices=ANNOTATION_SETS))
    class_set: str = field(default="all", metadata=cli("--class-set", "a set of the class-set YAML (3.1 ... 3.4) or 'all'"))
    class_sets_yaml: str | None = field(default=None, metadata=cli("--class-sets-yaml",
                                                                   "class-set YAML (default: omr_core's stages)"))
    # None: whole pages (Ultralytics then resizes them to imgsz)
    tile_px: int | None = field(default=None, metadata=cli("--tile", "tile size in px (e.g. 640 or 1024); default: whole pages"))
    # > the largest common symbol (a clef is ~8 staff spaces = ~140 px)
    overlap_px: int = field(default=160, metadata=cli("--overlap", "tile overlap in px"))
    min_visibility: float = field(default=0.5, metadata=cli("--min-visibility", "tile cut rule: keep a cut box this visible"))
    elongation: float = field(default=4.0, metadata=cli("--elongation",
                                                        "tile cut rule: long side / short side of thin symbols"))
    val_fraction: float = field(default=0.1, metadata=cli("--val-fraction"))
    seed: int = field(default=0, metadata=cli("--seed"))
    max_pages: int | None = field(default=None, metadata=cli(
        "--max-pages", "a page cap keeping the class mix: a number or pilot/development/production", parse=resolve_max_pages))
    # None: keep each page's own
    staff_space_px: float | None = field(default=None, metadata=cli(
        "--staff-space", "resize every page to this staff space in px (measured on each page) before tiling"))
    # annotations without images (DeepScores ships them apart)
    labels_only: bool = field(default=False, metadata=cli("--labels-only", "write labels without images"))
    sample_size: int = field(default=100, metadata=cli("--sample", "images in the visual sample report"))
    overwrite: bool = field(default=False, metadata=cli("--overwrite", "replace a dataset of that name (built beside it, "
                                                                       "swapped in when whole)"))

    def cut_rule(self) -> CutRule:
        return CutRule(self.min_visibility, self.elongation)

    def cli_args(self) -> list[str]:
        """The `python -m omr_core convert ...` arguments that make this same conversion (for background jobs)."""
        return to_args(self, "convert")


@dataclass
class ConversionResult:
    output: Path
    stats: dict
    report_json: Path | None = None
    report_html: Path | None = None
    sample_html: Path | None = None
    problems: ProblemLog = field(default_factory=ProblemLog)


def find_annotation_files(source: Path) -> list[tuple[Path, str | None]]:
    """DeepScores JSON files of a folder with their fixed split: `deepscores_test.json` -> "test"; others
    -> None (to be split into train/val)."""
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: not a folder; expected a DeepScoresV2 folder with images/ and *.json")
    files = sorted(source.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{source}: no *.json annotation file (expected deepscores_train.json / deepscores_test.json)")
    return [(f, "test" if f.stem.endswith("_test") else None) for f in files]


def image_folder(source: Path) -> Path:
    return source / "images" if (source / "images").is_dir() else source


def convert_deepscores(config: ConvertConfig, progress: Progress | None = None) -> ConversionResult:
    """Run a conversion; see the module docstring for the rules."""
    from omr_core.reports import write_validation_report
    from omr_core.validation import (
        DistributionAccumulator,
        build_report,
        check_boxes,
        check_page_image,
        check_yolo_dataset,
        staff_space_px,
    )

    started = time.perf_counter()
    source, final = Path(config.source), Path(config.output)
    files = find_annotation_files(source)
    class_set = get_class_set(config.class_set, load_class_sets(config.class_sets_yaml), config.annotation_set)
    output = _prepare_output(final, config.overwrite)  # the staging folder: `final` is untouched until the swap
    problems = ProblemLog()
    readers = [(DeepScoresReader(path, config.annotation_set, problems), fixed) for path, fixed in files]

    pages = {(str(r.path), page_id): page for r, _ in readers for page_id, page in r.read_pages().items()}
    total_pages = len(pages)
    splits = _assign_splits(readers, config)
    chosen, mix_distance = _choose_pages(readers, class_set, config, progress) if config.max_pages else (None, None)

    yolo_ids: dict[str, int] = {name: i for i, name in enumerate(class_set.names)}
    source_dist, converted_dist = DistributionAccumulator(), DistributionAccumulator()
    writer = _Writer(output, class_set, config)
    outside_set: Counter = Counter()
    spaces = _StaffSpaces(config.staff_space_px)
    done = 0
    for reader, fixed in readers:
        _check_class_set(reader, class_set)
        for record in reader.records():
            done += 1
            if progress:
                progress(done, total_pages, record.file_name)
            if chosen is not None and (str(reader.path), record.image_id) not in chosen:
                continue
            split = fixed or splits[record.group]
            image_path = image_folder(source) / record.file_name
            if not config.labels_only:
                record, problem = check_page_image(record, image_path, str(reader.path))  # boxes fit to the image
                if problem is not None:
                    problems.add(problem)
                if record is None:
                    continue
            record, found = check_boxes(record, str(reader.path))
            problems.extend(found)
            space = staff_space_px(record)  # measured on the page, before the class set drops `staff` boxes
            source_dist.add(record, split, staff_space=space)
            pixels = None
            if config.staff_space_px:
                pixels, record, space = _rescale_page(record, image_path, config, space, problems, spaces)
                if record is None:
                    continue
            elif np.isfinite(space):
                spaces.written.append(space)
            names = record.class_names
            in_set = np.array([n in yolo_ids for n in names], dtype=bool)
            outside_set.update(n for n, keep in zip(names, in_set) if not keep)
            det = record.detections[in_set]
            det = det.with_class_ids(np.array([yolo_ids[n] for n, keep in zip(names, in_set) if keep], dtype=np.int64))
            for written in writer.write(record, det, split, image_path, problems, pixels):
                converted_dist.add(written, split, staff_space=space)

    stats = {
        "pages_in_source": total_pages,
        "pages_written": writer.pages,
        "images_written": writer.images,
        "boxes_written": writer.boxes,
        "boxes_cut_dropped": writer.cut_dropped,
        "per_split_images": dict(writer.per_split),
        "left_out_of_class_set": dict(outside_set.most_common()),
        "class_mix_distance": mix_distance,
        "staff_space": spaces.summary(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    split_names = [s for s in ("train", "val", "test") if writer.per_split.get(s)]
    write_data_yaml(output, list(class_set.names), split_names or ["train"], {
        "class_set": class_set.name,
        "annotation_set": config.annotation_set,
        **spaces.data_yaml(),
        "path": str(final.resolve()),  # where it will be once swapped in
    })
    writer.write_index()
    write_atomic(output / "conversion.json", json.dumps({"config": asdict(config), "stats": stats}, indent=2))
    converted_problems = _named_as(check_yolo_dataset(output), output, final)
    report = build_report(
        dataset=final.name,
        source_problems=problems,
        converted_problems=converted_problems,
        source_distribution=source_dist,
        converted_distribution=converted_dist,
        stage_classes=list(class_set.names),
        settings={**asdict(config), **stats},
    )
    report_json, report_html = write_validation_report(output / "reports", report)
    sample_html = None if config.labels_only else write_sample(output, config.sample_size, config.seed, final.name)
    swap_in(output, final)
    moved = [final / Path(p).relative_to(output) if p else None for p in (report_json, report_html, sample_html)]
    return ConversionResult(final, stats, *moved, problems)


def _named_as(problems: ProblemLog, staging: Path, final: Path) -> ProblemLog:
    """Problems of the staged set, naming the files where they will be once it is swapped in."""
    renamed = ProblemLog(problems.max_listed)
    renamed.counts = problems.counts.copy()
    renamed.problems = [Problem(p.kind, p.file.replace(str(staging), str(final), 1), p.record, p.message, p.action)
                        for p in problems.problems]
    return renamed


def write_sample(dataset: Path, n: int = 100, seed: int = 0, name: str | None = None) -> Path | None:
    """The visual sample report of a converted set: `n` seeded random images with their boxes. `name`: the
    set's name in the title (default: its folder's)."""
    from omr_core.datasets.index import DatasetIndex
    from omr_core.reports import SampleItem, pick_sample, write_sample_report

    index = DatasetIndex.open(dataset)
    images = index.images()
    if not images:
        return None
    items = []
    for i in pick_sample(len(images), n, seed):
        image = images[i]
        items.append(SampleItem(dataset / image, index.detections(image), index.names, image))
    return write_sample_report(items, dataset / "reports" / "sample.html", f"{name or dataset.name}: {len(items)} random images")


class _Writer:
    """Writes pages (or their tiles) and labels, and keeps the box index and counts."""

    def __init__(self, output: Path, class_set: ClassSet, config: ConvertConfig):
        self.output, self.class_set, self.config = output, class_set, config
        self.pages = self.images = self.boxes = self.cut_dropped = 0
        self.per_split: Counter = Counter()
        self._index: list[dict[str, np.ndarray]] = []
        self._stems: dict[str, str] = {}  # file stem -> the image written under it

    def write(self, record: ImageRecord, det: Detections, split: str, image_path: Path, problems: ProblemLog,
              pixels: np.ndarray | None = None):
        """Write one page (`pixels`: the page already read and resized; else it is read from `image_path`, or
        linked when it is written whole); yields the written images as records in YOLO ids (for the distribution). A page
        whose file stem an earlier page had (a.png and a.jpg, or one file under two ids) is dropped: its files
        would overwrite the earlier page's."""
        stem = Path(record.file_name).stem
        if stem in self._stems:
            problems.add(Problem("duplicate_file_stem", record.meta.get("source", ""), f"image {record.image_id}",
                                 f"{record.file_name} has the file stem {stem!r} of image {self._stems[stem]}, "
                                 f"already written; expected one image per stem", "dropped"))
            return
        self._stems[stem] = record.image_id
        self.pages += 1
        if self.config.tile_px:
            pieces = self._tiles(record, det, image_path, problems, pixels)
        else:
            pieces = [(stem, pixels, det, (record.width, record.height))]
        for name, pixels, tile_det, wh in pieces:
            image_rel = Path("images") / split / (name + (".png" if pixels is not None else image_path.suffix))
            if not self.config.labels_only:
                target = self.output / image_rel
                _write_image(target, pixels, image_path)
            (self.output / "labels" / split / (name + ".txt")).write_text(format_labels(tile_det, wh))
            self.images += 1
            self.boxes += len(tile_det)
            self.per_split[split] += 1
            self._add_index(str(image_rel), split, tile_det, wh)
            yield ImageRecord(name, str(image_rel), wh[0], wh[1], tile_det, dict(enumerate(self.class_set.names)),
                              record.group, {**record.meta})

    def _tiles(self, record: ImageRecord, det: Detections, image_path: Path, problems: ProblemLog,
               pixels: np.ndarray | None = None):
        if pixels is not None:
            record_wh = (pixels.shape[1], pixels.shape[0])
        elif not self.config.labels_only:
            pixels = _read_bgr(image_path)
            if pixels is None:
                problems.add(Problem("corrupt_image", str(image_path), f"image {record.image_id}", "cannot be decoded", "dropped"))
                return []
            record_wh = (pixels.shape[1], pixels.shape[0])
        else:
            record_wh = (record.width, record.height)
        stem = Path(record.file_name).stem
        rule = self.config.cut_rule()
        for x0, y0, x1, y1 in tile_grid(record_wh, self.config.tile_px, self.config.overlap_px).tolist():
            tile_det, dropped = crop_detections(det, np.array([x0, y0, x1, y1]), rule)
            self.cut_dropped += dropped
            crop = None if pixels is None else pixels[y0:y1, x0:x1]
            yield f"{stem}__x{x0}_y{y0}", crop, tile_det, (x1 - x0, y1 - y0)

    def _add_index(self, image: str, split: str, det: Detections, wh: tuple[int, int]) -> None:
        n = len(det)
        self._index.append({
            "image": np.full(max(n, 1), image, dtype=object),
            "split": np.full(max(n, 1), split, dtype=object),
            "image_w": np.full(max(n, 1), wh[0], dtype=np.int32),
            "image_h": np.full(max(n, 1), wh[1], dtype=np.int32),
            # an image without boxes keeps one row with class_id -1, so the index lists every image
            "class_id": det.class_id if n else np.array([-1]),
            "x0": det.xyxy[:, 0] if n else np.array([np.nan]),
            "y0": det.xyxy[:, 1] if n else np.array([np.nan]),
            "x1": det.xyxy[:, 2] if n else np.array([np.nan]),
            "y1": det.xyxy[:, 3] if n else np.array([np.nan]),
        })

    def write_index(self) -> None:
        from omr_core.datasets.index import write_index

        write_index(self.output, self._index, list(self.class_set.names))


def _read_bgr(path: Path):
    """An image as a person sees it (EXIF turn, transparency on white, 16-bit, palette), in OpenCV's BGR; None
    when it cannot be decoded."""
    import cv2

    from omr_core.formats.images import ImageInputError, is_plain_image, read_image

    try:
        if is_plain_image(path):  # 8-bit grey or RGB, upright, opaque: OpenCV reads it as it is (grey stays grey)
            return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return np.ascontiguousarray(read_image(path)[:, :, ::-1])
    except (ImageInputError, OSError, ValueError):
        return None


class _StaffSpaces:
    """The staff spaces of the pages a conversion writes, and how each rescaled page's was found."""

    def __init__(self, target_px: float | None):
        self.target_px = target_px
        self.measured: list[float] = []  # the source pages' own, when rescaling
        self.written: list[float] = []  # the written pages'
        self.how: Counter = Counter()

    def summary(self) -> dict:
        def spread(values):
            return {"median": round(float(np.median(values)), 3), "min": round(float(min(values)), 3),
                    "max": round(float(max(values)), 3), "pages": len(values)} if values else None

        return {"target_px": self.target_px, "source_pages_px": spread(self.measured),
                "written_px": spread(self.written), "measured_by": dict(self.how)}

    def data_yaml(self) -> dict:
        if not self.written:
            return {}
        return {"staff_space_px": round(float(np.median(self.written)), 3),
                "staff_space_range_px": [round(float(min(self.written)), 3), round(float(max(self.written)), 3)]}


def page_staff_space(pixels: np.ndarray | None, boxes_px: float) -> tuple[float | None, str]:
    """A page's staff space (px) and how it was found: the image's own estimate (what the detector will
    measure on its inputs), else the page's `staff` boxes (their height is four spaces and a line; a line is
    about a tenth of a space, hence / 4.1), else None."""
    from omr_core.staff import estimate_staff_space
    from omr_core.staff.rescale import MIN_CONFIDENCE

    if pixels is not None:
        found = estimate_staff_space(pixels if pixels.dtype == np.uint8 else (pixels >> 8).astype(np.uint8))
        if found.found and found.confidence >= MIN_CONFIDENCE:
            return found.staff_space_px, "image"
    if np.isfinite(boxes_px):
        return boxes_px * 4 / 4.1, "staff boxes"
    return None, "none"


def _rescale_page(record: ImageRecord, image_path: Path, config: ConvertConfig, boxes_px: float,
                  problems: ProblemLog, spaces: _StaffSpaces):
    """The page resized to `config.staff_space_px`: (pixels or None, record with scaled boxes, its staff space).
    (None, None, nan) when the image cannot be read (reported)."""
    from dataclasses import replace

    from omr_core.staff.rescale import plan_rescale, resize, to_target

    pixels = None
    if not config.labels_only:
        pixels = _read_bgr(image_path)
        if pixels is None:
            problems.add(Problem("corrupt_image", str(image_path), f"image {record.image_id}", "cannot be decoded", "dropped"))
            return None, None, float("nan")
    wh = (pixels.shape[1], pixels.shape[0]) if pixels is not None else (record.width, record.height)
    measured, how = page_staff_space(pixels, boxes_px)
    spaces.how[how] += 1
    if measured is None:
        problems.add(Problem("no_staff_space", str(image_path), f"image {record.image_id}",
                             f"a staff space to resize to {config.staff_space_px} px, but no staff was found on the "
                             "image and the page has no staff boxes", "kept at its own size"))
        return pixels, record, float("nan")
    plan = plan_rescale(wh, config.staff_space_px, staff_space_px=measured, within=0.0)
    spaces.measured.append(measured)
    spaces.written.append(float(config.staff_space_px))
    det = record.detections
    data = dict(det.data)
    if data.get("obb8") is not None:
        sx, sy = plan.scale_xy
        data["obb8"] = np.asarray(data["obb8"], dtype=np.float64) * np.array([sx, sy] * 4)
    scaled = Detections(to_target(det.xyxy, plan), det.class_id, det.confidence, data)
    record = replace(record, width=plan.size_wh[0], height=plan.size_wh[1], detections=scaled,
                     meta={**record.meta, "rescale": plan.to_dict()})
    return (resize(pixels, plan) if pixels is not None else None), record, float(config.staff_space_px)


def _write_image(target: Path, pixels, source_path: Path) -> None:
    import cv2

    if pixels is None:
        from omr_core.formats.images import is_plain_image

        if is_plain_image(source_path):  # what any reader sees as it is: linked, not copied
            try:
                os.link(source_path, target)  # same file system: no copy of a 300 GB dataset
            except OSError:
                shutil.copy2(source_path, target)
            return
        pixels = _read_bgr(source_path)  # turned, on white, 8-bit: as Ultralytics must see it too
    options = [cv2.IMWRITE_JPEG_QUALITY, 95] if target.suffix.lower() in (".jpg", ".jpeg") else \
        [cv2.IMWRITE_PNG_COMPRESSION, 1] if target.suffix.lower() == ".png" else []
    if pixels is None or not cv2.imwrite(str(target), pixels, options):
        raise OSError(f"{target}: could not write the image")


def _prepare_output(output: Path, overwrite: bool) -> Path:
    """The staging folder beside `output` where the new set is built (the old one stays until `swap_in`)."""
    recover(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        if not overwrite:
            raise FileExistsError(f"{output}: exists and is not empty; choose another name or pass overwrite=True")
        if not (output / "data.yaml").is_file() and not (output / "conversion.json").is_file():
            raise FileExistsError(f"{output}: not a converted dataset (no data.yaml); refusing to replace it")
    staging = staging_path(output)
    if staging.exists():
        shutil.rmtree(staging)  # what a failed or killed attempt left
    for split in ("train", "val", "test"):
        (staging / "images" / split).mkdir(parents=True, exist_ok=True)
        (staging / "labels" / split).mkdir(parents=True, exist_ok=True)
    return staging


def _assign_splits(readers, config: ConvertConfig) -> dict[str, str]:
    groups = [page_group for reader, fixed in readers if fixed is None for page_group in _groups(reader)]
    return split_groups(groups, config.val_fraction, config.seed)


def _groups(reader: DeepScoresReader) -> list[str]:
    from omr_core.formats.deepscores import page_group

    return [page_group(page.file_name) for page in reader.pages.values()]


def _choose_pages(readers, class_set: ClassSet, config: ConvertConfig, progress: Progress | None):
    """A first full pass counts the set's classes per page, then `select_pages` keeps the class mix.

    Returns the chosen (json path, image id) pairs and the class-mix distance (`class_mix_distance`)."""
    wanted = set(class_set.names)
    page_classes: dict = {}
    for reader, _ in readers:
        scout = DeepScoresReader(reader.path, config.annotation_set)
        for record in scout.records():
            page_classes[(str(reader.path), record.image_id)] = Counter(n for n in record.class_names if n in wanted)
            if progress:
                progress(len(page_classes), 0, f"counting classes: {record.file_name}")
    keyed = {f"{k[0]}\0{k[1]}": v for k, v in page_classes.items()}
    chosen = select_pages(keyed, config.max_pages, config.seed)
    return {tuple(k.split("\0", 1)) for k in chosen}, round(class_mix_distance(keyed, chosen), 4)


def _check_class_set(reader: DeepScoresReader, class_set: ClassSet) -> None:
    if not reader.categories:
        return
    present = set(reader.categories.values())
    missing = [n for n in class_set.names if n not in present]
    if missing:
        raise ValueError(
            f"{reader.path}: class set {class_set.name!r} names classes that the {reader.annotation_set} set does "
            f"not have: {missing}; choose 'all' or a set of {reader.annotation_set} names"
        )
