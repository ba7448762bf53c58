"""ONNX export of a registered model, with a parity check against its `.pt`, and INT8 only where it costs
no more than one mAP point.

`export_onnx` makes best.onnx from best.pt (Ultralytics' exporter: dynamic batch, simplified), runs both
through the `SymbolDetector` on sample images and compares the detections box by box: every box of one must
have a same-class box in the other with IoU >= `min_iou` and confidence within `max_conf_diff`. Boxes whose
confidence lies within `max_conf_diff` of the threshold may fall on either side and are not counted. The
result goes on the model card (`onnx`). The export is made in a scratch folder and replaces best.onnx only when
its parity passed, so a failed export (or a kill) never costs the folder the export it had.

`quantize_int8` makes best.int8.onnx with ONNX Runtime's static QDQ quantisation, calibrated on tiles of the
model's own validation images (each image brought to the model's staff space and cut into the model's tiles, as
the detector cuts its inputs), measures mAP50-95 of both ONNX files on the validation split and the time of a
batch of tiles on this machine, and keeps the INT8 file only when it loses at most `max_drop` (0.01: one point)
and is faster; the numbers go on the card (`int8`) either way. It is made aside and moved into place only when
kept (a kill mid-way leaves the folder as it was); a measured refusal removes the folder's INT8 file, which the
card then says is not offered.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from omr_core.registry import file_hashes, read_card, require_trusted, write_card
from omr_core.structures.boxes import box_iou
from omr_core.structures.detections import DEFAULT_CONF, Detections


@dataclass(frozen=True)
class Parity:
    images: int
    boxes_pt: int
    boxes_onnx: int
    unmatched: int  # boxes (away from the threshold) with no counterpart in the other model's output
    min_iou: float  # worst IoU among matched boxes
    max_conf_diff: float
    passed: bool


def compare(a: Detections, b: Detections, conf: float, min_iou: float = 0.95,
            max_conf_diff: float = 0.02) -> tuple[int, float, float]:
    """Unmatched boxes (both ways, ignoring those near the threshold), worst matched IoU, largest conf gap."""
    unmatched, worst_iou, worst_conf = 0, 1.0, 0.0
    for x, y in ((a, b), (b, a)):
        if len(x) == 0:
            continue
        iou = box_iou(x.xyxy, y.xyxy) if len(y) else np.zeros((len(x), 0))
        iou = np.where(x.class_id[:, None] == y.class_id[None, :], iou, 0.0)
        best = iou.argmax(axis=1) if iou.shape[1] else np.zeros(len(x), dtype=int)
        best_iou = iou.max(axis=1) if iou.shape[1] else np.zeros(len(x))
        clear = x.confidence >= conf + max_conf_diff  # near the threshold the other model may fall below it
        matched = best_iou >= min_iou
        unmatched += int((clear & ~matched).sum())
        if matched.any():
            worst_iou = min(worst_iou, float(best_iou[matched].min()))
            worst_conf = max(worst_conf, float(np.abs(x.confidence[matched] - y.confidence[best[matched]]).max()))
    return unmatched, worst_iou, worst_conf


def _model_files(model_dir: Path, name: str, missing: str) -> tuple[Path, Path, dict]:
    """A registry folder's model file (which must exist), its card's path, and the card ({} when none)."""
    path = Path(model_dir).resolve() / name  # absolute: the quantiser works in a folder of its own
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {missing}")
    card_path = path.parent / "card.json"
    return path, card_path, read_card(card_path) if card_path.is_file() else {}


def _put_on_card(model_dir: Path, card: dict, key: str, entry: dict, file_name: str) -> None:
    """The export's entry on the card, and the file's hash where the card records its files."""
    if not card:
        return
    card[key] = entry
    if "files" in card:
        files = {k: v for k, v in card["files"].items() if k != file_name}
        card["files"] = {**files, **file_hashes(model_dir, (file_name,))}
    write_card(model_dir, card)


def export_onnx(model_dir: Path, images: list, conf: float = DEFAULT_CONF, min_iou: float = 0.95,
                max_conf_diff: float = 0.02, workspace=None, trust_pickle: bool = False) -> dict:
    """Export `model_dir/best.pt` to best.onnx and check parity on `images` (arrays or paths); the card's
    `onnx` entry is returned (and written when the folder has a card). Only a passed parity puts the file in
    place. The .pt must be trusted (omr_core.registry) or `trust_pickle` given."""
    from omr_core.offline import import_ultralytics

    weights, card_path, card = _model_files(model_dir, "best.pt", "no weights to export")
    require_trusted(weights, workspace, consent=trust_pickle)
    model_dir = weights.parent
    import_ultralytics()
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".export-") as scratch:
        staged = Path(scratch) / "best.pt"  # the exporter writes beside its input: not over the folder's best.onnx
        shutil.copyfile(weights, staged)
        started = time.perf_counter()
        imgsz = int(card.get("imgsz") or 640)
        from omr_core.inference.backends import MAX_DET

        # an end-to-end head exports a fixed number of outputs (max_det): as many as the detector keeps
        exported = Path(YOLO(str(staged)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, max_det=MAX_DET))
        seconds = time.perf_counter() - started
        entry = _parity_entry(weights, exported, card, images, conf, min_iou, max_conf_diff, imgsz, seconds)
        onnx_path = model_dir / "best.onnx"
        kept_before = onnx_path.is_file()
        if entry["parity"]["passed"]:
            os.replace(exported, onnx_path)
    # a failed export keeps the folder's earlier best.onnx (made from the same best.pt) and its card entry
    _put_on_card(model_dir, card, "onnx" if entry["parity"]["passed"] or not kept_before else "onnx_rejected",
                 entry, onnx_path.name)
    return entry


def _parity_entry(weights: Path, exported: Path, card: dict, images: list, conf: float, min_iou: float,
                  max_conf_diff: float, imgsz: int, seconds: float) -> dict:
    from omr_core.inference.detector import SymbolDetector

    settings = {"tile_px": card.get("tile_px"), "overlap_px": card.get("overlap_px"), "conf": conf}
    torch_det = SymbolDetector.load(weights, backend="torch", trust_pickle=True, **settings)  # checked by the caller
    onnx_det = SymbolDetector.load(exported, backend="onnx", **settings)
    totals = np.zeros(3, dtype=int)
    worst_iou, worst_conf = 1.0, 0.0
    for image in images:
        a, b = torch_det.detect(image), onnx_det.detect(image)
        unmatched, iou, gap = compare(a, b, conf, min_iou, max_conf_diff)
        totals += [len(a), len(b), unmatched]
        worst_iou, worst_conf = min(worst_iou, iou), max(worst_conf, gap)
    parity = Parity(len(images), int(totals[0]), int(totals[1]), int(totals[2]), round(worst_iou, 4),
                    round(worst_conf, 4), bool(totals[2] == 0 and worst_conf <= max_conf_diff))
    return {"file": "best.onnx", "imgsz": imgsz, "export_s": round(seconds, 1), "parity": asdict(parity),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def sample_tiles(data_yaml: Path, split: str, n: int, imgsz: int, card: dict | None = None) -> np.ndarray:
    """Up to `n` model inputs (n, 3, imgsz, imgsz) float32 from a YOLO split, made as the detector makes them:
    each image resized to the model's staff space (the dataset's recorded one, else measured), cut into the
    card's tiles, and the tiles that hold ink letterboxed to imgsz."""
    from omr_core.datasets.tiling import tile_grid
    from omr_core.formats.yolo import list_images, read_data_yaml, split_folder
    from omr_core.inference.backends import model_input
    from omr_core.inference.detector import BLANK_ABOVE, model_staff_space
    from omr_core.formats.images import read_image
    from omr_core.staff import estimate_staff_space
    from omr_core.staff.rescale import plan_rescale, resize

    card = card or {}
    spec = read_data_yaml(Path(data_yaml).parent)
    folder = split_folder(Path(data_yaml).parent, split, spec)
    files = list_images(folder)
    if not files:
        raise FileNotFoundError(f"{folder}: no images to calibrate with")
    tile_px = int(card.get("tile_px") or imgsz)
    overlap_px = int(card.get("overlap_px") or 0)
    target = model_staff_space(card)
    crops = []
    for path in files:
        image = read_image(path)
        known = spec.get("staff_space_px")
        plan = plan_rescale((image.shape[1], image.shape[0]), target, None if known else estimate_staff_space(image),
                            staff_space_px=known)
        image = resize(image, plan)
        for x0, y0, x1, y1 in tile_grid((image.shape[1], image.shape[0]), tile_px, overlap_px).tolist():
            crop = image[y0:y1, x0:x1]
            if crop.min() < BLANK_ABOVE:
                crops.append(crop)
        if len(crops) >= n:
            break
    crops = crops[:n]
    if not crops:
        raise FileNotFoundError(f"{folder}: no image holds ink to calibrate with")
    return model_input(crops, imgsz, [imgsz / tile_px] * len(crops))


def batch_ms(model_path: Path, batch: np.ndarray, repeats: int = 3) -> float:
    """Median milliseconds ONNX Runtime takes for `batch` on this machine (after one warm-up run)."""
    from omr_core.inference.backends import OnnxBackend

    backend = OnnxBackend(model_path)
    backend(batch)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        backend(batch)
        times.append((time.perf_counter() - started) * 1e3)
    return float(np.median(times))


def quantize_int8(model_dir: Path, data_yaml: Path, split: str = "val", calibration_images: int = 32,
                  max_drop: float = 0.01, require_faster: bool = True) -> dict:
    """INT8 best.int8.onnx from best.onnx, kept only if mAP50-95 drops by at most `max_drop` and (with
    `require_faster`) a batch of tiles runs faster than in FP32 on this machine (both measured)."""
    from onnxruntime.quantization import CalibrationDataReader

    source, card_path, card = _model_files(model_dir, "best.onnx", "export to ONNX first")
    model_dir = source.parent
    imgsz = int(card.get("imgsz") or 640)
    tiles = sample_tiles(data_yaml, split, calibration_images, imgsz, card)

    class Tiles(CalibrationDataReader):
        def __init__(self):
            self.items = iter(tiles[i : i + 1] for i in range(len(tiles)))

        def get_next(self):
            item = next(self.items, None)
            return None if item is None else {"images": item}

    final = model_dir / "best.int8.onnx"
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".int8-") as scratch:
        entry = _quantize_and_measure(source, Path(scratch), Tiles, data_yaml, split, imgsz, max_drop,
                                      tiles[: min(8, len(tiles))], require_faster)
        if entry["offered"]:
            os.replace(Path(scratch) / final.name, final)  # only a kept INT8 file replaces the folder's
        else:
            final.unlink(missing_ok=True)  # measured and refused: an older file would contradict the card
    _put_on_card(model_dir, card, "int8", entry, final.name)
    return entry


def _quantize_and_measure(source: Path, scratch: Path, tiles_reader, data_yaml: Path, split: str, imgsz: int,
                          max_drop: float, timed: np.ndarray, require_faster: bool) -> dict:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from omr_core.offline import import_ultralytics

    prepared, target = scratch / "best.prep.onnx", scratch / "best.int8.onnx"
    started = time.perf_counter()
    with contextlib.chdir(scratch):  # both leave files in the cwd
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        # Convolutions only: the head's last concat puts box coordinates (0-640) and class scores (0-1) in
        # one tensor, and one 8-bit scale for both wipes the scores out
        quantize_static(str(prepared), str(target), tiles_reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
    seconds = time.perf_counter() - started

    import_ultralytics()
    from ultralytics import YOLO

    def map50_95(path: Path) -> float:
        from omr_core.inference.backends import MAX_DET

        metrics = YOLO(str(path), task="detect").val(data=str(data_yaml), split=split, imgsz=imgsz, batch=1, max_det=MAX_DET,
                                                    workers=0, plots=False, verbose=False)
        return float(metrics.box.map)

    fp32, int8 = map50_95(source), map50_95(target)
    fp32_ms, int8_ms = batch_ms(source, timed), batch_ms(target, timed)
    return {"file": target.name, "mAP50-95_fp32": round(fp32, 4), "mAP50-95_int8": round(int8, 4),
            "drop": round(fp32 - int8, 4), "max_drop": max_drop,
            "batch_ms_fp32": round(fp32_ms, 1), "batch_ms_int8": round(int8_ms, 1), "batch_tiles": len(timed),
            "offered": fp32 - int8 <= max_drop and (int8_ms < fp32_ms or not require_faster),
            "why": _int8_verdict(fp32 - int8, max_drop, int8_ms, fp32_ms, require_faster),
            "split": split, "quantize_s": round(seconds, 1), "size_mb": round(target.stat().st_size / 2**20, 2)}


def _int8_verdict(drop: float, max_drop: float, int8_ms: float, fp32_ms: float, require_faster: bool) -> str:
    reasons = []
    if drop > max_drop:
        reasons.append(f"it loses {drop:.4f} mAP50-95 (at most {max_drop} allowed)")
    if require_faster and int8_ms >= fp32_ms:
        reasons.append(f"it is not faster here ({int8_ms:.0f} ms against {fp32_ms:.0f} ms for a batch of tiles)")
    return "not kept: " + " and ".join(reasons) if reasons else "kept: within the allowed drop" + (
        " and faster" if require_faster else "")


def parity_images(ws, card: dict, n: int = 4) -> list[Path]:
    """Images to compare `.pt` and `.onnx` on: whole pages of the model's own data where the workspace has
    them (so tiling and merging are part of the check), else its validation tiles, else any workspace source."""
    candidates: list[Path] = []
    dataset = ws.dataset(card["data"]) if card.get("data") else None
    if dataset is not None and (dataset / "conversion.json").is_file():
        source = Path(json.loads((dataset / "conversion.json").read_text())["config"]["source"])
        candidates = sorted((source / "images").glob("*.png"))
    if not candidates and dataset is not None:
        candidates = sorted((dataset / "images" / "val").glob("*.png"))
    if not candidates:
        candidates = sorted(p for s in ws.list_sources() for p in (ws.source(s) / "images").glob("*.png"))
    if not candidates:
        raise FileNotFoundError(f"no images in {ws.root} to check ONNX parity on: make the default workspace first")
    step = max(1, len(candidates) // n)
    return candidates[::step][:n]
