"""Read what the detector is given (an image file, a PDF page or an array) as an RGB uint8 array, or say why not.

Every refusal names the file and what was expected: a missing or empty file, one that is no image, a PDF with no
pages (or fewer than asked), an image too small to hold a symbol, or one so large it would not fit in memory.

An image is read as a person sees it in a viewer (`as_seen_rgb`): its EXIF orientation applied (a phone photo
held upright), transparency composited on white paper (a transparent PNG is not a black page), palette and
two-level images expanded, and 16-bit or float greys brought to 8 bits by their full range (65535 -> 255),
never stretched (a blank 16-bit page stays white).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

MIN_SIDE_PX = 16  # a notehead is ~16 px at DeepScores' scale: anything smaller holds no symbol
MAX_PIXELS = 170_000_000  # ~510 MB as RGB, past a 600-dpi A3 page (~70 MP); under Pillow's bomb limit (179 MP)
DEFAULT_DPI = 240  # a printed staff space of ~1.75 mm becomes ~16.5 px, the scale the detector was trained at
PDF_MAGIC = b"%PDF-"


class ImageInputError(ValueError):
    """An input the detector cannot read; the message names the file and what was wrong."""


def check_array(image: np.ndarray, where: str = "image") -> np.ndarray:
    """An (h, w, 3) uint8 RGB array from a grey, RGB or RGBA array, or an error saying what came instead."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ImageInputError(f"{where}: expected an (h, w), (h, w, 3) or (h, w, 4) array, but got shape {image.shape}")
    height, width = image.shape[:2]
    _check_size(width, height, where)
    if image.dtype != np.uint8:
        raise ImageInputError(f"{where}: expected uint8 pixels, but got {image.dtype}")
    return np.ascontiguousarray(image[:, :, :3])


def _check_size(width: int, height: int, where: str) -> None:
    if width == 0 or height == 0:
        raise ImageInputError(f"{where}: the image is empty ({width}x{height} px)")
    if min(width, height) < MIN_SIDE_PX:
        raise ImageInputError(f"{where}: {width}x{height} px is too small to hold a symbol "
                              f"(need at least {MIN_SIDE_PX} px a side)")
    if width * height > MAX_PIXELS:
        raise ImageInputError(f"{where}: {width}x{height} px ({width * height / 1e6:.0f} MP) is over the limit of "
                              f"{MAX_PIXELS / 1e6:.0f} MP; scale it down or cut it into pages first")


def is_pdf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(PDF_MAGIC)) == PDF_MAGIC


def _open_pdf(path: Path):
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:  # PDFium also refuses a document whose page tree is empty
        raise ImageInputError(f"{path}: not a readable PDF, or a PDF with no pages ({exc})") from exc


def pdf_page_count(path: Path | str) -> int:
    document = _open_pdf(Path(path))
    try:
        return len(document)
    finally:
        document.close()


def read_pdf_page(path: Path | str, page: int = 0, dpi: float = DEFAULT_DPI) -> np.ndarray:
    """Page `page` (0-based) of a PDF rendered at `dpi`, as RGB."""
    path = Path(path)
    document = _open_pdf(path)
    try:
        if len(document) == 0:
            raise ImageInputError(f"{path}: the PDF has no pages")
        if not 0 <= page < len(document):
            raise ImageInputError(f"{path}: asked for page {page + 1}, but the PDF has {len(document)} pages")
        pdf_page = document[page]
        width_pt, height_pt = pdf_page.get_size()
        scale = dpi / 72.0
        _check_size(round(width_pt * scale), round(height_pt * scale), f"{path} page {page + 1} at {dpi} dpi")
        bitmap = pdf_page.render(scale=scale, fill_color=(255, 255, 255, 255))
        return check_array(np.array(bitmap.to_pil().convert("RGB")), f"{path} page {page + 1}")
    finally:
        document.close()


ORIENTATION_TAG = 0x0112  # EXIF orientation: 5-8 turn the picture a quarter, so width and height swap
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _orientation(image) -> int:
    try:
        return int(image.getexif().get(ORIENTATION_TAG) or 1)
    except Exception:  # a damaged EXIF block: the picture as stored
        return 1


def image_size_wh(path: Path | str) -> tuple[int, int]:
    """(width, height) of an image file as it is seen (EXIF orientation applied), read from its header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            return (height, width) if _orientation(image) in (5, 6, 7, 8) else (width, height)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, ImportError) as exc:
        raise ImageInputError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc


def is_plain_image(path: Path | str) -> bool:
    """Whether any reader (OpenCV, Ultralytics) sees the file as `as_seen_rgb` does: 8-bit grey or RGB, no
    transparency, no EXIF turn. Other files are written out again as they are seen."""
    from PIL import Image

    with Image.open(path) as image:
        return image.mode in ("L", "RGB", "1") and "transparency" not in image.info and _orientation(image) == 1


def as_seen_rgb(image) -> np.ndarray:
    """A decoded PIL image as the (h, w, 3) uint8 RGB array a viewer would show (see the module docstring)."""
    from PIL import Image, ImageOps

    if _orientation(image) != 1:
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = np.asarray(image, dtype=np.float64)
        top = float(grey.max()) if grey.size else 0.0
        scale = 255.0 if image.mode == "F" and top <= 1.0 else (1.0 if top <= 255 else 255.0 / 65535.0)
        return np.repeat(np.clip(np.rint(grey * scale), 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    if (image.mode == "P" and "transparency" in image.info) or image.mode in ALPHA_MODES:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.array(Image.alpha_composite(paper, rgba).convert("RGB"))
    return np.array(image.convert("RGB"))


def read_image(path: Path | str, page: int = 0, dpi: float = DEFAULT_DPI) -> np.ndarray:
    """An image file (png, jpg, tiff...) or one page of a PDF, as an (h, w, 3) uint8 RGB array."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageInputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageInputError(f"{path}: the file is empty (0 bytes)")
    if is_pdf(path):
        return read_pdf_page(path, page, dpi)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies below
            image = Image.open(path)
        with image:
            _check_size(*image.size, str(path))  # before decoding: a huge image is refused, not loaded
            image.load()
            return check_array(as_seen_rgb(image), str(path))
    except ImageInputError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow refuses past 179 MP before we see the size
        raise ImageInputError(f"{path}: the image is over the limit of {MAX_PIXELS / 1e6:.0f} MP; scale it down "
                              f"or cut it into pages first ({exc})") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageInputError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from exc
    except ImportError as exc:  # Ultralytics patches Image.open to retry unknown files as HEIF, via a missing plugin
        raise ImageInputError(f"{path}: not a readable image (Pillow cannot identify it)") from exc
