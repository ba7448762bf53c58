"""DeepScoresV2 OBB JSON: a streaming reader (any file size, bounded memory) and a writer.

The format (obb_anns): a top-level object with `info`, `annotation_sets` (["deepscores", "muscima++"]),
`categories` ({id: {name, annotation_set, color}}), `images` ([{id, filename, width, height, ann_ids}]) and
`annotations` ({id: {a_bbox: [x0, y0, x1, y1], o_bbox: [8 corner coords], cat_id: [one per set, may be null],
area, img_id, comments}}).

A record is emitted as soon as all the `ann_ids` of its image have been read, so memory stays bounded when the
annotations come grouped by image (as DeepScoresV2 ships them); they are still read correctly when not.
Bad records are reported (`ProblemLog`) with file, id and byte/line position, and reading goes on past them:
- a record holding bytes that are not UTF-8 (in any string, key or value) is dropped; a category whose name or
  id is not UTF-8 is dropped from the categories, the others kept;
- an image id listed twice drops both pages (their annotations cannot be told apart);
- a page whose annotations were not all read (a truncated file, ann_ids with no annotation) is dropped, not
  kept as a page with part of its boxes (its unlabelled symbols would be taught as background).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections import defaultdict, deque
from concurrent.futures import ProcessPoolExecutor
from itertools import chain, repeat
from operator import attrgetter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

import msgspec
import numpy as np

from omr_core.catalog.deepscores import ANNOTATION_SETS, all_categories, check_annotation_set
from omr_core.formats.json_stream import Batch, JsonStreamError, Member, position, stream_members
from omr_core.structures.boxes import BoxMode, convert
from omr_core.structures.detections import Detections
from omr_core.structures.problems import Problem, ProblemLog
from omr_core.structures.record import ImageRecord

_Id = Union[str, int]
PARALLEL_MIN_BYTES = 64 << 20  # below this, starting worker processes costs more than it saves


class _Annotation(msgspec.Struct):
    a_bbox: tuple[float, float, float, float]
    cat_id: list[Optional[_Id]]
    img_id: _Id
    o_bbox: Optional[tuple[float, float, float, float, float, float, float, float]] = None


class _Image(msgspec.Struct):
    id: _Id
    filename: str
    width: float
    height: float
    ann_ids: list[_Id] = []


class _Category(msgspec.Struct):
    name: str
    annotation_set: str = "deepscores"


_A_BBOX, _O_BBOX, _CAT_ID, _IMG_ID = (attrgetter(f) for f in ("a_bbox", "o_bbox", "cat_id", "img_id"))
_ANNOTATIONS = msgspec.json.Decoder(dict[str, _Annotation])
_IMAGES = msgspec.json.Decoder(list[_Image])
_CATEGORIES = msgspec.json.Decoder(dict[str, _Category])
_BYTE_IN_ERROR = re.compile(r"\(byte (\d+)\)|char (\d+)")
_KEY = re.compile(rb'^\s*"((?:[^"\\]|\\.)*)"')
_SCORE_ID = re.compile(r"^(lg-\d+)")
_IMG_ID_TEXT = re.compile(rb'"img_id"\s*:\s*"?([A-Za-z0-9_.-]+)"?')


def page_group(file_name: str) -> str:
    """Pages that must share a split: DeepScoresV2 renders one score (`lg-<number>`) in several fonts and
    augmentations, so its pages group by that prefix; other names group by themselves."""
    stem = Path(file_name).stem
    match = _SCORE_ID.match(stem)
    return match.group(1) if match else stem


@dataclass
class _Page:
    image_id: str
    file_name: str
    width: int
    height: int
    expected: int  # len(ann_ids)
    seen: int = 0
    emitted: bool = False
    dropped: bool = False  # its id was listed twice


class DeepScoresReader:
    """Reads one DeepScoresV2 JSON file into `ImageRecord`s.

    Example:
        reader = DeepScoresReader("deepscores_train.json")
        for record in reader.records():
            ...
        print(reader.problems.to_dict())
    """

    def __init__(self, json_path: Path | str, annotation_set: str = "deepscores", problems: ProblemLog | None = None,
                 workers: int | None = None):
        """`workers`: processes that decode annotation batches; None = both cores for files over 64 MiB."""
        check_annotation_set(annotation_set)
        self.path = Path(json_path)
        self.annotation_set = annotation_set
        self.problems = problems if problems is not None else ProblemLog()
        self.annotation_sets: list[str] = list(ANNOTATION_SETS)
        self.categories: dict[int, str] = {}  # ids of the chosen set -> name
        self.info: dict = {}
        self.pages: dict[str, _Page] = {}
        self.annotations_read = 0
        self._pending: dict[str, list[Detections]] = defaultdict(list)
        self._lookup: dict[_Id, int] = {}
        self._page_index: dict[_Id, int] = {}  # image id (as str and as int) -> ordinal in _page_list
        self._page_list: list[_Page] = []
        self._set_index = 0
        if workers is None:
            big = self.path.is_file() and self.path.stat().st_size > PARALLEL_MIN_BYTES
            workers = min(2, os.cpu_count() or 1) if big else 0
        self.workers = workers

    def _problem(self, kind: str, record: str, message: str, action: str) -> None:
        self.problems.add(Problem(kind, str(self.path), record, message, action))

    # -- reading -------------------------------------------------------------------------------------------

    def read_pages(self) -> dict[str, _Page]:
        """Read only the header and the image list; annotations are skipped at scan speed (~0.5 GB/s).

        Problems are left for `records()` to report, so a broken file is reported once."""
        problems, self.problems = self.problems, ProblemLog()
        self._forget_pages()
        try:
            for item in stream_members(self.path, {"images"}, {"info", "annotation_sets", "categories"}):
                self._read_header(item) if isinstance(item, Member) else self._read_images(item)
        except JsonStreamError:
            pass
        finally:
            self.problems = problems
        return dict(self.pages)

    def records(self) -> Iterator[ImageRecord]:
        """Yield every page with its annotations of the chosen set (pages without annotations included)."""
        header = {"info", "annotation_sets", "categories"}
        self._forget_pages()
        try:
            batches = self._header_and_images(stream_members(self.path, {"images", "annotations"}, header))
            if batches is None:  # annotations come before images: read images first, then annotations again
                self._forget_pages()
                for item in stream_members(self.path, {"images"}, header):
                    self._read_header(item) if isinstance(item, Member) else self._read_images(item)
                batches = stream_members(self.path, {"annotations"}, set())
            if not self.categories:
                self._problem("missing_categories", "categories", "no categories before annotations: using the "
                              "built-in DeepScoresV2 catalogue", "kept")
                self._set_categories(None)
            for decoded in self._decode_all(batches):
                yield from self._group(decoded)
        except JsonStreamError as exc:
            self._problem("malformed_json", "file", str(exc), "stopped")
        yield from self._flush()

    def _header_and_images(self, items: Iterator[Batch | Member]) -> Iterator[Batch] | None:
        """Read the header and images; return the annotation batches that follow (None if they came first)."""
        images_done = False
        for item in items:
            if isinstance(item, Member):
                self._read_header(item)
            elif item.member == "images":
                self._read_images(item)
                images_done = images_done or item.final
            elif images_done:
                return chain([item], items)
            else:
                items.close()
                return None
        return iter(())

    def _decoder(self) -> "_AnnotationDecoder":
        return _AnnotationDecoder(str(self.path), self.annotation_set, self._set_index, self._lookup, self._page_index)

    def _decode_all(self, batches: Iterable[Batch]) -> Iterator["_Decoded"]:
        """Decoded batches in file order; with workers, decoding runs in other processes while this one reads."""
        decoder = self._decoder()
        if self.workers <= 1:
            yield from map(decoder, batches)
            return
        context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded process (Streamlit, tests)
        with ProcessPoolExecutor(self.workers, context, initializer=_set_worker_decoder, initargs=(decoder,)) as pool:
            in_flight: deque = deque()
            try:
                for batch in batches:
                    # workers read the bytes from the file themselves: only offsets cross the pipe
                    ref = (batch.member, batch.offset, len(batch.text), batch.element_spans, batch.final)
                    in_flight.append(pool.submit(_decode_in_worker, ref))
                    if len(in_flight) > 2 * self.workers:
                        yield in_flight.popleft().result()
            finally:  # a truncated file stops the batches: what was already sent is still delivered
                while in_flight:
                    yield in_flight.popleft().result()

    def _forget_pages(self) -> None:
        self.pages.clear()
        self._page_list.clear()
        self._page_index.clear()
        self._pending.clear()

    def _read_header(self, member: Member) -> None:
        try:
            if member.member == "categories":
                try:
                    cats = _CATEGORIES.decode(member.text)
                except UnicodeDecodeError:
                    cats = self._utf8_categories(member)
                self._set_categories({k: (v.name, v.annotation_set) for k, v in cats.items()})
            elif member.member == "annotation_sets":
                self.annotation_sets = msgspec.json.decode(member.text, type=list[str])
                self._set_categories(None)
            else:
                self.info = msgspec.json.decode(member.text)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            where = position(self.path, member.offset + _error_byte(exc))
            self._problem("malformed_json", member.member, f"{exc} near {where}", "skipped")
        except UnicodeDecodeError as exc:
            where = position(self.path, member.offset + exc.start)
            self._problem("not_utf8", member.member, f"bytes that are not UTF-8 ({exc.object[exc.start:exc.start + 4]!r}) "
                          f"at {where}", "skipped")

    def _utf8_categories(self, member: Member) -> dict[str, _Category]:
        """The categories whose id and name are UTF-8; each other one reported and left out."""
        raw = json.loads(member.text.decode("utf-8", "surrogateescape"))
        kept = {}
        for key, value in raw.items():
            name = value.get("name", "") if isinstance(value, dict) else ""
            if _has_bad_bytes(key) or _has_bad_bytes(json.dumps(value, ensure_ascii=False)):
                shown = key.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                self._problem("not_utf8", f"category {shown}", f"id or name {name.encode('utf-8', 'surrogateescape')!r} "
                              f"holds bytes that are not UTF-8", "dropped")
                continue
            kept[key] = value
        return msgspec.convert(kept, dict[str, _Category])

    def _set_categories(self, cats: dict[str, tuple[str, str]] | None) -> None:
        if self.annotation_set not in self.annotation_sets:
            raise ValueError(
                f"{self.path}: annotation set {self.annotation_set!r} is not in this file's sets {self.annotation_sets}"
            )
        self._set_index = self.annotation_sets.index(self.annotation_set)
        if cats is None:
            if self.categories:
                return
            cats = {str(c.id): (c.name, c.annotation_set) for c in all_categories()}
        self.categories = {}
        for key, (name, annotation_set) in cats.items():
            if annotation_set == self.annotation_set and key.lstrip("-").isdigit():
                self.categories[int(key)] = name
        self._lookup = {**{str(i): i for i in self.categories}, **{i: i for i in self.categories}}

    def _read_images(self, batch: Batch) -> None:
        found: list[Problem] = []
        images = _decode_batch(batch, _IMAGES, "[", "]", "image", str(self.path), found)
        self.problems.extend(found)
        for image in images:
            image_id = str(image.id)
            page = _Page(image_id, image.filename, int(round(image.width)), int(round(image.height)), len(image.ann_ids))
            if image_id in self._page_index:  # listed twice: which annotations belong to which is unknowable
                first = self._page_list[self._page_index[image_id]]
                if not first.dropped:
                    first.dropped = True
                    self.pages.pop(image_id, None)
                self._problem("duplicate_image_id", f"image {image_id}", f"listed twice ({first.file_name} and "
                              f"{image.filename}); expected one image per id: both pages and their annotations "
                              f"dropped", "dropped")
                continue
            self.pages[image_id] = page
            self._page_index[image_id] = len(self._page_list)
            if image_id.lstrip("-").isdigit():
                self._page_index[int(image_id)] = len(self._page_list)  # img_id may be written as a number
            self._page_list.append(page)

    def _group(self, decoded: "_Decoded") -> Iterator[ImageRecord]:
        """File a decoded batch under its pages; emit each page whose annotations are all read."""
        self.problems.extend(decoded.problems)
        self.annotations_read += decoded.n_read
        for ordinal in decoded.dropped_pages:  # dropped records still count as read for their page
            self._page_list[ordinal].seen += 1
        order = np.argsort(decoded.page_index, kind="stable")
        ordinals, starts, counts = np.unique(decoded.page_index[order], return_index=True, return_counts=True)
        for ordinal, start, count in zip(ordinals.tolist(), starts.tolist(), counts.tolist()):
            if ordinal < 0:
                continue
            page = self._page_list[ordinal]
            page.seen += count
            if page.dropped:
                continue
            rows = order[start : start + count]
            rows = rows[decoded.keep[rows]]
            if len(rows):
                self._pending[page.image_id].append(Detections(
                    decoded.xyxy[rows], decoded.class_id[rows], data={"ann_id": decoded.ids[rows], "obb8": decoded.obb8[rows]}
                ))
            if page.seen >= page.expected and not page.emitted:
                yield self._emit(page)

    def _emit(self, page: _Page) -> ImageRecord:
        page.emitted = True
        parts = self._pending.pop(page.image_id, [])
        detections = Detections.merge(parts) if parts else Detections(
            np.zeros((0, 4)), np.zeros(0, np.int64), data={"ann_id": np.zeros(0, dtype="<U1"), "obb8": np.zeros((0, 8))}
        )
        return ImageRecord(
            image_id=page.image_id,
            file_name=page.file_name,
            width=page.width,
            height=page.height,
            detections=detections,
            categories=self.categories,
            group=page_group(page.file_name),
            meta={"source": str(self.path)},
        )

    def _flush(self) -> Iterator[ImageRecord]:
        for page in self.pages.values():
            if page.emitted or page.dropped:
                continue
            if page.seen < page.expected:
                self._pending.pop(page.image_id, None)
                self._problem(
                    "missing_annotations",
                    f"image {page.image_id}",
                    f"lists {page.expected} ann_ids but {page.seen} annotations of it were read; a page with "
                    f"part of its boxes would teach its unlabelled symbols as background",
                    "dropped",
                )
                continue
            yield self._emit(page)


@dataclass
class _Decoded:
    """One batch of annotations as arrays (n rows); built where it is decoded, filed by the reader."""

    ids: np.ndarray  # (n,) str annotation ids
    xyxy: np.ndarray  # (n, 4) float64
    obb8: np.ndarray  # (n, 8) float64
    class_id: np.ndarray  # (n,) int64 ids of the chosen set (unknown numbers kept for validation)
    keep: np.ndarray  # (n,) bool: has a usable class in the chosen set
    page_index: np.ndarray  # (n,) int64 ordinal of the page; -1 for an unknown img_id
    problems: list[Problem]
    dropped_pages: list[int]  # page ordinals of records dropped as malformed
    n_read: int


@dataclass
class _AnnotationDecoder:
    """Everything needed to turn a batch of annotation text into arrays; picklable, so it runs in workers."""

    path: str
    annotation_set: str
    set_index: int
    lookup: dict  # cat_id as str and as int -> id of the chosen set
    page_index: dict  # img_id as str and as int -> page ordinal

    def __call__(self, batch: Batch) -> _Decoded:
        problems: list[Problem] = []
        dropped: list = []
        decoded = _decode_batch(batch, _ANNOTATIONS, "{", "}", "annotation", self.path, problems, dropped)
        ids = np.array(list(decoded), dtype=str)
        anns = list(decoded.values())
        n = len(anns)
        # fromiter over chained tuples builds the arrays ~2x faster than np.array on a list of tuples
        xyxy = np.fromiter(chain.from_iterable(map(_A_BBOX, anns)), np.float64, 4 * n).reshape(n, 4)
        obbs = list(map(_O_BBOX, anns))
        if None in obbs:
            obbs = [o or tuple(convert(xyxy[i : i + 1], BoxMode.XYXY, BoxMode.OBB8)[0]) for i, o in enumerate(obbs)]
        obb8 = np.fromiter(chain.from_iterable(obbs), np.float64, 8 * n).reshape(n, 8)
        k = self.set_index
        cats = [c[k] if len(c) > k else None for c in map(_CAT_ID, anns)]
        class_id = np.fromiter(map(self.lookup.get, cats, repeat(-1, n)), np.int64, n)
        keep = class_id >= 0
        for i in np.flatnonzero(~keep):
            keep[i], class_id[i] = self._odd_category(str(ids[i]), cats[i], problems)
        page_index = np.fromiter(map(self.page_index.get, map(_IMG_ID, anns), repeat(-1, n)), np.int64, n)
        for i in np.flatnonzero(page_index < 0):
            problems.append(Problem("unknown_image", self.path, f"annotation {ids[i]}",
                                    f"img_id {anns[i].img_id!r} is not in 'images'", "dropped"))
        dropped_pages = [self.page_index[i] for i in dropped if i in self.page_index]
        return _Decoded(ids, xyxy, obb8, class_id, keep, page_index, problems, dropped_pages, n + len(dropped))

    def _odd_category(self, ann_id: str, cat, problems: list[Problem]) -> tuple[bool, int]:
        """A cat_id entry that is not a known id of the chosen set: null, an unknown number, or garbage."""
        if cat is None:
            problems.append(Problem("no_class_in_set", self.path, f"annotation {ann_id}",
                                    f"no class in the {self.annotation_set} set", "skipped"))
            return False, -1
        if str(cat).lstrip("-").isdigit():
            return True, int(cat)  # kept: validation reports unknown ids (and drops them) with the other checks
        problems.append(Problem("bad_category", self.path, f"annotation {ann_id}",
                                f"cat_id must be an integer id, but got {cat!r}", "dropped"))
        return False, -1


_WORKER: dict = {}  # a worker process's decoder and open file


def _set_worker_decoder(decoder: _AnnotationDecoder) -> None:
    _WORKER["decoder"] = decoder
    _WORKER["file"] = open(decoder.path, "rb")  # noqa: SIM115 - lives as long as the worker process


def _decode_in_worker(ref: tuple) -> _Decoded:
    member, offset, length, spans, final = ref
    f = _WORKER["file"]
    f.seek(offset)
    return _WORKER["decoder"](Batch(member, f.read(length), spans, offset, final))


def _decode_batch(batch: Batch, decoder: msgspec.json.Decoder, open_: str, close: str, what: str, path: str,
                  problems: list[Problem], dropped_img_ids: list | None = None):
    """Decode a batch at C speed; if that fails, element by element, so only the bad ones are lost.

    A dropped element's img_id (when it can be read) goes to `dropped_img_ids`."""
    try:
        return decoder.decode(open_.encode() + batch.text + close.encode())
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        pass
    good = {} if open_ == "{" else []
    for start, end in batch.element_spans.tolist():
        element = batch.text[start:end]
        try:
            value = decoder.decode(open_.encode() + element + close.encode())
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            value = _decode_leniently(element, decoder, open_, close, exc, batch.offset + start - 1, what, path,
                                      problems, dropped_img_ids)
        if value:
            good.update(value) if isinstance(good, dict) else good.extend(value)
    return good


def _decode_leniently(element: bytes, decoder, open_: str, close: str, error: Exception, offset: int, what: str,
                      path: str, problems: list[Problem], dropped_img_ids: list | None):
    """Second chance with Python's json (accepts NaN/Infinity, which validation then reports)."""
    key = _KEY.match(element)
    name = f"{what} {key.group(1).decode('utf-8', 'replace')}" if key and open_ == "{" else f"{what} at byte {offset + 1}"
    try:
        raw = json.loads((open_ + element.decode("utf-8") + close))
    except UnicodeDecodeError as exc:  # names the bytes and where; the page still counts the record as read
        where = position(Path(path), offset + 1 + exc.start)
        if open_ == "[":
            name = _image_name(element, name)
        problems.append(Problem("not_utf8", path, name, f"bytes that are not UTF-8 "
                                f"({element[exc.start:exc.start + 4]!r}) at {where}", "dropped"))
        _note_dropped_image(element, open_, close, dropped_img_ids)
        return None
    except json.JSONDecodeError as exc:
        where = position(Path(path), offset + exc.pos)
        problems.append(Problem("malformed_json", path, name, f"not valid JSON: {exc.msg} at {where}", "dropped"))
        _note_dropped_image(element, open_, close, dropped_img_ids)
        return None
    try:
        return msgspec.convert(raw, decoder.type)
    except msgspec.ValidationError as exc:
        where = position(Path(path), offset + _error_byte(error))
        problems.append(Problem("malformed_record", path, name, f"{exc} (record at {where})", "dropped"))
        if dropped_img_ids is not None and isinstance(raw, dict):
            for value in raw.values():
                if isinstance(value, dict) and value.get("img_id") is not None:
                    dropped_img_ids.append(str(value["img_id"]))
    return None


def _has_bad_bytes(text: str) -> bool:
    """Whether a string decoded with surrogateescape held bytes that are not UTF-8."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _image_name(element: bytes, fallback: str) -> str:
    """ "image <id>" of an image record that is not UTF-8, where its id is readable."""
    try:
        raw = json.loads(element.decode("utf-8", "surrogateescape"))
    except json.JSONDecodeError:
        return fallback
    image_id = raw.get("id") if isinstance(raw, dict) else None
    return f"image {image_id}" if image_id is not None and not _has_bad_bytes(str(image_id)) else fallback


def _note_dropped_image(element: bytes, open_: str, close: str, dropped_img_ids: list | None) -> None:
    """The img_id of an annotation dropped for its bytes, so its page still counts it as read."""
    if dropped_img_ids is None:
        return
    try:
        raw = json.loads(open_ + element.decode("utf-8", "surrogateescape") + close)
    except json.JSONDecodeError:  # unreadable as JSON: its img_id as written, when it can be found
        found = _IMG_ID_TEXT.search(element)
        if found:
            dropped_img_ids.append(found.group(1).decode("utf-8", "replace"))
        return
    for value in raw.values() if isinstance(raw, dict) else []:
        if isinstance(value, dict) and value.get("img_id") is not None and not _has_bad_bytes(str(value["img_id"])):
            dropped_img_ids.append(str(value["img_id"]))


def _error_byte(exc: Exception) -> int:
    match = _BYTE_IN_ERROR.search(str(exc))
    return int(next(g for g in match.groups() if g)) if match else 0


def read_deepscores(
    json_path: Path | str, annotation_set: str = "deepscores", problems: ProblemLog | None = None
) -> list[ImageRecord]:
    """Read a whole (small) file into memory; use `DeepScoresReader.records()` to stream big ones."""
    return list(DeepScoresReader(json_path, annotation_set, problems).records())


def write_deepscores(
    json_path: Path | str,
    records: Iterable[ImageRecord],
    info: dict | None = None,
    annotation_set: str = "deepscores",
) -> None:
    """Write records in DeepScoresV2's OBB format with both annotation sets' categories.

    Records carry ids of `annotation_set`; the other set's `cat_id` slot is null (we do not invent a mapping).
    An `obb8` data array, when present, is written as `o_bbox`; otherwise the axis-aligned corners are.
    """
    check_annotation_set(annotation_set)
    k = ANNOTATION_SETS.index(annotation_set)
    images, annotations, next_id = [], {}, 1
    for record in records:
        det = record.detections
        obb8 = det.data.get("obb8")
        obb8 = obb8 if obb8 is not None else convert(det.xyxy, BoxMode.XYXY, BoxMode.OBB8)
        ann_ids = []
        for i in range(len(det)):
            cat_id: list = [None, None]
            cat_id[k] = str(int(det.class_id[i]))
            x0, y0, x1, y1 = (float(v) for v in det.xyxy[i])
            annotations[str(next_id)] = {
                "a_bbox": [x0, y0, x1, y1],
                "o_bbox": [float(v) for v in obb8[i]],
                "cat_id": cat_id,
                "area": int(round((x1 - x0) * (y1 - y0))),
                "img_id": str(record.image_id),
                "comments": "",
            }
            ann_ids.append(str(next_id))
            next_id += 1
        images.append(
            {"id": record.image_id, "filename": record.file_name, "width": record.width, "height": record.height,
             "ann_ids": ann_ids}
        )
    document = {
        "info": info or {"description": "written by omr_core", "version": "2.0"},
        "annotation_sets": list(ANNOTATION_SETS),
        "categories": {
            str(c.id): {"name": c.name, "annotation_set": c.annotation_set, "color": c.id} for c in all_categories()
        },
        "images": images,
        "annotations": annotations,
    }
    path = Path(json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(msgspec.json.encode(document))
    tmp.replace(path)
