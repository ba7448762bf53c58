"""An offline DeepScoresV2-format dataset from real scores: music21's corpus engraved by Verovio.

    python -m omr_core generate OUTPUT --pages 60 --fonts Leipzig Bravura --collections bach beethoven

Output: `images/*.png` and `deepscores_train.json` / `deepscores_test.json` in DeepScoresV2's OBB format, so
the converter reads it like the real thing; `generation.jsonl` records every finished or failed piece.

- Pieces are drawn in a seeded order, the corpus's collections taking turns; every k-th piece (the first
  included) goes to test (k = 1 / test_fraction), so a piece and all its pages are in one split, and the
  split of each piece is listed in the JSON's `info`.
- Each piece gets a font (cycling through `fonts`), a scale and a page width (seeded), and gives at most
  `max_pages_per_piece` pages, so a few long scores do not dominate.
- Engraving runs in worker processes. Some corpus files make Verovio's C++ abort, which kills the process:
  the piece is logged as failed and the worker restarted. A piece that takes longer than `timeout_s` too.
- `generation.jsonl` is appended after each piece; an interrupted run started again skips finished pieces.

Not produced (DeepScores classes with no counterpart here): fingering digits (Verovio draws them as text),
grace-note composite classes (grace notes come out as ...Small noteheads, stems and flags), restHNr. The
muscima++ slot of `cat_id` is null.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import time
import zipfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache, partial
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

import numpy as np

from omr_core.config_args import cli, to_args

FONTS = ("Leipzig", "Bravura", "Gootville", "Leland", "Petaluma")
SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
PROGRESS_FILE = "generation.jsonl"
_ENCODING_DECLARATION = re.compile(r"""encoding=["']UTF-?16["']""", re.IGNORECASE)


@dataclass
class GenerateConfig:
    output: str = field(metadata=cli("folder", positional=True))
    n_pages: int = field(default=60, metadata=cli("--pages"))
    # music21 corpus folders ("bach", "beethoven"...); empty: all
    collections: tuple[str, ...] = field(default=(), metadata=cli("--collections",
                                                                  "corpus folders (bach, beethoven...); default all"))
    fonts: tuple[str, ...] = field(default=FONTS, metadata=cli("--fonts", "SMuFL fonts"))
    page_wh: tuple[int, int] = (1960, 2772)  # DeepScoresV2's page size in pixels
    scale_range: tuple[float, float] = (36.0, 44.0)  # Verovio scale %: staff space ~15-18.5 px on this page
    page_width_range: tuple[int, int] = (1900, 2300)  # Verovio page width (1/10 mm): systems reflow differently
    max_pages_per_piece: int = field(default=3, metadata=cli("--pages-per-piece"))
    test_fraction: float = field(default=0.1, metadata=cli("--test-fraction"))
    seed: int = field(default=0, metadata=cli("--seed"))
    workers: int = field(default=2, metadata=cli("--workers"))
    timeout_s: float = 120.0

    def __post_init__(self):
        self.collections, self.fonts = tuple(self.collections), tuple(self.fonts)
        self.page_wh, self.scale_range = tuple(self.page_wh), tuple(self.scale_range)
        self.page_width_range = tuple(self.page_width_range)
        unknown = [f for f in self.fonts if f not in FONTS]
        if unknown or not self.fonts:
            raise ValueError(f"fonts must be some of {FONTS}, but got {list(self.fonts)}")
        if self.n_pages <= 0 or not 0 <= self.test_fraction < 1:
            raise ValueError(f"need n_pages > 0 and 0 <= test_fraction < 1, got {self.n_pages}, {self.test_fraction}")

    def cli_args(self) -> list[str]:
        """The `python -m omr_core generate ...` arguments of this run (for background jobs)."""
        return to_args(self, "generate")


@dataclass(frozen=True)
class Task:
    index: int  # position in the seeded piece order
    piece: str  # corpus path relative to music21's corpus folder
    font: str
    scale: float
    page_width: int
    split: str
    max_pages: int
    page_wh: tuple[int, int]


@lru_cache(maxsize=1)
def corpus_root() -> Path:
    """music21's corpus folder, found without importing music21 (0.4 s in every worker)."""
    import importlib.util

    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("music21 is not installed: its corpus is the generator's source of scores")
    return Path(list(spec.submodule_search_locations)[0]) / "corpus"


def corpus_collections() -> list[str]:
    """The corpus's top-level folders that hold pieces Verovio can read."""
    return sorted({piece.split("/", 1)[0] for piece in list_pieces()})


@lru_cache(maxsize=1)
def _all_pieces() -> tuple[str, ...]:
    root = corpus_root()
    return tuple(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.suffix.lower() in SUFFIXES))


def list_pieces(collections: tuple[str, ...] = ()) -> list[str]:
    """Corpus files Verovio can read, relative to the corpus folder, sorted."""
    pieces = list(_all_pieces())
    if collections:
        known = {p.split("/", 1)[0] for p in pieces}
        missing = [c for c in collections if c not in known]
        if missing:
            raise ValueError(f"unknown corpus collections {missing}; expected some of {sorted(known)}")
        pieces = [p for p in pieces if p.split("/", 1)[0] in collections]
    return pieces


def load_score(path: Path) -> str:
    """A score file as text for Verovio's loadData. Compressed MusicXML is unzipped here, and UTF-16 files
    (42 of the corpus's .mxl) are decoded, because Verovio reads neither."""
    if path.suffix.lower() == ".mxl":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.startswith("META-INF") and n.lower().endswith((".xml", ".musicxml"))]
            container = "META-INF/container.xml"
            if container in archive.namelist():
                rootfile = re.search(rb'full-path="([^"]+)"', archive.read(container))
                names = [rootfile.group(1).decode()] if rootfile else names
            if not names:
                raise ValueError(f"{path}: no MusicXML inside the .mxl archive")
            raw = archive.read(names[0])
    else:
        raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _ENCODING_DECLARATION.sub('encoding="UTF-8"', raw.decode("utf-16"), count=1)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if path.suffix.lower() == ".abc":
        return first_abc_tune(text)
    return text


def first_abc_tune(text: str) -> str:
    """The first tune of an ABC file: Verovio reads one tune, and the corpus's tune books hold hundreds."""
    starts = [m.start() for m in re.finditer(r"(?m)^X:", text)]
    if len(starts) < 2:
        return text[starts[0]:] if starts else text
    return text[starts[0]:starts[1]]


def plan_tasks(config: GenerateConfig, pieces: list[str]) -> list[Task]:
    """Every piece in a seeded order with its font, scale, page width and split."""
    rng = np.random.default_rng(config.seed)
    # Collections take turns (Palestrina and one ABC tune book are 75% of the corpus), each shuffled.
    by_collection: dict[str, list[int]] = {}
    for i, piece in enumerate(pieces):
        by_collection.setdefault(piece.split("/", 1)[0], []).append(i)
    queues = [list(np.array(members)[rng.permutation(len(members))]) for _, members in sorted(by_collection.items())]
    queues = [queues[i] for i in rng.permutation(len(queues))]
    order = []
    while any(queues):
        order += [queue.pop(0) for queue in queues if queue]
    every = int(round(1 / config.test_fraction)) if config.test_fraction > 0 else 0
    tasks = []
    for index, piece_index in enumerate(order):
        draw = np.random.default_rng([config.seed, index])
        tasks.append(Task(
            index=index, piece=pieces[piece_index], font=config.fonts[index % len(config.fonts)],
            scale=round(float(draw.uniform(*config.scale_range)), 1),
            page_width=int(draw.integers(config.page_width_range[0], config.page_width_range[1] + 1)),
            split="test" if every and index % every == 0 else "train",  # the first piece too: small sets get a test split
            max_pages=config.max_pages_per_piece, page_wh=config.page_wh,
        ))
    return tasks


def page_file_name(task: Task, page: int) -> str:
    """`m21-<index>-...`: the converter groups pages by that prefix, so a piece never spans two splits."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", task.piece.rsplit(".", 1)[0]).strip("-")[:60]
    return f"m21-{task.index:05d}-{task.font.lower()}-{slug}-page-{page}.png"


def engraver(font: str, scale: float, page_width: int, page_wh: tuple[int, int], id_seed: int = 1):
    """A Verovio toolkit set up as the generator engraves: the page keeps `page_wh`'s proportions."""
    import verovio

    toolkit = verovio.toolkit()
    toolkit.setOptions({
        "font": font, "scale": scale, "pageWidth": page_width, "pageHeight": int(round(page_width * page_wh[1] / page_wh[0])),
        "adjustPageHeight": False, "breaks": "auto", "footer": "none", "xmlIdSeed": id_seed,
    })
    return toolkit


def engrave_task(task: Task, images: Path) -> list[dict]:
    """Engrave one piece and write its pages; returns one dict per page (file, size, class names, boxes)."""
    import cv2

    from omr_core.rendering.verovio_page import render_svg

    width_px, height_px = task.page_wh
    toolkit = engraver(task.font, task.scale, task.page_width, task.page_wh, task.index + 1)
    if not toolkit.loadData(load_score(corpus_root() / task.piece)):
        raise ValueError(f"Verovio could not read {task.piece}")
    pages = []
    for page in range(1, min(toolkit.getPageCount(), task.max_pages) + 1):
        rendered = render_svg(toolkit.renderToSVG(page), width_px, height_px, task.font)
        name = page_file_name(task, page)
        # RLE suits white pages with runs of ink: a third smaller than the default strategy at the same speed
        png = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
        if not cv2.imwrite(str(images / name), rendered.pixels, png):
            raise OSError(f"{images / name}: could not write the page")
        pages.append({
            "file_name": name, "width": width_px, "height": height_px,
            "staff_space_px": rendered.staff_space_px,
            "classes": [s.class_name for s in rendered.symbols],
            "xyxy": [[round(float(v), 3) for v in s.xyxy] for s in rendered.symbols],
        })
    return pages


# -- worker processes that may die ------------------------------------------------------------------------------

def _worker_main(connection, work: Callable) -> None:
    while True:
        task = connection.recv()
        if task is None:
            return
        try:
            connection.send(("ok", task, work(task)))
        except Exception as exc:  # a Python-level failure: report it, keep the worker
            connection.send(("error", task, f"{type(exc).__name__}: {exc}"))


@dataclass
class _Worker:
    process: multiprocessing.Process
    connection: object
    task: Task | None = None
    started: float = 0.0


def run_isolated(tasks, work: Callable, workers: int, timeout_s: float, on_done: Callable, on_failed: Callable,
                 enough: Callable[[], bool] = lambda: False) -> None:
    """Run `work(task)` for each task in worker processes; a worker that dies or times out fails its task
    (`on_failed(task, reason)`) and is replaced. `work` must be picklable (a module-level function or a
    functools.partial of one). Results go to `on_done(task, result)`; no new task starts once `enough()`."""
    context = multiprocessing.get_context("spawn")  # no fork: Streamlit and pytest run threads

    def start() -> _Worker:
        parent, child = context.Pipe()
        process = context.Process(target=_worker_main, args=(child, work), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    pool = [start() for _ in range(max(1, workers))]
    pending = iter(tasks)
    exhausted = False
    try:
        while True:
            for i, worker in enumerate(pool):
                if worker.task is None and not exhausted and not enough():
                    task = next(pending, None)
                    if task is None:
                        exhausted = True
                        continue
                    worker.task, worker.started = task, time.monotonic()
                    worker.connection.send(task)
            busy = [w for w in pool if w.task is not None]
            if not busy:
                return
            ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            for i, worker in enumerate(pool):
                if worker.task is None:
                    continue
                if worker.connection in ready:
                    try:
                        status, task, payload = worker.connection.recv()
                    except (EOFError, OSError):
                        pass  # it died while answering: treated as dead below
                    else:
                        worker.task = None
                        (on_done if status == "ok" else on_failed)(task, payload)
                        continue
                alive = worker.process.is_alive()
                timed_out = time.monotonic() - worker.started > timeout_s
                if alive and not timed_out:
                    continue
                reason = f"took longer than {timeout_s:g} s" if alive else f"the renderer crashed (exit code {worker.process.exitcode})"
                worker.process.kill()
                worker.process.join(5)
                on_failed(worker.task, reason)
                pool[i] = start()
    finally:
        for worker in pool:
            try:
                worker.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in pool:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()


# -- the run ----------------------------------------------------------------------------------------------------

@dataclass
class GenerationResult:
    output: Path
    pages: int
    pieces: dict[str, list[str]]
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def generate(config: GenerateConfig, progress: Callable[[int, int, str], None] | None = None,
             pieces: list[str] | None = None) -> GenerationResult:
    """Generate (or resume) a dataset; see the module docstring."""
    started = time.perf_counter()
    output = Path(config.output)
    images = output / "images"
    images.mkdir(parents=True, exist_ok=True)
    log_path = output / PROGRESS_FILE
    done, failed = _read_log(log_path)
    pieces = pieces if pieces is not None else list_pieces(config.collections)
    if not pieces:
        raise ValueError("no corpus pieces to engrave")
    tasks = [t for t in plan_tasks(config, pieces) if t.index not in done and t.index not in failed]
    count = lambda: sum(len(entry["pages"]) for entry in done.values())  # noqa: E731

    def on_done(task: Task, pages: list[dict]) -> None:
        entry = {"task": task.index, "piece": task.piece, "font": task.font, "scale": task.scale, "split": task.split,
                 "pages": pages}
        done[task.index] = entry
        _append(log_path, entry)
        if progress:
            progress(min(count(), config.n_pages), config.n_pages, f"{task.piece} ({task.font}, {len(pages)} pages)")

    def on_failed(task: Task, reason: str) -> None:
        entry = {"task": task.index, "piece": task.piece, "font": task.font, "failed": reason}
        failed[task.index] = entry
        _append(log_path, entry)

    run_isolated(tasks, partial(engrave_task, images=images), config.workers, config.timeout_s, on_done, on_failed,
                 lambda: count() >= config.n_pages)
    return _write_dataset(output, config, done, failed, time.perf_counter() - started)


def _read_log(path: Path) -> tuple[dict[int, dict], dict[int, dict]]:
    done, failed = {}, {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by an interruption: that piece is engraved again
            (failed if "failed" in entry else done)[entry["task"]] = entry
    return done, failed


def _append(path: Path, entry: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()


def _write_dataset(output: Path, config: GenerateConfig, done: dict, failed: dict, seconds: float) -> GenerationResult:
    """The first `n_pages` pages in task order become the dataset. Pages past that (the last pieces running
    when the count was reached) stay on disk and in the log, for a later run that asks for more."""
    from omr_core.catalog.deepscores import name_to_id
    from omr_core.formats.deepscores import write_deepscores
    from omr_core.structures.detections import Detections
    from omr_core.structures.record import ImageRecord

    from omr_core.catalog.deepscores import categories
    from omr_core.validation.checks import check_boxes

    ids = name_to_id("deepscores")
    names = {c.id: c.name for c in categories("deepscores").values()}
    records: dict[str, list[ImageRecord]] = {"train": [], "test": []}
    pieces: dict[str, list[str]] = {"train": [], "test": []}
    kept = 0
    fixed: dict[str, int] = {}
    for index in sorted(done):
        entry = done[index]
        for page in entry["pages"]:
            if kept >= config.n_pages:
                continue
            xyxy = np.array(page["xyxy"], dtype=np.float64).reshape(-1, 4)
            det = Detections(xyxy, np.array([ids[c] for c in page["classes"]], dtype=np.int64))
            record = ImageRecord(str(kept + 1), page["file_name"], page["width"], page["height"], det, names)
            # Unisons in two voices are drawn twice on the same spot: one visible symbol, one box. The
            # validation rules run here (the duplicate is dropped) and what they fixed is counted in `info`.
            record, found = check_boxes(record, page["file_name"])
            for problem in found:
                fixed[problem.kind] = fixed.get(problem.kind, 0) + 1
            records[entry["split"]].append(record)
            if entry["piece"] not in pieces[entry["split"]]:
                pieces[entry["split"]].append(entry["piece"])
            kept += 1
    info = {"description": "DeepScoresV2-format pages engraved by Verovio from music21's corpus (omr_core)",
            "version": "2.0", "generator": asdict(config), "pieces": pieces,
            "failed": [failed[i] for i in sorted(failed)], "boxes_fixed": fixed}
    for split, recs in records.items():
        write_deepscores(output / f"deepscores_{split}.json", recs, info=info)
    return GenerationResult(output, kept, pieces, [failed[i] for i in sorted(failed)], round(seconds, 2))
