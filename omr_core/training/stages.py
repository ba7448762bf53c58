"""Chaining stages: a new stage starts from the previous stage's best weights with more classes.

Ultralytics 8.4 builds the new model with the new stage's class names and copies the classification-head rows
of every class whose name it already knew (`DetectionModel._remap_cls_by_names`); other layers transfer by
shape. `head_transfer` checks that this really happened, tensor by tensor, so a stage that would silently
start from scratch on its old classes is caught before hours of training.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HeadTransfer:
    carried: tuple[str, ...]  # old classes whose head rows arrived unchanged
    new: tuple[str, ...]  # classes the previous stage did not have (rows start fresh)
    lost: tuple[str, ...]  # old classes present in the new stage whose rows did not arrive

    @property
    def ok(self) -> bool:
        return not self.lost


def head_transfer(source_model, new_names: list[str], cfg: str = "yolov8n.yaml") -> HeadTransfer:
    """Build the next stage's model the way Ultralytics' trainer does (names first, then `load`) and compare
    the classification-head rows of every class the source knew.

    Args:
        source_model: the previous stage's DetectionModel (e.g. `YOLO(best.pt).model`), with its class names.
        new_names: the next stage's class names in YOLO id order.
    """
    from omr_core.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.nn.modules import Detect
    from ultralytics.nn.tasks import DetectionModel

    target = DetectionModel(cfg, nc=len(new_names), verbose=False)
    target.names = dict(enumerate(new_names))
    target.load(source_model, verbose=False)
    source_names = {str(v): int(k) for k, v in source_model.names.items()}
    src_head, dst_head = source_model.model[-1], target.model[-1]
    assert isinstance(src_head, Detect) and isinstance(dst_head, Detect)
    carried, new, lost = [], [], []
    for j, name in enumerate(new_names):
        i = source_names.get(name)
        if i is None:
            new.append(name)
            continue
        same = all(
            bool((src[-1].weight[i] == dst[-1].weight[j]).all()) and bool(src[-1].bias[i] == dst[-1].bias[j])
            for src, dst in zip(src_head.cv3, dst_head.cv3)
        )
        (carried if same else lost).append(name)
    return HeadTransfer(tuple(carried), tuple(new), tuple(lost))
