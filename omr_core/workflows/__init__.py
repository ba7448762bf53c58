"""Use cases that combine subsystems, above every subsystem they combine (detectron2's `engine/`).

    apply_suggestion   carry out an evaluation's suggestion: a model card, the training plan, the labelling queue
    default_workspace  the first start: engraved pages, converted, and the training plan's first stage's dataset
"""
