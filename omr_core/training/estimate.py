"""How long a run takes on this machine, from a training step measured here.

    timing = measure_step("yolov8n.yaml", 640, 8, "cpu", dataset)   # ~15 s on 2 CPU cores
    save_timing(ws.step_times, timing)
    estimate_run(timing, n_train=734, n_val=100, epochs=12)        # -> Estimate(epoch_s=..., total_s=...)
    python -m omr_core measure-step DATASET --model yolov8n.yaml --imgsz 640 --batch 8 --device cpu

What is measured, per image, with the run's own model, image size, batch and device:
- a training step: Ultralytics' data pipeline (mosaic and all) for one sample, then forward, Ultralytics' own
  detection loss, backward and an SGD step over a real batch of the dataset (one warm-up step not counted,
  the median of the others);
- a validation forward pass (no gradient).
An epoch is then `listed training images x (load + step) + validation images x forward`, and a run adds
STARTUP_S (imports, label caching, model build) and one more validation pass for the best weights.
On this project's 2-core CPU, yolov8n at 640 px measures ~0.4-0.6 s per training image.

`step_times.json` in the workspace keeps each measurement under its settings (model, imgsz, batch,
device); this module is its one reader and writer.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STARTUP_S = 20.0  # imports, label caching and model build before the first batch (measured here: 12-25 s)


@dataclass(frozen=True)
class StepTiming:
    model: str
    imgsz: int
    batch: int
    device: str
    load_s: float  # per training image: Ultralytics' loader (read, mosaic, augment, letterbox)
    train_s: float  # per training image: forward, loss, backward, optimizer step
    val_s: float  # per validation image: forward without gradient
    date: str = ""

    @property
    def key(self) -> str:
        return timing_key(self.model, self.imgsz, self.batch, self.device)

    @property
    def per_train_image_s(self) -> float:
        return self.load_s + self.train_s


@dataclass(frozen=True)
class Estimate:
    epoch_s: float
    total_s: float
    epochs: int
    n_train: int
    n_val: int


def timing_key(model: str, imgsz: int, batch: int, device: str) -> str:
    return f"{Path(str(model)).name}|{int(imgsz)}|{int(batch)}|{device}"


def estimate_run(timing: StepTiming, n_train: int, n_val: int, epochs: int) -> Estimate:
    """Seconds per epoch and for the whole run (start-up and the final validation included)."""
    if n_train <= 0 or epochs <= 0:
        raise ValueError(f"an estimate needs training images and epochs, but got n_train={n_train}, epochs={epochs}")
    epoch_s = n_train * timing.per_train_image_s + n_val * timing.val_s
    return Estimate(epoch_s, STARTUP_S + epochs * epoch_s + n_val * timing.val_s, epochs, n_train, n_val)


def epochs_within(timing: StepTiming, n_train: int, n_val: int, budget_s: float, most: int) -> int:
    """The most epochs (at least 1, at most `most`) whose run fits `budget_s`."""
    one = estimate_run(timing, n_train, n_val, 1)
    fits = math.floor((budget_s - STARTUP_S - n_val * timing.val_s) / one.epoch_s)
    return int(min(most, max(1, fits)))


def load_timings(path: Path) -> dict[str, StepTiming]:
    """The measurements kept in a workspace's step_times.json (none when it is missing or unreadable)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    timings = {}
    for key, value in raw.items() if isinstance(raw, dict) else ():
        try:
            timings[key] = StepTiming(**value)
        except TypeError:
            continue  # written by another version: measure again
    return timings


def save_timing(path: Path, timing: StepTiming) -> None:
    from omr_core.fileio import write_atomic

    raw = {k: asdict(v) for k, v in load_timings(path).items()}
    raw[timing.key] = asdict(timing)
    write_atomic(Path(path), json.dumps(raw, indent=2))


def measure_step(model: str, imgsz: int, batch: int, device: str, dataset: Path | str, steps: int = 3,
                 progress=None) -> StepTiming:
    """Time the run's training step on this machine with real images of `dataset` (its train split)."""
    from omr_core.formats.yolo import read_data_yaml, split_folder
    from omr_core.offline import import_ultralytics

    report = progress or (lambda done, total, message: None)
    report(0, steps + 2, "building the model")
    import_ultralytics()
    import torch
    from ultralytics.cfg import get_cfg
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.nn.tasks import DetectionModel

    names = read_data_yaml(Path(dataset))["names"]
    cfg = get_cfg(overrides={"imgsz": int(imgsz)})
    torch_device = torch.device("cpu" if device == "cpu" else f"cuda:{str(device).split(',')[0]}")
    net = DetectionModel(str(model), nc=len(names), verbose=False).to(torch_device)
    net.args = cfg  # the detection loss reads its box/cls/dfl gains here
    images = YOLODataset(img_path=str(split_folder(Path(dataset), "train")), imgsz=int(imgsz), augment=True,
                         hyp=cfg, data={"names": names, "channels": 3}, batch_size=int(batch))
    if len(images) == 0:
        raise ValueError(f"{dataset}: no training images to measure a step on")
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    def sync() -> None:
        if torch_device.type == "cuda":
            torch.cuda.synchronize(torch_device)

    load_s, train_s = [], []
    net.train()
    for step in range(steps + 1):  # the first step warms up (allocations, kernel choice) and is not counted
        report(step + 1, steps + 2, f"training step {step + 1} of {steps + 1}")
        started = time.perf_counter()
        samples = [images[(step * int(batch) + i) % len(images)] for i in range(int(batch))]
        loaded = time.perf_counter()
        sample = YOLODataset.collate_fn(samples)
        sample["img"] = sample["img"].to(torch_device).float() / 255
        for key in ("batch_idx", "cls", "bboxes"):
            sample[key] = sample[key].to(torch_device)
        loss, _ = net.loss(sample)
        loss.sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        sync()
        if step:
            load_s.append((loaded - started) / int(batch))
            train_s.append((time.perf_counter() - loaded) / int(batch))
    net.eval()
    report(steps + 1, steps + 2, "validation pass")
    with torch.no_grad():
        started = time.perf_counter()
        net(sample["img"])
        sync()
        val_s = (time.perf_counter() - started) / int(batch)
    return StepTiming(Path(str(model)).name, int(imgsz), int(batch), str(device), statistics.median(load_s),
                      statistics.median(train_s), val_s, time.strftime("%Y-%m-%d %H:%M:%S"))
