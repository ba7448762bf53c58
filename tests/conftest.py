"""Shared fixtures. Tests never touch the network: Ultralytics and W&B are told so before anything imports them."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from omr_core.offline import apply_defaults

apply_defaults()

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test(request):
    """A page opened on an empty workspace starts the first start's `init` in the background (minutes of
    engraving): stop every job still running in the test's own folders when it ends, so none eats the CPU of
    the tests after it."""
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None  # torn down after
    yield
    if root is None:
        return
    from omr_core.jobs import list_jobs

    for jobs_dir in [root / "jobs", *root.glob("*/jobs"), *root.glob("*/*/jobs")]:
        for job in list_jobs(jobs_dir) if jobs_dir.is_dir() else []:
            if job.state() == "running":
                job.stop()


@pytest.fixture(scope="session")
def sample_json() -> Path:
    return DATA / "deepscores_v2_sample.json"


@pytest.fixture(scope="session")
def drawn_source(tmp_path_factory) -> Path:
    """A small DeepScores-format folder of drawn pages (6 pages of 980x1386: half DeepScores' size)."""
    from omr_core.datasets.drawn_pages import make_drawn_source

    return make_drawn_source(tmp_path_factory.mktemp("drawn"), n_pages=6, seed=3, test_fraction=0.2, wh=(980, 1386))


@pytest.fixture(scope="session")
def ready_workspace(tmp_path_factory):
    """A workspace holding the default drawn dataset (6 pages), as a first start makes it."""
    from omr_core.workflows.default_workspace import make_default
    from omr_core.workspace import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("ui-ws"))
    make_default(ws, n_pages=6)
    return ws


@pytest.fixture(scope="session")
def engraved(tmp_path_factory) -> Path:
    """Two Verovio pages of a piece in music21's corpus, in DeepScores format."""
    from omr_core.rendering.generate import GenerateConfig, generate

    out = tmp_path_factory.mktemp("engraved")
    generate(GenerateConfig(output=str(out), n_pages=2, fonts=("Bravura",), test_fraction=0.0, seed=2, workers=1),
             pieces=["bach/bwv66.6.mxl", "joplin/maple_leaf_rag.mxl"])
    return out


@pytest.fixture(scope="session")
def page_path(engraved) -> Path:
    """The first engraved page (1960x2772 px)."""
    return min((engraved / "images").glob("*.png"))


@pytest.fixture(scope="session")
def evaluated_workspace(tmp_path_factory, engraved):
    """A workspace with the engraved pages converted for the bundled model, and two evaluations of it."""
    import json

    from omr_core.datasets.convert import ConvertConfig, convert_deepscores
    from omr_core.evaluation.run import evaluate
    from omr_core.inference.detector import BUNDLED_MODELS, SymbolDetector
    from omr_core.workspace import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("eval-ws"))
    card_path = min(BUNDLED_MODELS.glob("*/card.json"))
    card = json.loads(card_path.read_text())
    dataset = ws.dataset("engraved")
    convert_deepscores(ConvertConfig(source=str(engraved), output=str(dataset), class_set=card["class_set"],
                                     tile_px=card["tile_px"], overlap_px=card["overlap_px"], val_fraction=0.5,
                                     sample_size=0))
    detector = SymbolDetector.load(card_path.parent.name, backend="torch")
    for split in ("val", "train"):
        evaluate(detector, dataset, split, ws.evaluations / f"bundled-{split}")
    return ws


@pytest.fixture(scope="session")
def prelabelled_photo(tmp_path_factory):
    """A workspace holding the real phone photo (tabi.jpg) imported and pre-labelled by the bundled model, as the
    page's "Pre-label this page" job does it (`python -m omr_core prelabel`); returns (workspace, scan id, what
    the job printed). Copy it before changing it: it is shared."""
    import contextlib
    import io

    from omr_core.annotation.scans import import_scans
    from omr_core.cli import main
    from omr_core.inference.detector import BUNDLED_MODELS
    from omr_core.workspace import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("prelabelled-ws"))
    scan_id = import_scans(ws.real_scans, [DATA / "tabi.jpg"]).added[0]
    model = min(BUNDLED_MODELS.glob("*/card.json")).parent.name
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        assert main(["prelabel", scan_id, "--model", model, "--workspace", str(ws.root)]) == 0, said.getvalue()
    return ws, scan_id, said.getvalue()


# Engraved pages that know their systems: each staff's Verovio system, as engraved, and the page's phone
# variant (the scan-noise "phone" preset) with the staves' and noteheads' boxes moved along.

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


APP = Path(__file__).resolve().parent.parent / "app.py"
