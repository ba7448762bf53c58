"""The visual sample report: a random set of pages with their boxes drawn, for a person to look at.

Statistics miss what eyes catch at once (boxes shifted by a constant, a class painted on the wrong glyph), so
the plan asks for ~100 random pages in one self-contained HTML file: images are JPEG data URIs, the filter
script is inline, nothing is fetched from anywhere (template: templates/sample.html.j2, autoescaped).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
from markupsafe import Markup
from PIL import Image

from omr_core.fileio import write_atomic
from omr_core.reports.validation import TEMPLATES
from omr_core.structures.detections import Detections
from omr_core.viz.draw import class_color, class_name, draw_detections, hex_color, resize_to_width, to_data_uri

MAX_WIDTH_PX = 1400  # wide enough to see a 2707-px page's noteheads, small enough for 100 pages in one file


class SampleItem(NamedTuple):
    """One page of the sample.

    Attributes:
        image_path: the page image.
        detections: its boxes in the image's pixel coordinates; `class_id` indexes `names`.
        names: class id -> name (dict, or list indexed by id).
        caption: shown under the image (e.g. "train/lg-123-page-2.png").
    """

    image_path: Path
    detections: Detections
    names: dict[int, str] | list[str]
    caption: str


def pick_sample(n_items: int, n: int = 100, seed: int = 0) -> list[int]:
    """`min(n, n_items)` distinct indices into `range(n_items)`, the same for the same seed, ascending (so the
    pages are read in file order)."""
    if n_items < 0 or n < 0:
        raise ValueError(f"n_items and n must be >= 0, but got n_items={n_items}, n={n}")
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(n_items, size=min(n, n_items), replace=False).tolist())


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:16px;color:#222}
.legend{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0 14px}
.legend button{border:1px solid #ccc;background:#fff;border-radius:4px;padding:2px 8px;cursor:pointer;font-size:13px}
.swatch{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:middle}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
figure.card{margin:0;border:1px solid #ddd;padding:6px;background:#fafafa}
figure.card.wide{grid-column:1/-1} figure.card img{width:100%;cursor:zoom-in;display:block}
figure.card.wide img{cursor:zoom-out}
figcaption{font-size:12px;margin-top:4px;word-break:break-all} .error{color:#b00;font-size:13px}
"""

_SCRIPT = """
(function () {
  const select = document.getElementById('class-filter');
  const shown = document.getElementById('shown');
  const cards = Array.from(document.querySelectorAll('figure.card'));
  function show(name) {
    select.value = name;
    let n = 0;
    for (const card of cards) {
      const ok = !name || JSON.parse(card.dataset.classes).includes(name);
      card.style.display = ok ? '' : 'none';
      if (ok) n++;
    }
    shown.textContent = n;
  }
  select.addEventListener('change', () => show(select.value));
  document.querySelectorAll('[data-filter]').forEach(el => el.addEventListener('click', () => show(el.dataset.filter)));
  cards.forEach(card => card.addEventListener('click', () => card.classList.toggle('wide')));
})();
"""


def _load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _card(item: SampleItem, max_width: int) -> tuple[dict, Counter]:
    """What the template shows of one page (its image as a data URI, or why it could not be read) and its class
    counts."""
    det = item.detections
    counts = Counter(class_name(item.names, int(c)) for c in det.class_id.tolist())
    card = {"classes_json": json.dumps(sorted(counts)), "caption": item.caption, "n_boxes": len(det),
            "summary": ", ".join(f"{name} {n}" for name, n in counts.most_common()), "error": None, "uri": None}
    try:
        image = _load_rgb(Path(item.image_path))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return {**card, "error": f"cannot read {item.image_path}: {exc}"}, counts
    # Shrink first and draw on the small image, so lines stay `thickness` px wide in the report.
    image, scale = resize_to_width(image, max_width)
    scaled = Detections(det.xyxy * scale, det.class_id)
    return {**card, "uri": to_data_uri(draw_detections(image, scaled, item.names, thickness=2), fmt="jpeg", quality=80)}, counts


def write_sample_report(items: list[SampleItem], out_html: Path, title: str, max_width: int = MAX_WIDTH_PX) -> Path:
    """Write the sample pages, boxes drawn in their class colours, into one self-contained HTML file.

    The page has a legend with each class's box and image counts and a class filter (select or click a
    legend entry to show only the images holding that class); clicking an image widens it. An image that
    cannot be read gets a card saying why instead of failing the whole report.

    Returns:
        out_html.
    """
    out_html = Path(out_html)
    cards, boxes, images = [], Counter(), Counter()
    for item in items:
        card, counts = _card(item, max_width)
        cards.append(card)
        boxes.update(counts)
        images.update(counts.keys())
    legend = [(name, n, images[name]) for name, n in sorted(boxes.items(), key=lambda kv: (-kv[1], kv[0]))]
    page = TEMPLATES.get_template("sample.html.j2").render(
        title=title, css=Markup(_CSS), script=Markup(_SCRIPT), cards=cards, n_boxes=sum(boxes.values()), legend=legend,
        colors={name: hex_color(class_color(name)) for name in boxes})
    write_atomic(out_html, page)
    return out_html
