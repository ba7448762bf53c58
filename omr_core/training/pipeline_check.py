"""The plan's early pipeline validation: before a long run, prove each step works on a few images.

    python -m omr_core check DATASET

Steps (each timed, the first failure stops the rest): load 10 samples (images and labels), build the model
from its YAML, train one epoch on those samples, predict one of them. On this 2-core CPU it takes well under
the plan's 2 minutes (yolov8n, 320 px).

The last step passes only when the model predicts at least one box (at confidence PREDICT_CONF, on an image
it was trained on): a pipeline whose model outputs nothing (labels that never reach the loss, a head with no
classes, images blanked by the loader) must not pass on 0 boxes.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from omr_core.inference.backends import MAX_DET


PREDICT_CONF = 0.001  # one epoch on 10 images leaves scores low; any box at all proves the path works


class NothingPredicted(ValueError):
    pass


def require_predictions(n_boxes: int, image_name: str, conf: float = PREDICT_CONF) -> str:
    """The inference step's verdict: the detail when there are boxes, else NothingPredicted naming why."""
    if n_boxes <= 0:
        raise NothingPredicted(
            f"the trained model predicted no box on {image_name} (a training image), even at confidence {conf}: "
            "the pipeline runs but the model outputs nothing. Check that the labels hold boxes of the dataset's "
            "classes and that the images are not blank; then train a few epochs and look again")
    return f"{n_boxes} boxes on {image_name} at confidence {conf} or more"


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
    from omr_core.offline import import_ultralytics

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
        state["model"].train(data=str(data), epochs=1, imgsz=imgsz, batch=4, workers=0, device=device, max_det=MAX_DET,
                             project=str(tmp), name="run", plots=False, amp=False, verbose=False)
        return f"1 epoch on {len(state['images'])} images at {imgsz} px"

    def predict_one():
        image = state["images"][0]
        found = state["model"].predict(str(image), imgsz=imgsz, device=device, conf=PREDICT_CONF, verbose=False,
                                       max_det=MAX_DET)
        return require_predictions(len(found[0].boxes), image.name)

    steps = [
        ("data_loading", f"{n_samples} samples load with their labels", load_samples),
        ("model_initialization", f"{model} builds", build_model),
        ("single_epoch_training", "one epoch trains without error", train_one_epoch),
        ("inference", "the trained model predicts boxes on an image", predict_one),
    ]
    for name, description, step in steps:
        start = time.perf_counter()
        try:
            detail, passed = step(), True
        except NothingPredicted as exc:  # a finding, not a crash: no traceback
            detail, passed = str(exc), False
        except Exception as exc:  # the point of the check is to report any failure, whatever it is
            detail, passed = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}", False
        results.append(StepResult(name, description, passed, round(time.perf_counter() - start, 2), detail))
        if not passed:
            break
    return results


def as_dicts(results: list[StepResult]) -> list[dict]:
    """The results as JSON records (the `--json` file the Training page reads)."""
    return [asdict(r) for r in results]


def result_rows(results: list[dict]) -> list[dict]:
    """The saved results as the page lists them: description, result (passed / FAILED), seconds, first line."""
    return [{"description": r["description"], "result": "passed" if r["passed"] else "FAILED", "seconds": r["seconds"],
             "first line": r["detail"].split("\n")[0]} for r in results]


def all_passed(results: list[dict]) -> bool:
    """Whether every one of the four steps ran and passed."""
    return len(results) == 4 and all(r["passed"] for r in results)
