"""Annotation page: correct a model's pre-labels on real scans, work unit by work unit, least sure scan first."""

from pathlib import Path

import pandas as pd
import streamlit as st

from omr_core.annotation.canvas import class_names, unit_drawing, unit_lines, without_unsure
from omr_core.annotation.editing import CanvasSession, save_answer
from omr_core.annotation.export import done_review, export_dataset
from omr_core.annotation.prefs import read_prefs, update_prefs, used_class
from omr_core.annotation.queue import load_predictions, queue, unit_uncertainty
from omr_core.annotation.review import Unreviewed, accept, mark_done, opened, summary, unit_states
from omr_core.annotation.scans import import_scans, list_scans
from omr_core.annotation.store import read_page_labels, read_status, read_version, save_labels, set_status
from omr_core.annotation.units import load_units
from omr_core.annotation.work import boxes_per_class, class_choices
from omr_core.catalog import load_class_sets
from omr_core.inference.detector import list_registry_models, resolve_model
from omr_core.formats.images import DEFAULT_DPI, read_image
from omr_core.inference.uploads import IMAGE_TYPES, UploadError, save_upload
from omr_core.jobs import running_job
from omr_core.structures.problems import ProblemLog
from omr_core.ui import current_workspace, job_banner, require_entry, start_watched
from omr_core.ui.annotator import annotator
from omr_core.viz.draw import class_color, draw_regions, hex_color

TARGET = (100, 200)  # scans to label for fine-tuning (the plan)
NAMES = class_names()
JOBS = "annot-jobs"
STATE_RGB = {"not seen": (150, 150, 150), "seen": (31, 119, 180), "edited": (255, 127, 14), "reviewed": (44, 160, 44)}

require_entry()
st.title("Annotation")
ws = current_workspace()
root = ws.real_scans
job_banner(ws, ("prelabel",), JOBS)

with st.expander("Import scans", expanded=not list_scans(root)):
    files = st.file_uploader("Images or PDFs", type=list(IMAGE_TYPES), accept_multiple_files=True, key="annot-upload")
    dpi = st.number_input("Render PDF pages at dpi", 72, 600, DEFAULT_DPI, step=24, key="annot-dpi")
    if files and st.button("Import", key="annot-import"):
        saved, names = [], []
        for f in files:
            try:
                saved.append(save_upload(ws.root / "uploads" / "scans", f.name, f.getvalue(), IMAGE_TYPES))
                names.append(f.name)
            except UploadError as exc:
                st.error(str(exc))
        result = import_scans(root, saved, dpi=dpi, names=names)
        st.success(f"{len(result.added)} pages added, {len(result.duplicates)} duplicates skipped")
        for problem in result.problems:
            st.error(problem)

unreadable = ProblemLog()
rows = queue(root, unreadable)
if len(unreadable):
    with st.expander(f"{len(unreadable)} files of the real-scan set could not be read: left out, nothing deleted"):
        for problem in unreadable.problems[:50]:
            st.warning(str(problem))
if not rows:
    st.info("No scans yet: import images or PDFs above.")
    st.stop()

prefs = read_prefs(root)
ids = [r["id"] for r in rows]
if st.session_state.get("annot-scan") not in ids:  # a new session opens the scan last worked on
    st.session_state["annot-scan"] = prefs["scan"] if prefs["scan"] in ids else ids[0]
top_left, top_right = st.columns([3, 2])
scan_id = top_left.selectbox("Scan (queue order: least sure first)", ids, key="annot-scan",
                             format_func=lambda i: next(f"{r['source']} p{r['page']} · {r['status']}"
                                                        for r in rows if r["id"] == i))
done = sum(r["status"] == "done" for r in rows)
top_right.progress(min(1.0, done / TARGET[0]), text=f"{done} scans done of the {TARGET[0]}-{TARGET[1]} to aim for")
queue_box, prelabel_box = st.columns(2)
with queue_box.expander(f"Queue: {len(rows)} scans, least sure first"):
    table = pd.DataFrame(rows)[["id", "source", "page", "status", "boxes", "uncertainty", "wanted"]]
    st.dataframe(table, hide_index=True, key="annot-queue", height=240)
scan = next(r for r in rows if r["id"] == scan_id)


@st.cache_resource(max_entries=4, show_spinner=False)
def page_image(path: str, mtime: float):
    return read_image(path)


image_path = root / "images" / f"{scan_id}.png"
image = page_image(str(image_path), image_path.stat().st_mtime)
height, width = image.shape[:2]
found_here = ProblemLog()
page_units = load_units(root, scan_id, image, found_here)
units = page_units.units

# -- pre-labelling (the whole page at once, in the background) ------------------------------------------------
models = list_registry_models(ws)
predictions = load_predictions(root, scan_id)  # a damaged file was reported with the queue
status = read_status(root, scan_id, found_here)
running = running_job(ws.jobs, "prelabel")
with prelabel_box.expander("Pre-label with a model", expanded=predictions is None):
    if models:
        model = st.selectbox("Model", [Path(m["dir"]).name for m in models], key="annot-model")
        chosen = resolve_model(model, ws)
        consent = False
        if not chosen.trusted:
            st.warning(f"{chosen.path}: {chosen.why}. A .pt file is a Python pickle: loading it runs code from it.")
            consent = st.checkbox("I trust this .pt file and allow it to run", key="annot-trust")
        args = ["--model", model, "--workspace", str(ws.root), *(["--trust-pickle"] if consent else [])]
        fresh = [r["id"] for r in rows if r["uncertainty"] is None]
        c1, c2 = st.columns(2)
        allowed = (chosen.trusted or consent) and not running
        if c1.button("Pre-label this page", key="annot-prelabel", disabled=not allowed,
                     help="The model reads the whole page once; its boxes go into every unit not edited yet"):
            start_watched(ws, JOBS, "prelabel", ["prelabel", scan_id, *args], f"pre-label {scan['source']}")
            st.rerun()
        if c2.button(f"Pre-label every scan without pre-labels ({len(fresh)})", key="annot-prelabel-all",
                     disabled=not allowed or not fresh):
            start_watched(ws, JOBS, "prelabel", ["prelabel", "--new", *args], f"pre-label {len(fresh)} scans")
            st.rerun()
        if status.get("prelabelled"):
            done_by = status["prelabelled"]
            st.caption(f"Pre-labelled by {done_by.get('model')} ({done_by.get('at')}): {done_by.get('boxes')} boxes")
    else:
        st.info("No registered model: boxes are drawn from scratch.")

read_page_labels(root, scan_id, (width, height), len(NAMES), found_here)  # lines that cannot be read, named
for problem in found_here.problems:
    st.warning(str(problem))

# -- the work unit: which one, and what the canvas answered --------------------------------------------------
states = unit_states(status, len(units))
unit_key = f"annot-unit-{scan_id}"
if units and st.session_state.get(unit_key) not in range(len(units)):
    remembered = prefs["units"].get(scan_id)
    first_open = next((k for k, s in enumerate(states) if s != "reviewed"), 0)
    st.session_state[unit_key] = remembered if remembered in range(len(units)) else first_open


def session_of(scan: str, unit: int) -> CanvasSession:
    key = f"annot-canvas-{scan}-{unit}"
    return st.session_state.setdefault(f"{key}-session", CanvasSession(key))


def step(unit: int, by: int) -> None:
    """Move to the unit `by` places on (wrapping), preferring ones not reviewed yet."""
    now = unit_states(read_status(root, scan_id), len(units))
    order = [(unit + by * k) % len(units) for k in range(1, len(units) + 1)]
    target = next((k for k in order if now[k] != "reviewed"), order[0])
    st.session_state[unit_key] = target


def do_accept(unit: int) -> None:
    version, text = read_version(root, scan_id)
    accept(root, scan_id, unit, unit_lines(text, (width, height), len(NAMES), units, unit))
    step(unit, 1)


def do_remove_unsure(unit: int) -> None:
    version, text = read_version(root, scan_id)
    marked = read_status(root, scan_id).get("unsure", [])
    cleaned, removed = without_unsure(text, (width, height), len(NAMES), units, unit, marked)
    if removed:
        save_labels(root, scan_id, cleaned, None, base_version=version, base_text=text, started=True,
                    review={unit: "edited" if states[unit] != "reviewed" else "reviewed"})
    st.session_state["annot-removed"] = removed


ACTIONS = {"accept": do_accept, "next": lambda u: step(u, 1), "previous": lambda u: step(u, -1),
           "remove_unsure": do_remove_unsure}
if units:
    unit = st.session_state[unit_key]
    canvas_key = f"annot-canvas-{scan_id}-{unit}"
    session = session_of(scan_id, unit)
    answer = session.new_answer(st.session_state.get(canvas_key))
    if answer is not None:
        saved = save_answer(root, scan_id, session, answer, NAMES, units, unit, (width, height), states[unit])
        for name in saved.unknown:
            st.warning(f"A box labelled {name!r} is no DeepScores class and was not saved: relabel it")
        if saved.conflict is not None:
            st.error(str(saved.conflict))
        if answer.get("new_class") in NAMES or answer.get("recent"):
            update_prefs(root, new_class=answer.get("new_class"), recent=answer.get("recent"))
        if answer.get("action") in ACTIONS:
            ACTIONS[answer["action"]](unit)
    update_prefs(root, scan=scan_id, unit=st.session_state[unit_key])
    prefs = read_prefs(root)

# -- the page and its units ----------------------------------------------------------------------------------
status = read_status(root, scan_id)
states = unit_states(status, len(units))
counts = summary(status, len(units))
if not units:
    st.info(f"{page_units.note}: nothing to label on this page.")
else:
    unit = st.session_state[unit_key]
    if states[unit] == "not seen":  # opened now: seen
        set_status(root, scan_id, None, review={unit: opened(states[unit])})
        status = read_status(root, scan_id)
        states = unit_states(status, len(units))
    left, right = st.columns([1, 2.4])
    regions = [u.xyxy for u in units]
    left.image(draw_regions(image, regions, [str(k + 1) for k in range(len(units))],
                            [STATE_RGB[s] for s in states], max_width=600, highlight=unit))
    left.caption(f"{page_units.note}. Grey: not seen, blue: seen, orange: edited, green: reviewed.")
    scores = [unit_uncertainty(predictions, units, k) if predictions else None for k in range(len(units))]
    right.radio(f"Work unit ({counts['reviewed']} of {counts['units']} reviewed)", list(range(len(units))),
                key=unit_key, format_func=lambda k: f"{k + 1}. {units[k].name} · {states[k]}"
                + ("" if scores[k] is None else f" · uncertainty {scores[k]:.2f}"))
    unit = st.session_state[unit_key]
    marked = set(status.get("unsure", []))
    version, text = read_version(root, scan_id)
    drawing = unit_drawing(text, (width, height), NAMES, units, unit, marked)
    unsure_here = sum(b["unsure"] for b in drawing["boxes"])
    b1, b2, b3, b4 = right.columns(4)
    b1.button("Accept unit", key="annot-accept", type="primary", on_click=do_accept, args=(unit,),
              help="Every box of this unit checked (unsure marks cleared); goes on to the next unit (key A)")
    b2.button(f"Remove {unsure_here} unsure", key="annot-remove-unsure", on_click=do_remove_unsure, args=(unit,),
              disabled=not unsure_here, help="Delete this unit's dashed boxes (key U)")
    b3.button("Previous unit", key="annot-prev", on_click=step, args=(unit, -1), help="Key P")
    b4.button("Next unit", key="annot-next", on_click=step, args=(unit, 1),
              help="Every change is saved as it is made (key N)")
    if st.session_state.pop("annot-removed", None):
        right.caption("Unsure boxes removed and saved.")

    # -- the canvas --------------------------------------------------------------------------------------------
    sets = load_class_sets(ws.class_sets_yaml)
    stage_set = st.session_state.get("annot-stage") if st.session_state.get("annot-stage") in sets else sorted(sets)[-1]
    ordered = class_choices(sets[stage_set].names, prefs["recent"], NAMES)
    new_class = prefs["new_class"] if prefs["new_class"] in NAMES else ordered[0]
    recent = prefs["recent"] or used_class([], new_class)
    session = session_of(scan_id, unit)
    drawing_id = session.give(drawing, version, text)
    view = drawing["view_xyxy"]
    annotator(image[view[1] : view[3], view[0] : view[2]], drawing, drawing_id, ordered,
              {n: hex_color(class_color(n)) for n in NAMES}, new_class, recent, page_units.staff_space_px,
              key=f"annot-canvas-{scan_id}-{unit}")
    st.caption(f"{len(drawing['boxes'])} boxes in this unit ({unsure_here} unsure) · {status.get('boxes', 0)} on "
               f"the page · unit {states[unit]} · scan {status['status']} · new boxes: {new_class}")
    st.selectbox("Class search lists this stage's classes first", sorted(sets), index=len(sets) - 1, key="annot-stage")

# -- the page's status ---------------------------------------------------------------------------------------
c1, c2, c3 = st.columns(3)


def do_done(confirm: bool = False) -> None:
    try:
        mark_done(root, scan_id, len(units), confirm=confirm)
        st.session_state.pop("annot-unreviewed", None)
    except Unreviewed as exc:
        st.session_state["annot-unreviewed"] = (scan_id, str(exc), len(exc.units))


c1.button("Mark done", key="annot-status-done", on_click=do_done,
          help="Done when every unit is reviewed (or you confirm it without)")
c2.button("Skip", key="annot-status-skipped", on_click=lambda: set_status(root, scan_id, "skipped"))
c3.button("Back to todo", key="annot-status-todo", on_click=lambda: set_status(root, scan_id, "todo"))
pending = st.session_state.get("annot-unreviewed")
if pending and pending[0] == scan_id and read_status(root, scan_id)["status"] != "done":
    st.warning(pending[1])
    st.button(f"Mark done with {pending[2]} units not reviewed", key="annot-done-confirm", on_click=do_done,
              args=(True,), help="Recorded in the scan's status, and counted at the export")

# -- progress per class, and export -------------------------------------------------------------------------
with st.expander("Boxes per class: real scans and a training set"):
    datasets = ws.list_datasets()
    compared = st.selectbox("Training set", datasets, key="annot-train-set") if datasets else None
    frame = boxes_per_class(root, rows, NAMES, ws.dataset(compared) if compared else None)
    st.dataframe(frame, key="annot-per-class")

with st.expander("Export the labelled scans for fine-tuning"):
    sets = load_class_sets(ws.class_sets_yaml)
    review = done_review(root)
    st.caption(f"{len(review['scans'])} scans marked done: {review['reviewed']} of {review['units']} work units "
               f"reviewed, {review['unreviewed']} not")
    anyway = True
    if review["half_reviewed"]:
        half = [r for r in review["scans"] if r["unreviewed"]]
        st.warning(f"{len(half)} of the done scans are half-reviewed: "
                   + "; ".join(f"{r['source']} p{r['page']} ({r['unreviewed']} of {r['units']} units not reviewed)"
                               for r in half[:10])
                   + ". Their unreviewed units hold the model's boxes as they came.")
        anyway = st.checkbox("Export the half-reviewed scans too", key="annot-export-anyway")
    e1, e2, e3 = st.columns(3)
    export_set = e1.selectbox("Class set", sorted(sets), index=len(sets) - 1, key="annot-export-set")
    name = e2.text_input("Dataset name", f"real-scans-{export_set}", key="annot-export-name",
                         help="The training plan's fine-tuning stage reads real-scans-3.4 by default")
    tile = e3.selectbox("Tiles", [None, 640, 1024], format_func=lambda t: "whole pages" if t is None else f"{t} px",
                        key="annot-export-tile")
    if st.button("Export", key="annot-export", disabled=not anyway):
        try:
            result = export_dataset(root, ws.dataset(name), list(sets[export_set].names), tile_px=tile,
                                    overwrite=True)
            st.success(f"{ws.dataset(name)}: {result['scans']} scans, {result['images']} images, "
                       f"{result['boxes']} boxes; units reviewed {result['units']['reviewed']}, "
                       f"not reviewed {result['units']['unreviewed']}")
            for problem in result["problems"]:
                st.warning(f"Left out of the export: {problem}")
        except (ValueError, OSError) as exc:  # nothing done yet, a name taken, a full disk: the old set stays
            st.error(str(exc))
