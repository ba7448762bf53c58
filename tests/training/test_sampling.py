from collections import Counter

import pytest

from omr_core.training.sampling import Balance, balance_images, write_image_list


def dataset():
    images = [Counter({"noteheadBlackOnLine": 300, "stem": 280}) for _ in range(100)]  # 30,000 noteheads
    images += [Counter({"noteheadBlackOnLine": 100, "restHalf": 2}) for _ in range(30)]  # 60 rest boxes
    images += [Counter({"stem": 10, "accidentalDoubleFlat": 1})]  # one box of a very rare class
    return images


def test_rare_classes_reach_the_minimum_where_the_data_allows():
    result = balance_images(dataset(), Balance(min_instances=500, max_repeat=10, thin_above=20_000, thin_keep=0.5))
    assert result.before["restHalf"] == 60 and result.after["restHalf"] >= 500  # 60 x 9 = 540
    assert result.after["accidentalDoubleFlat"] == 10 and result.short == {"accidentalDoubleFlat": 10}  # capped
    # dominant classes were thinned but never below the minimum
    assert result.after["noteheadBlackOnLine"] < result.before["noteheadBlackOnLine"] * 9
    assert all(result.after[c] >= 500 for c in result.before if c not in result.short)


def test_seeded_and_written_as_a_list(tmp_path):
    a = balance_images(dataset(), Balance(seed=1))
    assert (a.indices == balance_images(dataset(), Balance(seed=1)).indices).all()
    path = write_image_list(tmp_path / "train.txt", [f"img{i}.png" for i in range(131)], a)
    assert len(path.read_text().splitlines()) == len(a.indices)


def test_thinning_can_never_undercut_the_minimum():
    with pytest.raises(ValueError, match="thin_keep x thin_above"):
        Balance(min_instances=500, thin_above=600, thin_keep=0.5)


def test_a_boosted_class_is_repeated_more():
    plain = balance_images(dataset(), Balance(min_instances=500, max_repeat=10, thin_above=20_000))
    boosted = balance_images(dataset(), Balance(min_instances=500, max_repeat=10, thin_above=20_000,
                                                boost={"restHalf": 2}))
    assert boosted.after["restHalf"] >= 1000 > plain.after["restHalf"]  # 60 x 17
    assert boosted.after["accidentalDoubleFlat"] == plain.after["accidentalDoubleFlat"]
