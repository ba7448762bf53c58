"""Importing real scans: images, PDF pages, duplicates by content, unreadable files reported."""

import shutil

from PIL import Image

from omr_core.annotation.scans import import_scans, list_scans
from tests.conftest import DATA


def pdf_of(pages, path):
    images = [Image.open(p).convert("RGB") for p in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=150)
    return path


def test_images_pdf_pages_and_duplicates(tmp_path, page_path):
    photo = DATA / "real_scans" / "tabi.jpg"
    first = import_scans(tmp_path / "set", [photo, page_path])
    assert len(first.added) == 2 and not first.duplicates and not first.problems
    copy = tmp_path / "same-photo-again.jpg"
    shutil.copyfile(photo, copy)
    pdf = pdf_of([page_path, photo], tmp_path / "book.pdf")
    second = import_scans(tmp_path / "set", [copy, pdf], dpi=100)
    assert [d[1] for d in second.duplicates] == [first.added[0]]  # the copy; the PDF pages are rendered anew
    assert len(second.added) == 2
    scans = list_scans(tmp_path / "set")
    assert [s["source"] for s in scans] == ["tabi.jpg", page_path.name, "book.pdf", "book.pdf"]
    assert [s["page"] for s in scans[2:]] == [1, 2] and scans[2]["dpi"] == 100
    assert all((tmp_path / "set" / "images" / f"{s['id']}.png").is_file() for s in scans)
    again = import_scans(tmp_path / "set", [pdf], dpi=100)
    assert len(again.duplicates) == 2 and not again.added  # the same PDF at the same dpi


def test_unreadable_files_are_reported_and_the_rest_imported(tmp_path, page_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    result = import_scans(tmp_path / "set", [broken, page_path], names=["scan 7.png", "good.png"])
    assert len(result.added) == 1 and "broken.png" in result.problems[0]
    assert [s["source"] for s in list_scans(tmp_path / "set")] == ["good.png"]
