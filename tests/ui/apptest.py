"""Open a workbench page the way a user reaches it: app.py first (sidebar, navigation), then the page."""

from streamlit.testing.v1 import AppTest

from tests.conftest import APP


def open_page(monkeypatch, workspace_root, page: str, timeout: float = 120) -> AppTest:
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(workspace_root))
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def tab(at: AppTest, label: str):
    return next(t for t in at.tabs if t.label == label)
