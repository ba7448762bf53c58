"""The real thing: the app served by Streamlit, driven in Debian's Chromium with Playwright."""

import functools
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(ready_workspace):
    yield from serve(ready_workspace)


def serve(workspace, **env_extra):
    """The app on a free port, on `workspace`, until the module's tests are done."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (the README's test command does)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SCOREEYE_WORKSPACE": str(workspace.root), **env_extra}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield f"http://localhost:{port}"
    process.terminate()
    process.wait(10)


def open_app(playwright, server: str):
    """Debian's Chromium, offline, on the app's first page."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.get_by_role("heading", name="Dataset").wait_for(timeout=60_000)
    return browser, page


def test_dataset_page_shows_its_chart_and_gallery(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_app(p, server)
        page.get_by_role("tab", name="Class distribution").click()
        page.locator(".js-plotly-plot .bars").first.wait_for(timeout=30_000)  # the bars are drawn, not just a div
        page.get_by_role("tab", name="Gallery").click()
        images = page.locator('[data-testid="stImage"] img')
        images.first.wait_for(timeout=30_000)
        assert images.count() > 0
        page.screenshot(path=str(tmp_path / "gallery.png"))
        browser.close()


def test_inference_page_detects_in_an_uploaded_image(server, page_path, tmp_path):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    upload = tmp_path / "measure.png"
    Image.open(page_path).crop((200, 250, 1224, 1274)).save(upload)  # a 1024x1024 measure-sized crop
    with sync_playwright() as p:
        browser, page = open_app(p, server)
        page.get_by_role("link", name="Inference").click()
        page.get_by_role("heading", name="Inference").wait_for(timeout=30_000)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(upload))
        page.get_by_text("boxes shown").wait_for(timeout=90_000)
        drawn = page.locator('[data-testid="stImage"] img')
        drawn.first.wait_for(timeout=30_000)
        assert drawn.count() == 1
        page.get_by_role("button", name="Download JSON").wait_for(timeout=30_000)  # drawn after the legend
        page.screenshot(path=str(tmp_path / "inference.png"))
        browser.close()


@pytest.fixture(scope="module")
def eval_server(evaluated_workspace):
    yield from serve(evaluated_workspace)


def test_a_confusion_cell_lists_its_cases(eval_server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = open_app(p, eval_server)
        page.get_by_role("link", name="Evaluation").click()
        page.get_by_role("heading", name="Evaluation").wait_for(timeout=30_000)
        page.get_by_role("tab", name="Confusion").click()
        cell = page.locator(".js-plotly-plot .scatterlayer .point").first
        cell.wait_for(timeout=30_000)
        box = cell.bounding_box()  # Plotly's drag layer lies over the markers: click where the cell is
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.get_by_text("cases: true").wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "confusion.png"))
        browser.close()


# Characters that need an emoji font (a machine without one draws them as empty boxes), and the replacement
# character of text that lost its glyphs.
EMOJI = re.compile("[\U0001F000-\U0001FFFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\uFFFD]")


@functools.lru_cache(maxsize=None)
def has_font_for(char: str) -> bool:
    """Whether a font this machine has (fontconfig's) draws `char`; Streamlit's own web fonts cover less."""
    found = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True)
    return bool(found.stdout.strip())


def check_page(page, where: str, shots: Path) -> None:
    """No traceback, no exception box, no character drawn as an empty box; icons drawn by their font."""
    page.wait_for_timeout(1500)  # let the rerun settle
    page.screenshot(path=str(shots / f"{where}.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{where}: an exception is shown"
    text = page.locator("body").inner_text()
    assert "Traceback" not in text, f"{where}: a traceback is shown"
    boxes = sorted({c for c in text if EMOJI.match(c) or (ord(c) > 127 and not has_font_for(c))})
    assert not boxes, f"{where}: characters without a font on this machine: {[hex(ord(c)) for c in boxes]}"
    icons = page.locator('[data-testid="stIconMaterial"]')
    assert icons.count() > 0, f"{where}: no Material icon (the sidebar's)"
    family = icons.first.evaluate("e => getComputedStyle(e).fontFamily")
    assert "Material Symbols" in family, f"{where}: icons drawn with {family}"
    assert page.evaluate("document.fonts.check('24px \"Material Symbols Rounded\"')"), f"{where}: icon font not loaded"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    from omr_core.workspace import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("fresh-ws"))  # nothing in it: the first start runs in the app
    yield from serve(ws, SCOREEYE_FIRST_START_PAGES="6")


TABS = {"Dataset": ["Overview", "Validation", "Class distribution", "Gallery", "Convert", "Generate", "Class sets"],
        "Training": ["Stages", "Runs", "Compare", "Pipeline check"], "Inference": [], "Evaluation": [],
        "Annotation": []}


def test_every_page_opens_on_a_fresh_workspace(fresh_server, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("SCOREEYE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(fresh_server)
        page.get_by_text("First start").first.wait_for(timeout=60_000)
        check_page(page, "first-start", shots)
        page.get_by_text("Images per split").wait_for(timeout=300_000)  # the default workspace is there
        for name, tabs in TABS.items():
            page.get_by_role("link", name=name).click()
            page.get_by_role("heading", name=name).wait_for(timeout=60_000)
            check_page(page, name.lower(), shots)
            for label in tabs:
                page.get_by_role("tab", name=label).click()
                check_page(page, f"{name.lower()}-{label.lower().replace(' ', '-')}", shots)
            if name == "Inference":  # a page of the first start through the bundled model
                page.get_by_text("Dataset image").click()
                page.get_by_text("boxes shown").wait_for(timeout=120_000)
                check_page(page, "inference-detected", shots)
        browser.close()
