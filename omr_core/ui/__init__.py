"""Streamlit pieces shared by app.py and the pages: the workspace sidebar, background-job panels, cached loads.

The only part of omr_core that imports streamlit; nothing else in omr_core imports this package.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from omr_core.jobs import Job, list_jobs, progress_text, start_job
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


FIRST_START_PAGES_ENV = "SCOREEYE_FIRST_START_PAGES"  # pages of the first start (default 60; tests use fewer)


def ensure_default(ws: Workspace) -> Job | None:
    """First start: make the default workspace in the background (once). Returns the job while it runs,
    or the failed one (shown with its log and a retry button) until the user retries."""
    jobs = list_jobs(ws.jobs, "init")
    last = jobs[0] if jobs else None
    if last is not None and last.state() in ("running", "failed", "stopped") and ws.is_empty():
        return last
    if ws.is_empty():
        pages = os.environ.get(FIRST_START_PAGES_ENV)
        return start_job(ws.jobs, "init", ["init", "--workspace", str(ws.root), *(["--pages", pages] if pages else [])],
                         "default workspace")
    return None


def first_start(ws: Workspace, key: str) -> None:
    """On a fresh workspace: make the default one (engraved pages, the every-class set and the first stage's
    dataset), show it, and stop the page until it is there."""
    job = ensure_default(ws)
    if job is None:
        return
    st.info("First start: engraving a small set of pages from music21's corpus and converting them, for the "
            "Dataset page and for the training plan's first stage.", icon=":material/hourglass_top:")
    job_panel(job, key)
    retry_button(job, f"{key}-retry")
    st.stop()


def retry_button(job: Job, key: str) -> None:
    """For a failed first-start job: try again."""
    if job.state() in ("failed", "stopped") and st.button("Try again", key=key):
        start_job(job.folder.parent, "init", job.info["command"][3:], job.info.get("title", "init"))
        st.rerun()


def watch(job: Job, key: str) -> Job:
    """Make `job` the one that the page's banner `key` shows, until another job starts."""
    st.session_state[f"{key}-watch"] = job.folder.name
    return job


def start_watched(ws: Workspace, key: str, kind: str, cli_args: list[str], title: str,
                  extra_env: dict | None = None) -> Job:
    """Start a background job from a page and show it in the page's banner."""
    return watch(start_job(ws.jobs, kind, cli_args, title, extra_env), key)


def job_banner(ws: Workspace, kinds: tuple[str, ...], key: str, history: bool = True) -> Job | None:
    """The page's one job banner: the newest running job of these kinds (live, with Stop), else the job this
    session last started or watched, with its result. Every other finished job folds into a history below it.
    Returns the job shown."""
    jobs = [j for j in list_jobs(ws.jobs) if j.info.get("kind") in kinds]
    running = [j for j in jobs if j.state() == "running"]
    watched = st.session_state.get(f"{key}-watch")
    shown = running[0] if running else next((j for j in jobs if j.folder.name == watched), None)
    if shown is not None:
        job_panel(shown, key, also_running=len(running) - 1)
    finished = [j for j in jobs if j is not shown and j not in running]
    if history and finished:
        with st.expander(f"Finished jobs ({len(finished)})"):
            st.dataframe(pd.DataFrame([j.summary() for j in finished]), hide_index=True, key=f"{key}-history")
            unsuccessful = [j for j in finished if j.state() != "done"]
            if unsuccessful:
                pick = st.selectbox("Log of a job that did not finish", unsuccessful, key=f"{key}-history-log",
                                    format_func=lambda j: f"{j.summary()['job']} ({j.summary()['started']})")
                st.code(pick.log_tail(3000) or "(no output)")
    return shown


def job_panel(job: Job, key: str, also_running: int = 0) -> None:
    """Live progress of a background job; reruns the whole app once when it ends."""
    title = job.info.get("title", "job")

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        state = job.state()
        if state == "running":
            st.session_state[f"{key}-watch"] = st.session_state[f"{key}-live"] = job.folder.name  # seen running
            fraction, words = progress_text(job.progress())
            words = f"{title}: {words}" + (f" ({also_running} more running)" if also_running else "")
            st.progress(fraction or 0.0, text=words + ("" if fraction is not None else " …"))
            if st.button("Stop", key=f"{key}-stop", icon=":material/stop_circle:"):
                job.stop()
            return
        summary = job.summary()
        took = f" after {summary['took']}" if summary["took"] else ""
        result = f": {summary['result']}" if summary["result"] else ""
        if state == "done":
            st.success(f"{title} finished{took}{result}", icon=":material/check_circle:")
        else:
            st.error(f"{title} {state}{took}{result}", icon=":material/error:")
            st.code(job.log_tail(3000) or "(no output)")
        if st.session_state.get(f"{key}-live") == job.folder.name:  # it ended while this page watched it
            del st.session_state[f"{key}-live"]
            st.rerun(scope="app")

    _poll()


@st.cache_resource(show_spinner=False)
def gpu_available() -> bool:
    """Whether torch sees a CUDA device (torch imported once per app, not per rerun)."""
    from omr_core.training.launch import gpu_available as probe

    return probe()


@st.cache_data(show_spinner=False, max_entries=8)
def load_json(path: str, mtime: float) -> dict:
    """A JSON file, cached until it changes (`mtime` is part of the key)."""
    return json.loads(Path(path).read_text())


def load_json_file(path: Path) -> dict | None:
    return load_json(str(path), path.stat().st_mtime) if path.is_file() else None
