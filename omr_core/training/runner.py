"""One training run in its own process, streaming its progress into the run folder.

    python -m omr_core train RUN_DIR            # run.json says what to train
    python -m omr_core train RUN_DIR --resume   # go on from the last saved epoch

The run folder:
    run.json         data (a data.yaml), model (a model YAML or weights), Ultralytics settings
    progress.jsonl   one event a line: {"type": "state"|"batch"|"epoch"|"alert"|"fallback"|"final", ...}; polled
                     it. "final" holds best.pt's validation (per-class metrics included) for the gates.
    STOP             written by whoever wants the run to stop (the page's Stop button)
    train.lock       held (flock) by the one process training the run; the kernel drops it when that process
                     dies, so a killed run is seen as such (`run_is_live`) and a second process is refused
    ultralytics/     Ultralytics' own run (weights/last.pt, best.pt, results.csv)

Checkpoints are replaced atomically (`checkpoints.AtomicDetectionTrainer`): a kill at any moment leaves the
last whole last.pt. Each epoch's event is written just before its checkpoint; on resume, events past the
checkpoint's epoch are removed (`trim_progress`), so progress.jsonl holds every epoch exactly once.

Stopping: the STOP file is checked after every batch and an exception is raised from the callback. Unlike
Ultralytics' `trainer.stop`, which ends with `final_eval` stripping the optimizer from last.pt, an exception
leaves last.pt as the last epoch saved it, optimizer included, so the run can resume from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Iterator

from omr_core.inference.backends import MAX_DET
from omr_core.jobs import ProgressFile
from omr_core.fileio import Busy, clean_partials, is_locked, locked, write_atomic
from omr_core.training.alerts import AlertRules, check_alerts
from omr_core.training.fallback import is_out_of_memory, next_fallback

BATCH_EVERY = 10  # batches between two batch-loss lines (run.json `batch_every`): a live curve, small files


class StopRequested(RuntimeError):
    """Raised from a callback when the STOP file appears."""


class CannotResume(ValueError):
    pass


class RunBusy(Busy):
    """Another process is training this run folder."""


RUN_LOCK = "train.lock"
TRIMMED = ("epoch", "batch", "alert")  # events that belong to one epoch (an alert names the epoch it fired in)


class ProgressStream:
    """Appends events to progress.jsonl (flushed at once: a reader in another process sees every line)."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / "progress.jsonl"

    def write(self, event_type: str, /, **fields) -> None:
        """Append one event; `fields` may hold any name (an alert's own `kind` included)."""
        with self.path.open("a") as f:
            f.write(json.dumps({"type": event_type, "time": time.time(), **fields}) + "\n")

    def read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        events = []
        for line in self.path.read_bytes().decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written right now, or cut by a kill
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                events.append(event)
        return events


def read_progress(run_dir: Path) -> list[dict]:
    return ProgressStream(Path(run_dir)).read()


def request_stop(run_dir: Path) -> None:
    (Path(run_dir) / "STOP").write_text(str(time.time()))


def run_is_live(run_dir: Path) -> bool:
    """Whether a process is training the run right now (it holds the run's lock)."""
    return is_locked(Path(run_dir) / RUN_LOCK)


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """This process trains the run: the lock is taken (a page probing it holds it for microseconds, hence the
    short wait) and our pid written in it; RunBusy when another process trains it."""
    path = Path(run_dir) / RUN_LOCK
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(locked(path, timeout_s=2.0))
        except Busy:
            holder = path.read_text(errors="replace").strip() or "?"
            raise RunBusy(f"{run_dir}: another process (pid {holder}) is training this run; stop it on the "
                          f"Training page, or wait for it to end") from None
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield


def trim_progress(run_dir: Path, epochs_done: int) -> int:
    """Remove the events of epochs past `epochs_done` (a kill after an epoch's event and before its checkpoint:
    the resumed run trains that epoch again). Rewritten atomically; returns the number of events removed."""
    stream = ProgressStream(Path(run_dir))
    events = stream.read()
    kept = [e for e in events if not (e["type"] in TRIMMED and int(e.get("epoch") or 0) > epochs_done)]
    if len(kept) != len(events):
        write_atomic(stream.path, "".join(json.dumps(e) + "\n" for e in kept))
    return len(events) - len(kept)


def last_checkpoint(run_dir: Path) -> Path:
    return Path(run_dir) / "ultralytics" / "weights" / "last.pt"


def check_resumable(run_dir: Path) -> Path:
    """The checkpoint to resume from, or a clear refusal (Ultralytics would otherwise quietly start a new run
    on its coco8 example and fail to download it)."""
    return _resume_point(run_dir)[0]


def _resume_point(run_dir: Path) -> tuple[Path, int, bool]:
    """last.pt, the number of epochs it holds and whether those are all the run's epochs (the run was stopped
    in its final validation, which the resume then does), or CannotResume saying why not."""
    checkpoint = last_checkpoint(run_dir)
    if not checkpoint.is_file():
        raise CannotResume(f"{run_dir}: no {checkpoint.name} yet: the run never finished an epoch, start it again")
    if checkpoint.stat().st_size == 0:
        raise CannotResume(f"{checkpoint}: the file is empty (0 bytes; a kill while an older version wrote it): "
                           f"start the run again")
    import pickle

    import torch

    try:  # the run's own checkpoint, written by this workspace's training process
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except (EOFError, RuntimeError, pickle.UnpicklingError, ValueError) as exc:
        raise CannotResume(f"{checkpoint}: cannot be read ({type(exc).__name__}: {exc}); start the run again") from None
    if not isinstance(state, dict) or state.get("optimizer") is None or state.get("epoch", -1) < 0:
        raise CannotResume(f"{checkpoint}: the checkpoint holds no optimizer state (the run finished, or was "
                           f"stopped by Ultralytics itself); train a new stage from its best.pt instead")
    epochs_done = int(state["epoch"]) + 1
    planned = int((state.get("train_args") or {}).get("epochs") or 0)
    return checkpoint, epochs_done, bool(planned) and epochs_done >= planned


def _workspace_of(run_dir: Path):
    """The workspace a run folder belongs to (workspace/runs/<run>), or None for a folder elsewhere."""
    from omr_core.workspace import Workspace

    run_dir = Path(run_dir).resolve()
    return Workspace(run_dir.parent.parent) if run_dir.parent.name == "runs" else None


def train(run_dir: Path | str, resume: bool = False) -> Path:
    """Run (or resume) the training described by RUN_DIR/run.json; returns best.pt. One process per run
    folder: RunBusy when another one trains it."""
    run_dir = Path(run_dir)
    with run_lock(run_dir):
        return _train(run_dir, resume)


def _train(run_dir: Path, resume: bool) -> Path:
    from omr_core.registry import require_trusted
    from omr_core.offline import import_ultralytics

    spec = json.loads((run_dir / "run.json").read_text())
    stream = ProgressStream(run_dir)
    (run_dir / "STOP").unlink(missing_ok=True)
    if last_checkpoint(run_dir).parent.is_dir():
        clean_partials(last_checkpoint(run_dir).parent)  # what a kill in a checkpoint write left beside it
    checkpoint, epochs_done, trained = _resume_point(run_dir) if resume else (None, 0, False)
    if checkpoint is not None:
        trim_progress(run_dir, epochs_done)
    if trained:  # every epoch is in last.pt: only the final validation of best.pt is left to do
        return _final_validation(run_dir, spec, stream)
    else:
        for key in ("model", "weights"):  # a .pt to start from is a pickle: only with trust or consent
            if str(spec.get(key) or "").endswith(".pt"):
                require_trusted(Path(spec[key]), _workspace_of(run_dir), consent=bool(spec.get("trust_pickle")))
    wandb_mode = _wandb_mode(spec.get("wandb", "offline"), run_dir, stream)
    import_ultralytics()
    from ultralytics import YOLO, settings as ultralytics_settings

    from omr_core.training.checkpoints import BEFORE_SAVE, AtomicDetectionTrainer

    # Our callbacks log to W&B; Ultralytics' own integration stays off (it also refuses to run under pytest).
    ultralytics_settings.update({"wandb": False})
    wandb_run = _wandb_init(wandb_mode, run_dir, spec)

    model = YOLO(str(checkpoint)) if checkpoint else YOLO(spec["model"])
    if not checkpoint and spec.get("weights"):
        model.load(spec["weights"])
    history: list[dict] = [e for e in stream.read() if e["type"] == "epoch"]
    recorded = {e["epoch"] for e in history}
    seen_alerts = {(e.get("kind"), e.get("subject")) for e in stream.read() if e["type"] == "alert"}
    rules = AlertRules(**spec.get("alerts", {}))
    batch_every = int(spec.get("batch_every", BATCH_EVERY))
    job = ProgressFile()  # the job banner's line: epoch and batch of the run (a no-op outside a job)
    job(0, 0, "preparing: checking the dataset and building the model", force=True)

    def on_train_batch_end(trainer) -> None:
        if (run_dir / "STOP").exists():
            raise StopRequested("stop requested")
        batch = getattr(trainer, "_omr_batch", 0) + 1
        trainer._omr_batch = batch
        per_epoch = len(trainer.train_loader)
        job(trainer.epoch * per_epoch + batch, trainer.epochs * per_epoch,
            f"epoch {trainer.epoch + 1} of {trainer.epochs}, batch {batch} of {per_epoch}", counts=False)
        if batch % batch_every == 0 and trainer.tloss is not None:
            stream.write("batch", epoch=trainer.epoch + 1, batch=batch, losses=_floats(trainer.tloss))

    def on_train_epoch_end(trainer) -> None:
        per_epoch = len(trainer.train_loader)
        job((trainer.epoch + 1) * per_epoch, trainer.epochs * per_epoch,
            f"epoch {trainer.epoch + 1} of {trainer.epochs}: validating", force=True, counts=False)

    def record_epoch(trainer, seconds: float) -> None:
        """The epoch's event, once (before its checkpoint is written, or at its end when nothing is saved)."""
        if trainer.epoch + 1 in recorded:
            return
        event = _epoch_event(trainer, seconds)
        recorded.add(event["epoch"])
        history.append(event)
        stream.write("epoch", **event)
        if wandb_run is not None:
            wandb_run.log({**event["metrics"], **{f"train/{k}": v for k, v in event["train"].items()}, **event["lr"],
                           "epoch_seconds": event["epoch_seconds"], "ram_percent": event["ram_percent"]},
                          step=event["epoch"])
        for alert in check_alerts(history, rules):
            if alert.key not in seen_alerts:
                seen_alerts.add(alert.key)
                stream.write("alert", **alert.to_dict())
                if wandb_run is not None and wandb_mode == "online":
                    wandb_run.alert(title=f"{alert.kind}: {alert.subject}", text=f"{alert.message}. {alert.action}")

    def on_before_model_save(trainer) -> None:
        record_epoch(trainer, time.time() - getattr(trainer, "epoch_time_start", time.time()))

    def on_fit_epoch_end(trainer) -> None:
        trainer._omr_batch = 0
        if trainer.epoch + 1 >= trainer.epochs:
            job(1, 1, "validating the best weights for the quality gates", force=True, counts=False)
        if trainer.epoch + 1 > trainer.epochs:
            # Ultralytics' final_eval validates best.pt and calls this once more with the epoch past the last:
            # those are the stage's final metrics (for the quality gates), not another epoch.
            event = _epoch_event(trainer, 0.0)
            stream.write("final", **{k: v for k, v in event.items() if k != "epoch"})
            return
        record_epoch(trainer, float(getattr(trainer, "epoch_time", 0.0) or 0.0))

    def on_pretrain_routine_end(trainer) -> None:
        # The plan's weighted loss: Ultralytics 8.4 multiplies its classification BCE by `model.class_weights`
        # (its own come from cls_pw, inverse frequency); ours are the dataset's class-balanced weights.
        if spec.get("class_weights"):
            import torch

            weights = torch.tensor(spec["class_weights"], dtype=torch.float32)
            if len(weights) != trainer.model.nc:
                raise ValueError(f"class_weights must have one weight per class ({trainer.model.nc}), got {len(weights)}")
            trainer.model.class_weights = weights.to(next(trainer.model.parameters()).device)

    def add_callbacks(model) -> None:
        model.add_callback("on_pretrain_routine_end", on_pretrain_routine_end)
        model.add_callback("on_train_batch_end", on_train_batch_end)
        model.add_callback("on_train_epoch_end", on_train_epoch_end)
        model.add_callback("on_fit_epoch_end", on_fit_epoch_end)
        model.add_callback(BEFORE_SAVE, on_before_model_save)

    add_callbacks(model)
    stream.write("state", state="running", pid=os.getpid(), resume=bool(checkpoint))
    settings = dict(spec.get("settings", {}))
    model_name, first_batch = spec["model"], int(settings.get("batch", 16))
    try:
        while True:
            try:
                if checkpoint:
                    model.train(resume=True, trainer=AtomicDetectionTrainer)
                else:
                    model.train(data=spec["data"], project=str(run_dir), name="ultralytics", exist_ok=True,
                                trainer=AtomicDetectionTrainer, max_det=MAX_DET, **settings)
                break
            except Exception as exc:
                step = None if checkpoint or not is_out_of_memory(exc) else next_fallback(
                    model_name, int(settings.get("batch", first_batch)), first_batch)
                if step is None:
                    raise
                model_name, settings["batch"], note = step
                stream.write("fallback", model=model_name, batch=settings["batch"], reason=note)
                model = YOLO(model_name) if model_name.endswith(".yaml") else YOLO(str(model_name))
                add_callbacks(model)
    except StopRequested:
        stream.write("state", state="stopped", checkpoint=str(last_checkpoint(run_dir)))
        raise
    except BaseException as exc:
        stream.write("state", state="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if wandb_run is not None:
            wandb_run.finish()
    best = run_dir / "ultralytics" / "weights" / "best.pt"
    stream.write("state", state="done", best=str(best))
    return best


def _final_validation(run_dir: Path, spec: dict, stream: ProgressStream) -> Path:
    """What Ultralytics' final_eval does, for a run killed in it: strip the optimizer from last.pt and best.pt
    (atomically) and validate best.pt; its metrics become the run's "final" event, as they would have."""
    from omr_core.training.checkpoints import atomic_strip
    from omr_core.offline import import_ultralytics

    import_ultralytics()
    import ultralytics.engine.trainer as trainer_module
    from ultralytics import YOLO

    weights = last_checkpoint(run_dir).parent
    best = weights / "best.pt" if (weights / "best.pt").is_file() else weights / "last.pt"
    stream.write("state", state="running", pid=os.getpid(), resume=True, final_only=True)
    try:
        with atomic_strip():
            trainer_module.strip_optimizer(weights / "last.pt")
            if best.name == "best.pt":
                trainer_module.strip_optimizer(best)
        settings = spec.get("settings", {})
        metrics = YOLO(str(best)).val(data=spec["data"], imgsz=settings.get("imgsz", 640), batch=settings.get("batch", 16),
                                     device=settings.get("device"), workers=settings.get("workers", 0), plots=False,
                                     verbose=False, project=str(run_dir), name="final-validation", exist_ok=True,
                                     max_det=MAX_DET)
        stream.write("final", metrics={str(k): float(v) for k, v in metrics.results_dict.items()},
                     per_class=_per_class_of(metrics.box, metrics.names))
    except BaseException as exc:
        stream.write("state", state="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    stream.write("state", state="done", best=str(best))
    return best


def _wandb_mode(mode: str, run_dir: Path, stream: ProgressStream) -> str:
    """W&B: "offline" (default: nothing may hang without a network), "online" (needs WANDB_API_KEY), "off"."""
    if mode not in ("offline", "online", "off"):
        raise ValueError(f"wandb must be 'offline', 'online' or 'off', but got {mode!r}")
    if mode == "online" and not os.environ.get("WANDB_API_KEY"):
        stream.write("note", message="W&B online needs WANDB_API_KEY: logging offline instead")
        mode = "offline"
    if mode != "off":
        os.environ.update(WANDB_MODE=mode, WANDB_DIR=str(run_dir), WANDB_SILENT="true")
    return mode


def _floats(values: dict) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.items()}


def _epoch_event(trainer, seconds: float) -> dict:
    """Losses, mAP, per-class P/R/mAP/F1, learning rate, epoch time and memory of the epoch just validated."""
    import psutil

    metrics = {str(k): float(v) for k, v in (trainer.metrics or {}).items()}
    train_losses = _floats(trainer.tloss or {})
    event = {
        "epoch": trainer.epoch + 1,
        "epochs": trainer.epochs,
        "train": train_losses,
        "train_loss": sum(train_losses.values()) if train_losses else None,
        "val_loss": sum(v for k, v in metrics.items() if k.startswith("val/")) or None,
        "metrics": metrics,
        "lr": _floats(getattr(trainer, "lr", {}) or {}),
        "epoch_seconds": float(seconds),
        "ram_percent": float(psutil.virtual_memory().percent),
        "per_class": _per_class(trainer),
    }
    try:
        import torch

        if torch.cuda.is_available():
            total = torch.cuda.get_device_properties(0).total_memory
            event["gpu_memory_percent"] = 100.0 * torch.cuda.memory_reserved(0) / total
    except Exception:  # memory is informative only
        pass
    return event


def _per_class(trainer) -> dict[str, dict]:
    validator = getattr(trainer, "validator", None)
    return _per_class_of(getattr(getattr(validator, "metrics", None), "box", None), trainer.data["names"])


def _per_class_of(box, names) -> dict[str, dict]:
    """P, R, mAP50, mAP50-95 and F1 per class of an Ultralytics box metric."""
    if box is None or not len(getattr(box, "ap_class_index", [])):
        return {}
    out = {}
    for i, c in enumerate(box.ap_class_index):
        p, r, ap50, ap = (float(v) for v in box.class_result(i))
        out[names[int(c)]] = {"p": p, "r": r, "map50": ap50, "map": ap, "f1": 2 * p * r / (p + r) if p + r else 0.0}
    return out


def _wandb_init(mode: str, run_dir: Path, spec: dict):
    """A W&B run (offline files under the run folder, or online), or None when switched off."""
    if mode == "off":
        return None
    import wandb

    return wandb.init(project=f"scoreeye-{spec.get('plan', 'runs')}", name=run_dir.name, dir=str(run_dir), mode=mode,
                      config={k: v for k, v in spec.items() if k != "balance"}, reinit="finish_previous")
