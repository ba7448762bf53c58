"""Engraved pages that know their systems: each staff's Verovio system, as engraved, and the page's phone
variant (the scan-noise "phone" preset) with the staves' boxes moved along."""

from dataclasses import dataclass

import numpy as np
import pytest

# a chorale (four voices, one system of four staves), a rag (piano: braced pairs), a trecento Gloria (pairs
# under brackets, barlines through), a reel (single staves: no system joins two)
SYSTEM_PIECES = ("bach/bwv66.6.mxl", "joplin/maple_leaf_rag.mxl", "trecento/PMFC_24_3-Gloria Ciconia 3.xml",
                 "ryansMammoth/HeadlightJig.abc")


@dataclass
class EngravedPage:
    name: str
    pixels: np.ndarray  # (h, w) uint8
    staves_xyxy: np.ndarray  # (n, 4) the staff boxes, top to bottom
    systems: list[int]  # (n,) system number of each staff, as engraved
    heads_xyxy: np.ndarray  # (m, 4) the noteheads' boxes


def engrave_page(piece: str, seed: int) -> EngravedPage:
    from omr_core.rendering.generate import corpus_root, engraver, load_score
    from omr_core.rendering.verovio_page import render_svg

    toolkit = engraver("Bravura", 40.0, 2100, (1960, 2772), seed + 1)
    assert toolkit.loadData(load_score(corpus_root() / piece)), piece
    page = render_svg(toolkit.renderToSVG(1), 1960, 2772, "Bravura")
    staves = [s for s in page.symbols if s.class_name == "staff"]  # a staff's element id is its system's
    order = np.argsort([s.xyxy[1] for s in staves])
    ids = [staves[k].element_id for k in order]
    systems = [list(dict.fromkeys(ids)).index(i) for i in ids]
    heads = np.array([s.xyxy for s in page.symbols if s.class_name.startswith("notehead")]).reshape(-1, 4)
    return EngravedPage(piece, page.pixels, np.array([staves[k].xyxy for k in order]), systems, heads)


def phone_variant(page: EngravedPage, seed: int) -> EngravedPage:
    from omr_core.datasets.scan_noise import ScanConfig, scan_page

    boxes = np.vstack([page.staves_xyxy, page.heads_xyxy])
    scanned = scan_page(page.pixels, boxes, np.random.default_rng([9, seed]), ScanConfig.preset("phone"))
    n = len(page.staves_xyxy)
    assert scanned.visible[:n].all(), "a staff left the photographed page"
    heads = scanned.xyxy[n:][scanned.visible[n:]]
    return EngravedPage(page.name + " (phone)", scanned.pixels, scanned.xyxy[:n], page.systems, heads)


@pytest.fixture(scope="session")
def system_pages() -> list[EngravedPage]:
    """The first page of each SYSTEM_PIECES piece and its phone variant."""
    pages = []
    for k, piece in enumerate(SYSTEM_PIECES):
        page = engrave_page(piece, k)
        pages += [page, phone_variant(page, k)]
    return pages
