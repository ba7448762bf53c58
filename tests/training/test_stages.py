from omr_core.catalog import load_class_sets
from omr_core.training.stages import head_transfer


def test_stage_3_2_starts_from_3_1s_head_rows():
    from omr_core.offline import import_ultralytics

    import_ultralytics()
    import torch
    from ultralytics.nn.tasks import DetectionModel

    sets = load_class_sets()
    old, new = list(sets["3.1"].names), list(sets["3.2"].names)
    source = DetectionModel("yolov8n.yaml", nc=len(old), verbose=False)
    source.names = dict(enumerate(old))
    with torch.no_grad():  # make every row distinct, as a trained head's are
        for seq in source.model[-1].cv3:
            seq[-1].weight.copy_(torch.randn_like(seq[-1].weight))
            seq[-1].bias.copy_(torch.randn_like(seq[-1].bias))
    result = head_transfer(source, list(reversed(new)))  # a new order too: rows must follow the names
    assert result.ok and set(result.carried) == set(old)
    assert set(result.new) == {"restQuarter", "beam", "augmentationDot"}


def test_a_model_without_class_names_transfers_nothing_by_name():
    from omr_core.offline import import_ultralytics

    import_ultralytics()
    import torch
    from ultralytics.nn.tasks import DetectionModel

    source = DetectionModel("yolov8n.yaml", nc=2, verbose=False)  # placeholder names {0: "0", 1: "1"}
    with torch.no_grad():
        for seq in source.model[-1].cv3:
            seq[-1].bias.copy_(torch.randn_like(seq[-1].bias))
    result = head_transfer(source, ["0", "stem", "1"])
    assert not result.ok and set(result.lost) == {"0", "1"}  # the check notices
