"""Run a YOLO detector on a batch of square tiles: PyTorch (`.pt`) or ONNX Runtime (`.onnx`), one decode.

Both backends take (B, 3, S, S) float32 RGB in 0..1 and return the head's raw output, which `decode` turns into
boxes; so `.pt` and `.onnx` differ only in arithmetic, and their parity is a property of the numbers.

Head layouts: YOLOv8/11-style heads give (B, 4 + nc, anchors) with boxes as centre x/y, width, height and one
score per class (no objectness); end-to-end heads (YOLOv10/26) give (B, max_det, 6) as x0, y0, x1, y1, score,
class. A `.pt` file is a pickle, i.e. code: the detector loads one only from the registry or with consent.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omr_core.inference.merge import nms
from omr_core.structures.detections import Detections


@dataclass(frozen=True)
class ModelInfo:
    names: dict[int, str]
    imgsz: int
    end2end: bool


PAD_VALUE = 114  # Ultralytics' letterbox grey


def model_input(crops: list[np.ndarray], size: int, scales: list[float]) -> np.ndarray:
    """RGB crops as the model's input: each resized by its scale, then padded at the right and bottom.

    Args:
        crops: B (h, w, 3) uint8 RGB images.
        size: the model's square input side in px.
        scales: B factors (model px per crop px).

    Returns:
        (B, 3, size, size) float32 in 0..1.
    """
    import cv2

    batch = np.full((len(crops), size, size, 3), PAD_VALUE, dtype=np.uint8)
    for i, (crop, scale) in enumerate(zip(crops, scales)):
        if scale != 1.0:
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                              interpolation=cv2.INTER_AREA)
        batch[i, : crop.shape[0], : crop.shape[1]] = crop
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


# Detections kept per image, everywhere: Ultralytics keeps 300 by default, and a DeepScoresV2 page holds ~700
# boxes (a dense tile several hundred). Training-time validation, evaluation and export all use this one.
MAX_DET = 3000


def decode(raw: np.ndarray, end2end: bool, conf: float, iou: float, max_det: int = MAX_DET,
           cut: list | None = None) -> list[Detections]:
    """Boxes in input pixels, per image of the batch, after the confidence threshold and class-aware NMS.
    `raw`: the head's (B, 4 + n_classes, anchors) output (centre x, y, width, height, a score per class), or
    (B, max_det, 6) rows of x0, y0, x1, y1, score, class for an end-to-end head (`end2end`); px of the input.

    `cut`, when given, gets one entry per image that held more symbols than the detector keeps: more than
    `max_det` after NMS, or, for an end-to-end head (a fixed number of outputs, its export's max_det), every
    output slot above `conf` (the head was full and may have left symbols out)."""
    out = []
    for item in raw:
        if end2end:
            keep = item[:, 4] >= conf
            if cut is not None and keep.all():
                cut.append(len(item))
            xyxy, score, cls = item[keep, :4], item[keep, 4], item[keep, 5].astype(np.int64)
        else:
            scores = item[4:]  # (nc, anchors)
            cls = scores.argmax(axis=0)
            score = scores[cls, np.arange(scores.shape[1])]
            keep = np.flatnonzero(score >= conf)
            cls, score = cls[keep], score[keep]
            cx, cy, w, h = item[:4, keep]
            xyxy = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        kept = nms(xyxy.astype(np.float64), score.astype(np.float64), cls, iou)
        if cut is not None and len(kept) > max_det:
            cut.append(len(kept))
        kept = kept[:max_det]
        out.append(Detections(xyxy[kept], cls[kept], score[kept]))
    return out


class TorchBackend:
    """An Ultralytics `.pt` checkpoint, run as a plain torch module (fused, eval, no autograd)."""

    kind = "torch"

    def __init__(self, path: Path, device: str | None = None):
        import torch

        from omr_core.offline import import_ultralytics

        import_ultralytics()
        from ultralytics import YOLO

        self.path = Path(path)
        yolo = YOLO(str(self.path))
        if yolo.task != "detect":
            raise ValueError(f"{path}: expected a detection model, but it is a {yolo.task!r} model")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = yolo.model.float().fuse().eval().to(self.device)
        head = self.model.model[-1]
        imgsz = (getattr(self.model, "args", None) or {}).get("imgsz", 640)
        self.info = ModelInfo({int(k): v for k, v in self.model.names.items()},
                              int(imgsz if isinstance(imgsz, int) else max(imgsz)), bool(getattr(head, "end2end", False)))
        self._torch = torch

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            out = self.model(self._torch.from_numpy(batch).to(self.device))
        out = out[0] if isinstance(out, (list, tuple)) else out
        if isinstance(out, dict):  # end-to-end heads in eval mode
            out = out.get("one2one", next(iter(out.values())))
            out = out[0] if isinstance(out, (list, tuple)) else out
        return out.float().cpu().numpy()


class OnnxBackend:
    """An ONNX export (Ultralytics' format, dynamic batch preferred), run with ONNX Runtime."""

    kind = "onnx"

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for a broken file
            raise ValueError(f"{path}: not a loadable ONNX model ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if "names" not in meta:
            raise ValueError(f"{path}: expected an Ultralytics ONNX export (class names in its metadata), found none")
        imgsz = ast.literal_eval(meta.get("imgsz", "[640, 640]"))
        self.info = ModelInfo({int(k): v for k, v in ast.literal_eval(meta["names"]).items()},
                              int(max(imgsz) if isinstance(imgsz, (list, tuple)) else imgsz),
                              meta.get("end2end", "False") == "True")
        self.input = self.session.get_inputs()[0]
        self.fixed_batch = self.input.shape[0] if isinstance(self.input.shape[0], int) else None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self.fixed_batch in (None, len(batch)):
            return self.session.run(None, {self.input.name: batch})[0]
        # A static-batch export: run it in its own batch size.
        return np.concatenate([self.session.run(None, {self.input.name: batch[i : i + 1]})[0]
                               for i in range(len(batch))])


def open_backend(path: Path, device: str | None = None):
    path = Path(path)
    if path.suffix == ".onnx":
        return OnnxBackend(path)
    if path.suffix == ".pt":
        return TorchBackend(path, device)
    raise ValueError(f"{path}: expected a .pt or .onnx model, but got {path.suffix or 'no suffix'}")
