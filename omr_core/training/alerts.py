"""Training alerts (the plan's real-time monitoring): rules over the per-epoch metric history.

The history is a list of per-epoch dicts as the training progress stream writes them: `train_loss` and
`val_loss` (sums of Ultralytics' box, cls and dfl losses), optional `ram_percent`/`gpu_memory_percent`, and
`per_class` {class: {"f1": ...}}. Rules (each a pure function of the history, thresholds in `AlertRules`):

    stalled      the best validation loss of the last `stall_epochs` epochs is not `stall_tolerance` (1%)
                 below the best before them                   -> lower the learning rate or stop early
    overfitting  over the last `overfit_epochs`, training loss falls while validation loss rises by more
                 than `overfit_rise` (2%)                     -> more augmentation or regularisation, or a smaller model
    memory       RAM or GPU memory above `memory_percent` (90%) -> smaller batch with gradient accumulation (nbs)
    class_f1     after `f1_after_epoch` (20) epochs a class's F1 is below `min_f1` (0.3)
                                                              -> oversample that class / class-specific augmentation
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class AlertRules:
    stall_epochs: int = 10
    stall_tolerance: float = 0.01
    overfit_epochs: int = 5
    overfit_rise: float = 0.02
    memory_percent: float = 90.0
    f1_after_epoch: int = 20
    min_f1: float = 0.3


@dataclass(frozen=True)
class Alert:
    kind: str  # stalled | overfitting | memory | class_f1
    subject: str  # what it is about: "val_loss", "ram", "gpu", or a class name
    epoch: int
    message: str
    action: str

    @property
    def key(self) -> tuple[str, str]:
        """One alert per kind and subject is enough: a run records it the first time it fires."""
        return (self.kind, self.subject)

    def to_dict(self) -> dict:
        return asdict(self)


def check_alerts(history: list[dict], rules: AlertRules = AlertRules()) -> list[Alert]:
    """Alerts that hold after the last epoch of `history`."""
    if not history:
        return []
    epoch = int(history[-1].get("epoch", len(history)))
    alerts: list[Alert] = []
    val = np.array([h["val_loss"] for h in history if h.get("val_loss") is not None], dtype=float)
    train = np.array([h["train_loss"] for h in history if h.get("train_loss") is not None], dtype=float)
    n = rules.stall_epochs
    if len(val) > n:
        before, recent = val[:-n].min(), val[-n:].min()
        if recent > before * (1 - rules.stall_tolerance):
            alerts.append(Alert("stalled", "val_loss", epoch,
                                f"validation loss has not improved by {rules.stall_tolerance:.0%} in {n} epochs "
                                f"(best {recent:.4f} now, {before:.4f} before)",
                                "lower the learning rate, or stop early: patience would end the stage"))
    k = rules.overfit_epochs
    if len(val) >= k and len(train) >= k:
        x = np.arange(k)
        train_slope, val_slope = np.polyfit(x, train[-k:], 1)[0], np.polyfit(x, val[-k:], 1)[0]
        rise = (val[-1] - val[-k:].min()) / max(val[-k:].min(), 1e-12)
        if train_slope < 0 < val_slope and rise > rules.overfit_rise:
            alerts.append(Alert("overfitting", "val_loss", epoch,
                                f"training loss falling while validation loss rose {rise:.1%} over {k} epochs",
                                "add augmentation or regularisation, or use a smaller model"))
    last = history[-1]
    for subject, key in (("ram", "ram_percent"), ("gpu", "gpu_memory_percent")):
        value = last.get(key)
        if value is not None and value > rules.memory_percent:
            alerts.append(Alert("memory", subject, epoch, f"{subject.upper()} use at {value:.0f}% (above "
                                f"{rules.memory_percent:.0f}%)", "use a smaller batch with gradient accumulation (nbs)"))
    if epoch >= rules.f1_after_epoch:
        for name, stats in sorted((last.get("per_class") or {}).items()):
            f1 = stats.get("f1")
            if f1 is not None and f1 < rules.min_f1:
                alerts.append(Alert("class_f1", name, epoch, f"{name} F1 {f1:.2f} after {epoch} epochs "
                                    f"(below {rules.min_f1})", f"oversample {name} or add augmentation for it"))
    return alerts
