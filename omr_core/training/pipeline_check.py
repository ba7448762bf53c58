"""The plan's early pipeline validation: before a long run, prove each step works on a few images.

    python -m omr_core check DATASET

Steps (each timed, the first failure stops the rest): load 10 samples (images and labels), build the model
from its YAML, train one epoch on those samples, predict one image. On this 2-core CPU it takes well under the
plan's 2 minutes (yolov8n, 320 px).
"""

from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml


@dataclass
class StepResult:
    name: str
    description: str
    passed: bool
    seconds: float
    detail: str


def pipeline_check(dataset: Path | str, model: str = "yolov8n.yaml", imgsz: int = 320, n_samples: int = 10,
                   device: str = "cpu", workspace=None, trust_pickle: bool = False) -> list[StepResult]:
    """The four steps' results. A `.pt` model is a pickle: refused (UntrustedModelError, before any step)
    unless this workspace trained it, a bundled card records it, or `trust_pickle`."""
    from omr_core.datasets.index import DatasetIndex
    from omr_core.formats.yolo import label_path_for, parse_labels, read_data_yaml
    from omr_core.registry import require_trusted
    from omr_core.training.offline import import_ultralytics

    dataset = Path(dataset)
    if str(model).endswith(".pt"):
        if not Path(model).is_file():
            raise FileNotFoundError(f"{model}: no such model file (nothing is downloaded; give a model YAML or a file)")
        require_trusted(Path(model), workspace, consent=trust_pickle)
    results: list[StepResult] = []
    state: dict = {}

    def load_samples():
        index = DatasetIndex.open(dataset)
        images = [dataset / i for i in index.images("train")[:n_samples]]
        if len(images) < 2:
            raise ValueError(f"{dataset}: expected at least 2 training images, found {len(images)}")
        import cv2

        boxes = 0
        for image in images:
            if cv2.imread(str(image)) is None:
                raise ValueError(f"{image}: cannot be read")
            label = label_path_for(image)
            det, problems = parse_labels(label.read_text(), (1, 1), str(label))
            if problems:
                raise ValueError(str(problems[0]))
            boxes += len(det)
        state["images"], state["names"] = images, read_data_yaml(dataset)["names"]
        return f"{len(images)} images, {boxes} boxes"

    def build_model():
        import_ultralytics()
        from ultralytics import YOLO

        state["model"] = YOLO(model)
        return f"{model}: {sum(p.numel() for p in state['model'].model.parameters()):,} parameters"

    def train_one_epoch():
        tmp = Path(tempfile.mkdtemp(prefix="omr-check-"))
        listing = tmp / "images.txt"
        listing.write_text("".join(f"{p}\n" for p in state["images"]))
        data = tmp / "data.yaml"
        data.write_text(yaml.safe_dump({"train": str(listing), "val": str(listing), "names": state["names"]}))
        state["model"].train(data=str(data), epochs=1, imgsz=imgsz, batch=4, workers=0, device=device,
                             project=str(tmp), name="run", plots=False, amp=False, verbose=False)
        return f"1 epoch on {len(state['images'])} images at {imgsz} px"

    def predict_one():
        found = state["model"].predict(str(state["images"][0]), imgsz=imgsz, device=device, verbose=False)
        return f"{len(found[0].boxes)} boxes on {state['images'][0].name}"

    steps = [
        ("data_loading", f"{n_samples} samples load with their labels", load_samples),
        ("model_initialization", f"{model} builds", build_model),
        ("single_epoch_training", "one epoch trains without error", train_one_epoch),
        ("inference", "the trained model predicts an image", predict_one),
    ]
    for name, description, step in steps:
        start = time.perf_counter()
        try:
            detail, passed = step(), True
        except Exception as exc:  # the point of the check is to report any failure, whatever it is
            detail, passed = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}", False
        results.append(StepResult(name, description, passed, round(time.perf_counter() - start, 2), detail))
        if not passed:
            break
    return results


def as_dicts(results: list[StepResult]) -> list[dict]:
    return [asdict(r) for r in results]
