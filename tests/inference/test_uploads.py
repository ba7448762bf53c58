import pytest

from omr_core.inference.uploads import IMAGE_TYPES, UploadError, save_upload


def test_an_upload_is_stored_under_its_content_hash(tmp_path):
    first = save_upload(tmp_path, "../../etc/score.PNG", b"png bytes", IMAGE_TYPES)
    again = save_upload(tmp_path, "other-name.png", b"png bytes", IMAGE_TYPES)
    assert first == again and first.parent == tmp_path and first.suffix == ".png"
    assert first.read_bytes() == b"png bytes" and [p.name for p in tmp_path.iterdir()] == [first.name]


@pytest.mark.parametrize("name, data, message", [
    ("model.pkl", b"x", "expected a file ending in"),
    ("noext", b"x", "no suffix"),
    ("empty.png", b"", "empty"),
    ("big.png", b"x" * 2048, "over the upload limit of 0 MB"),
])
def test_bad_uploads_are_refused(tmp_path, name, data, message):
    with pytest.raises(UploadError, match=message):
        save_upload(tmp_path, name, data, IMAGE_TYPES, max_bytes=1024)
    assert not list(tmp_path.iterdir())
