"""Open a workbench page the way a user reaches it: app.py first (sidebar, navigation), then the page."""

import re

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


def open_tab(at: AppTest, key: str, label: str):
    """Open a page's tab as a click on it does (the tabs keep their state under `key`); returns the tab."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, at.exception
    return tab(at, label)


# What a page must never show a person: Python's None, a dict or list repr, a raw JSON tree.
RAW = re.compile(r"\bNone\b|\{'|\{\"|\[\{|': |\bnan\b")


def shown_text(at: AppTest) -> list[str]:
    """Every string the page shows as text: markdown, captions, alerts, metrics, labels of widgets."""
    texts = []
    for kind in ("markdown", "caption", "text", "info", "warning", "success", "error", "title", "header", "subheader"):
        texts += [str(e.value) for e in at.get(kind)]
    texts += [f"{m.label} {m.value}" for m in at.metric]
    return texts


def assert_nothing_raw(at: AppTest) -> None:
    assert not at.get("json"), "a raw JSON tree is on the page"
    raw = [t for t in shown_text(at) if RAW.search(t)]
    assert not raw, f"raw values on the page: {raw}"


def forms(at: AppTest) -> dict[str, bool]:
    """Every form on the page: its id and whether Enter in one of its fields submits it."""
    found, todo = {}, [at._tree]
    while todo:
        node = todo.pop()
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "WhichOneof") and "form" in type(proto).DESCRIPTOR.fields_by_name \
                and proto.WhichOneof("type") == "form":
            found[proto.form.form_id] = proto.form.enter_to_submit
        todo += list(getattr(node, "children", {}).values())
    return found
