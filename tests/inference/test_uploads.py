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


@pytest.mark.parametrize("original, page, expected", [
    ("Clair de lune.png", None, "Clair_de_lune-symbols.json"),
    ("score.pdf", 3, "score-p3-symbols.json"),
    ("../../etc/passwd.png", None, "passwd-symbols.json"),
    ("C:\\scans\\tabi.jpg", None, "tabi-symbols.json"),
    (None, None, "image-symbols.json"),
])
def test_a_download_is_named_after_the_uploaded_file(original, page, expected):
    from omr_core.inference.uploads import download_name

    assert download_name(original, page) == expected
