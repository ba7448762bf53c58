"""What the Evaluation page shows of a summary: the headline numbers, why completeness is what it is, the
images left out, the verdict counts."""

import pandas as pd

from omr_core.evaluation.viewing import (Metric, completeness_caption, headline, image_names, largest_box_px,
                                         skipped_warning, verdict_counts)

NOTES = {"share": 0.75, "complete": 3, "with_stem": 4, "stem_missed": 1, "head_missed": 0, "without_stem": 0}
SUMMARY = {"mAP50": 0.91234, "mAP75": 0.5, "mAP50-95": 0.4321, "note_completeness": NOTES, "classes": ["stem"],
           "vertical_alignment": {"share": None, "kept_aligned": 0, "aligned_noteheads": 0}}


def test_the_headline_gives_three_maps_and_the_omr_shares_with_what_they_are_of():
    assert headline(SUMMARY) == [
        Metric("mAP@0.5", "0.912"), Metric("mAP@0.75", "0.500"), Metric("mAP@0.5:0.95", "0.432"),
        Metric("Note completeness", "0.750", "3 of 4 stemmed noteheads found with their stem"),
        Metric("Vertical alignment", "n/a", "0 of 0 noteheads in onset columns")]


def test_the_completeness_caption_says_why():
    assert completeness_caption(SUMMARY) == ("Note completeness: 1 of 4 stemmed noteheads are incomplete: 1 were found "
                                             "without their stem, 0 were not found themselves.")


def test_images_left_out_are_named_with_their_first_reasons():
    assert skipped_warning(SUMMARY) is None and skipped_warning({**SUMMARY, "skipped": []}) is None
    skipped = [{"reason": f"img{k}.png: not an image"} for k in range(7)]
    text = skipped_warning({**SUMMARY, "skipped": skipped})
    assert text.startswith("7 images could not be read and were left out: img0.png: not an image; ")
    assert "img4.png" in text and "img5.png" not in text


def test_verdict_counts_name_every_verdict_even_at_zero():
    assert verdict_counts(pd.Series(pd.Categorical(["TP", "FN", "FN"]))) == (
        "**TP** 1 · **FP-background** 0 · **FP-duplicate** 0 · **FP-localisation** 0 · **misclassification** 0 · "
        "**FN** 2 · 3 boxes")


def test_the_size_slider_ends_at_the_largest_box_and_images_are_listed_once():
    boxes = pd.DataFrame({"size": [3.2, 17.01, 5.0], "image": pd.Categorical(["b.png", "a.png", "b.png"])})
    assert largest_box_px(boxes) == 18.0 and largest_box_px(boxes.iloc[:0]) == 1.0
    assert image_names(boxes) == ["a.png", "b.png"]
