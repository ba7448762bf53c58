"""Evaluate a model on a split of a YOLO dataset and store everything the failure analysis needs.

    evaluate(detector, dataset, "val", out)   ->  out/summary.json  (metrics, per class, confusion, OMR metrics)
                                                   out/boxes.parquet (one row per judged box, see below)

An image that cannot be read (its size, or its pixels for the detector) is skipped with its ground truth, and
listed in summary.json `skipped` with the reason; a model that predicts nothing gets zeros, not an error.
Both files are written atomically (a page reading them mid-write sees the old evaluation or the new one).

Predictions come from the `SymbolDetector` (tiled where the images are pages), each image read at the model's
staff space: the dataset's own (`staff_space_px` of its data.yaml) where it records one, else measured on each
image; `summary["rescale"]` says which, and how many images were read at their native scale. mAP uses every prediction at or
above `ap_conf` (0.01); verdicts, P/R/F1 and the confusion matrix use `conf`. Ground-truth classes the model
does not know are left out and counted. boxes.parquet has, per prediction at or above `conf` and per
ground-truth box: kind (pred/gt), image (file name), class, confidence, iou, verdict, other (the confused class),
x0, y0, x1, y1, w, h and size (sqrt of the area, px).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np

from omr_core.evaluation.matching import THRESHOLDS, Flat, average_precision, flatten, map_summary, match
from omr_core.evaluation.omr_metrics import note_completeness, vertical_alignment
from omr_core.evaluation.verdicts import FALSE, confusion_matrix, judge, per_class_table
from omr_core.fileio import write_atomic
from omr_core.structures.detections import DEFAULT_CONF, Detections


def dataset_staff_space(dataset: Path) -> float | None:
    """The staff space (px) a converted dataset's images have, as its data.yaml records it, or None."""
    from omr_core.formats.yolo import read_data_yaml

    value = read_data_yaml(Path(dataset)).get("staff_space_px")
    return float(value) if value else None


def read_split(dataset: Path, split: str, skipped: list | None = None) -> tuple[list[Path], list[Detections], dict[int, str]]:
    """A YOLO split's images, their ground truth in pixels, and the dataset's class names. An image whose size
    cannot be read is left out and listed in `skipped` ({image, reason})."""
    from omr_core.formats.yolo import label_path_for, list_images, parse_labels, read_data_yaml, split_folder
    from omr_core.formats.images import ImageInputError, image_size_wh

    spec = read_data_yaml(dataset)
    names = {int(k): v for k, v in spec["names"].items()}
    folder = split_folder(dataset, split, spec)
    if not folder.is_dir():
        raise FileNotFoundError(f"{dataset}: no {split} split (expected images in {folder})")
    images, truths = [], []
    for image in list_images(folder):
        try:
            wh = image_size_wh(image)
        except ImageInputError as exc:
            if skipped is not None:
                skipped.append({"image": image.name, "reason": str(exc)})
            continue
        labels = label_path_for(image)
        text = labels.read_bytes().decode("utf-8", "replace") if labels.is_file() else ""
        images.append(image)
        truths.append(parse_labels(text, wh, str(labels))[0])
    return images, truths, names


def evaluate(detector, dataset: Path, split: str, out: Path, conf: float = DEFAULT_CONF, iou: float = 0.5,
             ap_conf: float = 0.01, progress=None) -> dict:
    from omr_core.formats.images import ImageInputError

    started = time.perf_counter()
    skipped: list[dict] = []
    images, truths, data_names = read_split(Path(dataset), split, skipped)
    model_ids = {name: i for i, name in detector.names.items()}
    n_classes = max(detector.names) + 1
    kept_truths, left_out = [], {}
    for truth in truths:
        names = [data_names.get(int(c), str(c)) for c in truth.class_id]
        known = np.array([n in model_ids for n in names], dtype=bool)
        for n in np.array(names, dtype=object)[~known]:
            left_out[n] = left_out.get(n, 0) + 1
        kept_truths.append(Detections(truth.xyxy[known], [model_ids[n] for n, k in zip(names, known) if k]))
    saved_conf = detector.conf
    detector.conf = min(ap_conf, conf)
    predictions, readable = [], []
    known_space = dataset_staff_space(Path(dataset))
    sources, factors = {}, []
    try:
        for number, image in enumerate(images, start=1):
            try:
                run = detector.run(image, staff_space_px=known_space)
                predictions.append(run.detections)
                readable.append(number - 1)
            except ImageInputError as exc:  # counted and named; the other images are still evaluated
                skipped.append({"image": image.name, "reason": str(exc)})
                continue
            source = run.rescale.source.split(" (")[0]
            sources[source] = sources.get(source, 0) + 1
            factors.append(run.rescale.factor)
            if progress:
                progress(number, len(images), image.name)
    finally:
        detector.conf = saved_conf
    images = [images[i] for i in readable]
    kept_truths = [kept_truths[i] for i in readable]
    gt, pred = flatten(kept_truths), flatten([Detections(p.xyxy, p.class_id, p.confidence) for p in predictions])
    if pred.confidence is None:
        pred = Flat(pred.image, pred.xyxy, pred.class_id, np.zeros(len(pred.image)))
    inferred = time.perf_counter()
    class_names = [detector.names.get(i, str(i)) for i in range(n_classes)]
    summary, boxes = summarise(gt, pred, class_names, [p.name for p in images], conf, iou)
    summary.update({"dataset": str(dataset), "split": split, "model": str(detector.model_path),
                    "model_name": detector.card.get("name"), "ap_conf": ap_conf, "gt_left_out": left_out,
                    "skipped": skipped,
                    "rescale": {"model_staff_space_px": detector.staff_space_px, "dataset_staff_space_px": known_space,
                                "images_by_source": sources,
                                "images_at_native_scale": int(sum(abs(f - 1) < 1e-9 for f in factors)),
                                "median_factor": round(float(np.median(factors)), 4) if factors else None},
                    "seconds": {"inference": round(inferred - started, 2),
                                "metrics": round(time.perf_counter() - inferred, 2)}})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = io.BytesIO()
    boxes.to_parquet(table, index=False)
    write_atomic(out / "boxes.parquet", table.getvalue())
    write_atomic(out / "summary.json", json.dumps(summary, indent=1, default=float))
    return summary


def summarise(gt: Flat, pred: Flat, class_names: list[str], image_names: list[str], conf: float = DEFAULT_CONF,
              iou: float = 0.5):
    """The metrics (a JSON-ready dict) and the per-box table (a DataFrame) of one evaluation."""
    import pandas as pd

    n_classes = len(class_names)
    names = np.array(class_names, dtype=object)
    ap = average_precision(gt, pred, match(gt, pred, THRESHOLDS), n_classes)
    verdicts = judge(gt, pred, conf, iou)
    gt_names = names[gt.class_id]
    table = per_class_table(gt, pred, verdicts, n_classes, conf)
    for row in table:
        c = row["class_id"]
        row["class"] = names[c]
        row["ap50"], row["ap50_95"] = (None, None) if np.isnan(ap[c, 0]) else (float(ap[c, 0]), float(ap[c].mean()))
        for verdict in FALSE:
            row[verdict] = int(((pred.class_id == c) & (verdicts.pred_verdict == verdict)).sum())
        row["FN"] = int(((gt.class_id == c) & (verdicts.gt_verdict == "FN")).sum())
    summary = {
        "images": len(image_names), "classes": list(class_names), "conf": conf, "iou": iou, **map_summary(ap),
        "per_class": table, "confusion": confusion_matrix(gt, pred, verdicts, n_classes).tolist(),
        "note_completeness": note_completeness(gt, gt_names, verdicts),
        "vertical_alignment": vertical_alignment(gt, gt_names, pred, verdicts),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    judged = pred.confidence >= conf
    file_names = np.array(image_names, dtype=object)

    def rows(kind, flat, mask, verdict, iou_values, other, confidence):
        xyxy = flat.xyxy[mask]
        wh = xyxy[:, 2:] - xyxy[:, :2]
        return pd.DataFrame({
            "kind": kind, "image": file_names[flat.image[mask]], "class": names[flat.class_id[mask]],
            "confidence": confidence, "iou": iou_values[mask], "verdict": verdict[mask],
            "other": np.where(other[mask] >= 0, names[np.maximum(other[mask], 0)], ""),
            "x0": xyxy[:, 0], "y0": xyxy[:, 1], "x1": xyxy[:, 2], "y1": xyxy[:, 3], "w": wh[:, 0], "h": wh[:, 1],
            "size": np.sqrt(np.clip(wh[:, 0] * wh[:, 1], 0, None))})

    boxes = pd.concat([
        rows("pred", pred, judged, verdicts.pred_verdict, verdicts.pred_iou, verdicts.pred_other,
             pred.confidence[judged]),
        rows("gt", gt, np.ones(len(gt), bool), verdicts.gt_verdict, verdicts.gt_iou, verdicts.gt_other, np.nan),
    ], ignore_index=True)
    for column in ("kind", "image", "class", "verdict", "other"):
        boxes[column] = boxes[column].astype("category")
    return summary, boxes


def load_evaluation(folder: Path) -> tuple[dict, object]:
    import pandas as pd

    folder = Path(folder)
    return json.loads((folder / "summary.json").read_text()), pd.read_parquet(folder / "boxes.parquet")


def training_counts(summary: dict, cards: list[dict], datasets_root: Path) -> dict[str, int] | None:
    """Boxes per class in the training split of the data the evaluated model was trained on (its card's
    `data`, a dataset under `datasets_root`), or None when that is not known or not there."""
    from omr_core.datasets.index import DatasetIndex

    model_dir = str(Path(summary["model"]).parent)
    card = next((c for c in cards if c.get("dir") == model_dir), None)
    dataset = Path(datasets_root) / str(card.get("data")) if card and card.get("data") else None
    if dataset is None or not (dataset / "index.parquet").is_file():
        return None
    return DatasetIndex.open(dataset).class_counts("train") or None
