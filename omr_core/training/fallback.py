"""The plan's backup strategies for a stage that runs out of GPU memory: a smaller batch, then a smaller model.

Ultralytics 8.4 already retries an out-of-memory first epoch with a halved batch (three times); when the run
still fails, `next_fallback` decides the next try: halve the batch down to `min_batch` (gradient accumulation
through `nbs` keeps the effective batch), then step the model down one size (yolov8x -> l -> m -> s -> n),
starting again from the original batch. Each fallback is written to the run's progress stream.
"""

from __future__ import annotations

import re

SIZES = "nsmlx"
_SIZED = re.compile(r"^(yolo(?:v?\d+))([nsmlx])(\.yaml)$")


def smaller_model(model: str) -> str | None:
    """`yolov8s.yaml` -> `yolov8n.yaml`; None for the smallest size or for weights (a .pt keeps its size)."""
    match = _SIZED.match(model)
    if not match or match.group(2) == "n":
        return None
    return f"{match.group(1)}{SIZES[SIZES.index(match.group(2)) - 1]}{match.group(3)}"


def next_fallback(model: str, batch: int, first_batch: int, min_batch: int = 2) -> tuple[str, int, str] | None:
    """The next (model, batch) to try after an out-of-memory failure, with a note saying what changed."""
    if batch // 2 >= min_batch:
        return model, batch // 2, f"out of memory at batch {batch}: retrying with batch {batch // 2}"
    smaller = smaller_model(model)
    if smaller:
        return smaller, first_batch, f"out of memory at batch {batch} with {model}: retrying with {smaller}, batch {first_batch}"
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()
