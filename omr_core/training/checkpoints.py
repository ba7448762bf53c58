"""Checkpoints that survive any kill: Ultralytics' detection trainer with its checkpoint writes made atomic.

Ultralytics 8.4 writes last.pt and best.pt with `Path.write_bytes` (truncate, then write) after every epoch, and
rewrites both in place with `torch.save` when it strips the optimizer at the end (`strip_optimizer`). A kill in
either write leaves a short or 0-byte file, and the run can neither resume nor be registered. Here each write
goes to a temporary file beside the checkpoint and is renamed over it (`fileio.write_atomic`), so a kill leaves
the previous checkpoint whole.

The trainer also runs the `on_before_model_save` callbacks just before an epoch's checkpoint is written, so the
runner records the epoch first: progress.jsonl may then hold one epoch past the checkpoint (a kill between the
two), which `runner.trim_progress` removes on resume, and never lacks an epoch that the checkpoint holds.

Imports Ultralytics (through `offline.import_ultralytics`): only the training process imports this module.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from omr_core.fileio import PART_SUFFIX, write_atomic
from omr_core.offline import import_ultralytics

import_ultralytics()
import ultralytics.engine.trainer as _trainer_module  # noqa: E402
from ultralytics.models.yolo.detect import DetectionTrainer  # noqa: E402

BEFORE_SAVE = "on_before_model_save"


class AtomicPath(type(Path())):
    """A path whose `write_bytes` replaces the file atomically (a reader, or a kill, sees old or new)."""

    def write_bytes(self, data) -> int:
        write_atomic(Path(self), bytes(data))
        return len(data)


@contextlib.contextmanager
def atomic_strip() -> Iterator[None]:
    """Within the block, Ultralytics' `strip_optimizer` writes its result beside the file and renames it over."""
    original = _trainer_module.strip_optimizer

    def strip(f="best.pt", s="", updates=None):
        target = Path(s or f)
        temporary = target.with_name(f".{target.name}.strip{PART_SUFFIX}")
        try:
            result = original(f, str(temporary), updates)
            if temporary.is_file():
                os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return result

    _trainer_module.strip_optimizer = strip
    try:
        yield
    finally:
        _trainer_module.strip_optimizer = original


class AtomicDetectionTrainer(DetectionTrainer):
    """DetectionTrainer whose checkpoints are replaced atomically (see the module docstring)."""

    def save_model(self):
        self.last, self.best = AtomicPath(self.last), AtomicPath(self.best)
        self.run_callbacks(BEFORE_SAVE)
        return super().save_model()

    def final_eval(self):
        with atomic_strip():
            return super().final_eval()
