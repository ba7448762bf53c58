"""Bad inputs give clear errors that name the file; good ones come back as RGB uint8."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from omr_core.formats.images import ImageInputError, check_array, pdf_page_count, read_image


def huge_png(path, width, height):
    """A valid PNG header claiming a huge image (its pixels are never there: the size alone must refuse it)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))
    return path


def empty_page_tree_pdf(path):
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(out)
    return path


def one_page_pdf(path, pages=1):
    import pypdfium2

    document = pypdfium2.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)  # A4 in points
    document.save(path)
    return path


@pytest.mark.parametrize("name, make, message", [
    ("missing.png", None, "no such file"),
    ("empty.png", lambda p: p.write_bytes(b""), "empty \\(0 bytes\\)"),
    ("corrupt.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200))), "not a readable image"),
    ("text.jpg", lambda p: p.write_text("not an image"), "not a readable image"),
    ("dot.png", lambda p: Image.new("L", (1, 1)).save(p), "1x1 px is too small"),
    ("huge.png", lambda p: huge_png(p, 20000, 20000), "over the limit of 170 MP"),
    ("big.png", lambda p: huge_png(p, 13000, 13500), "176 MP\\) is over the limit"),
    ("nopages.pdf", empty_page_tree_pdf, "PDF with no pages"),
    ("broken.pdf", lambda p: p.write_bytes(b"%PDF-1.4\n garbage"), "not a readable PDF"),
])
def test_bad_files_are_refused_by_name(tmp_path, name, make, message):
    path = tmp_path / name
    if make:
        make(path)
    with pytest.raises(ImageInputError, match=message) as caught:
        read_image(path)
    assert str(path) in str(caught.value)


def test_pdf_pages_render_at_the_asked_dpi(tmp_path):
    path = one_page_pdf(tmp_path / "score.pdf", pages=2)
    assert pdf_page_count(path) == 2
    page = read_image(path, page=1, dpi=144)
    assert page.shape == (1684, 1190, 3) and page.dtype == np.uint8 and page.min() == 255  # white A4 at 2x
    with pytest.raises(ImageInputError, match="asked for page 3, but the PDF has 2 pages"):
        read_image(path, page=2)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16"])
def test_image_modes_become_rgb(tmp_path, mode):
    path = tmp_path / f"scan-{mode.replace(';', '')}.png"
    Image.new(mode, (40, 30), 200 if mode != "RGBA" else (200, 200, 200, 255)).save(path)
    image = read_image(path)
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 0, 3), np.uint8), "empty"),
    (np.zeros((1, 1, 3), np.uint8), "too small"),
    (np.zeros((40, 40, 2), np.uint8), "expected an \\(h, w\\)"),
    (np.zeros((40, 40, 3), np.float32), "expected uint8"),
])
def test_bad_arrays_are_refused(array, message):
    with pytest.raises(ImageInputError, match=message):
        check_array(array)


def test_grey_and_rgba_arrays_become_rgb():
    assert check_array(np.zeros((20, 30), np.uint8)).shape == (20, 30, 3)
    assert check_array(np.zeros((20, 30, 4), np.uint8)).shape == (20, 30, 3)


# -- images as a person sees them -------------------------------------------------------------------------------

def _page(height=120, width=80):
    """A white page with a black bar (ink) in its top-left quarter: (h, w) uint8 grey."""
    page = np.full((height, width), 255, np.uint8)
    page[10:40, 5:20] = 0
    return page


def test_exif_orientation_is_applied(tmp_path):
    from omr_core.formats.images import image_size_wh

    page = _page()
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view": how a phone stores a portrait photo taken sideways
    stored = np.ascontiguousarray(np.rot90(page, k=1))  # the pixels as the camera wrote them
    Image.fromarray(stored).convert("RGB").save(tmp_path / "photo.jpg", exif=exif, quality=100)
    seen = read_image(tmp_path / "photo.jpg")
    assert seen.shape == (120, 80, 3) and image_size_wh(tmp_path / "photo.jpg") == (80, 120)
    assert np.abs(seen[:, :, 0].astype(int) - page).mean() < 3  # upright again


def test_a_transparent_background_is_white_paper(tmp_path):
    ink = 255 - _page()  # black ink where opaque, fully transparent paper (whose colour is black)
    rgba = np.dstack([np.zeros((120, 80, 3), np.uint8), ink])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "transparent.png")
    assert np.array_equal(read_image(tmp_path / "transparent.png")[:, :, 0], _page())
    Image.fromarray(rgba[:, :, [0, 3]], "LA").save(tmp_path / "grey-alpha.png")
    assert np.array_equal(read_image(tmp_path / "grey-alpha.png")[:, :, 0], _page())


def test_palette_and_16_bit_images(tmp_path):
    palette = Image.fromarray((_page() == 0).astype(np.uint8), "P")
    palette.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    palette.save(tmp_path / "palette.png")
    assert np.array_equal(read_image(tmp_path / "palette.png")[:, :, 0], _page())
    see_through = Image.fromarray(np.where(_page() == 0, 1, 0).astype(np.uint8), "P")
    see_through.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)  # index 0: black, but transparent
    see_through.save(tmp_path / "palette-transparent.png", transparency=0)
    assert np.array_equal(read_image(tmp_path / "palette-transparent.png")[:, :, 0], _page())
    import cv2

    deep = (_page().astype(np.uint16) * 257)  # 16-bit: 0 and 65535
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    assert np.array_equal(read_image(tmp_path / "deep.png")[:, :, 0], _page())
    blank = np.full((120, 80), 60000, np.uint16)  # a blank 16-bit page is light, never stretched to black
    cv2.imwrite(str(tmp_path / "blank16.png"), blank)
    assert read_image(tmp_path / "blank16.png").min() == round(60000 * 255 / 65535)
