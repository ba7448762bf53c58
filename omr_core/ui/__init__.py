"""Streamlit pieces shared by app.py and the pages: the workspace sidebar, background-job panels, cached loads.

The only part of omr_core that imports streamlit; nothing else in omr_core imports this package.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from omr_core.jobs import Job, list_jobs, start_job
from omr_core.workspace import Workspace, default_root

WORKSPACE_KEY = "workspace_root"
ENTRY_KEY = "entry_ran"


def mark_entry() -> None:
    """Called by app.py: this session has run the entry script (navigation and sidebar)."""
    st.session_state[ENTRY_KEY] = True


def require_entry() -> None:
    """Pages call this first. If a freshly started server's first request is a page's URL, Streamlit runs the
    page alone (it finds pages/ before app.py has declared its navigation); hand over to app.py instead."""
    if not st.session_state.get(ENTRY_KEY):
        st.switch_page("app.py")


def current_workspace() -> Workspace:
    """The workspace chosen in the sidebar (or the default), so a page also works when run on its own."""
    root = st.session_state.get(WORKSPACE_KEY) or str(default_root())
    return Workspace.open(root)


def workspace_sidebar() -> Workspace:
    """Sidebar: which workspace, what it holds, and the background jobs in it."""
    with st.sidebar:
        st.markdown("### Workspace")
        chosen = st.text_input(
            "Folder", value=st.session_state.get(WORKSPACE_KEY) or str(default_root()),
            help="Sources, datasets, runs, models and real scans live here. Default: $SCOREEYE_WORKSPACE or ./workspace",
        )
        if chosen != st.session_state.get(WORKSPACE_KEY):
            st.session_state[WORKSPACE_KEY] = chosen
        ws = current_workspace()
        st.caption(f"{len(ws.list_sources())} sources · {len(ws.list_datasets())} datasets")
        running = [j for j in list_jobs(ws.jobs) if j.state() == "running"]
        if running:
            st.caption("Running: " + ", ".join(j.info.get("title", j.folder.name) for j in running))
    return ws


def ensure_default(ws: Workspace) -> Job | None:
    """First start: make the default workspace in the background (once). Returns the job while it runs,
    or the failed one (shown with its log and a retry button) until the user retries."""
    jobs = list_jobs(ws.jobs, "init")
    last = jobs[0] if jobs else None
    if last is not None and last.state() in ("running", "failed", "stopped") and ws.is_empty():
        return last
    if ws.is_empty():
        return start_job(ws.jobs, "init", ["init", "--workspace", str(ws.root)], "default workspace")
    return None


def retry_button(job: Job, key: str) -> None:
    """For a failed first-start job: try again."""
    if job.state() in ("failed", "stopped") and st.button("Try again", key=key):
        start_job(job.folder.parent, "init", job.info["command"][3:], job.info.get("title", "init"))
        st.rerun()


def job_panel(job: Job, key: str) -> None:
    """Live progress of a background job; reruns the whole app once when it ends."""

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        progress, state = job.progress(), job.state()
        done, total = progress.get("done", 0), progress.get("total", 0)
        label = f"{job.info.get('title', 'job')}: {progress.get('message', '')}"
        st.progress(min(done / total, 1.0) if total else 0.0, text=f"{label} ({done}/{total or '?'})")
        if state == "running":
            if st.button("Stop", key=f"{key}-stop"):
                job.stop()
            return
        if state == "done":
            st.success(f"{job.info.get('title', 'job')} finished")
        else:
            st.error(f"{job.info.get('title', 'job')} {state}")
            st.code(job.log_tail(3000) or "(no output)")
        if st.session_state.get(f"{key}-seen") != job.folder.name:
            st.session_state[f"{key}-seen"] = job.folder.name
            st.rerun(scope="app")

    _poll()


@st.cache_resource(show_spinner=False)
def gpu_available() -> bool:
    """Whether torch sees a CUDA device (torch imported once per app, not per rerun)."""
    import torch

    return bool(torch.cuda.is_available())


@st.cache_data(show_spinner=False, max_entries=8)
def load_json(path: str, mtime: float) -> dict:
    """A JSON file, cached until it changes (`mtime` is part of the key)."""
    return json.loads(Path(path).read_text())


def load_json_file(path: Path) -> dict | None:
    return load_json(str(path), path.stat().st_mtime) if path.is_file() else None
