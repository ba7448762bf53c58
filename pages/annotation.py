"""Annotation page: label real scans system by system, pre-filled by a model, least-confident first."""

from pathlib import Path

import pandas as pd
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas

from omr_core.annotation.canvas import class_names, from_canvas, replace_in_crop, to_canvas
from omr_core.annotation.editing import Given, boxes_key, given_now, is_edit
from omr_core.annotation.export import export_dataset
from omr_core.annotation.queue import load_predictions, queue, save_predictions
from omr_core.annotation.scans import import_scans, list_scans
from omr_core.annotation.store import (
    STATUSES,
    LabelConflict,
    read_labels,
    read_page_labels,
    read_status,
    save_labels,
    set_status,
)
from omr_core.annotation.systems import find_systems, grid_crops
from omr_core.annotation.work import (TARGET_SCANS, boxes_per_class, class_choices, detected_as_labels,
                                      labelled_classes, predicted_labels, remember, saving_status, work_units)
from omr_core.catalog import load_class_sets
from omr_core.formats.yolo import format_labels, parse_labels
from omr_core.structures.problems import ProblemLog
from omr_core.inference.detector import SymbolDetector, UntrustedModelError, list_registry_models, resolve_model
from omr_core.formats.images import DEFAULT_DPI, read_image
from omr_core.inference.uploads import IMAGE_TYPES, UploadError, save_upload
from omr_core.structures.detections import MIN_CONF
from omr_core.ui import current_workspace, require_entry

NAMES = class_names()

require_entry()
st.title("Annotation")
ws = current_workspace()
root = ws.real_scans

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

done = sum(r["status"] == "done" for r in rows)
st.progress(min(1.0, done / TARGET_SCANS[0]),
            text=f"{done} scans labelled of the {TARGET_SCANS[0]}-{TARGET_SCANS[1]} to aim for")

with st.expander(f"Queue: {len(rows)} scans, least sure first"):
    table = pd.DataFrame(rows)[["id", "source", "page", "status", "boxes", "uncertainty", "wanted"]]
    st.dataframe(table, hide_index=True, key="annot-queue", height=240)
scan_id = st.selectbox("Scan (queue order: least sure first)", [r["id"] for r in rows], key="annot-scan",
                       format_func=lambda i: next(f"{r['source']} p{r['page']} · {r['status']}" for r in rows if r["id"] == i))
scan = next(r for r in rows if r["id"] == scan_id)


@st.cache_data(max_entries=16, show_spinner=False)
def page_and_systems(path: str):
    image = read_image(path)
    systems = find_systems(image) or grid_crops((image.shape[1], image.shape[0]))
    return image, systems


image, systems = page_and_systems(str(root / "images" / f"{scan_id}.png"))
height, width = image.shape[:2]

# -- pre-labelling --------------------------------------------------------------------------------------------
models = list_registry_models(ws)
predictions = load_predictions(root, scan_id)  # a damaged file was reported with the queue
with st.expander("Pre-label with a model", expanded=predictions is None):
    if models:
        model = st.selectbox("Model", [Path(m["dir"]).name for m in models], key="annot-model")
        chosen = resolve_model(model, ws)
        consent = False
        if not chosen.trusted:
            st.warning(f"{chosen.path}: {chosen.why}. A .pt file is a Python pickle: loading it runs code from it.")
            consent = st.checkbox("I trust this .pt file and allow it to run", key="annot-trust")
        if st.button("Pre-label this scan", key="annot-prelabel", disabled=not (chosen.trusted or consent)):
            try:
                detector = SymbolDetector.load(model, ws, conf=MIN_CONF, trust_pickle=consent)
            except (UntrustedModelError, FileNotFoundError, ValueError) as exc:
                st.error(str(exc))
                st.stop()
            save_predictions(root, scan_id, model, detected_as_labels(detector.detect(image), NAMES), NAMES)
            st.rerun()
    else:
        st.info("No registered model: boxes are drawn from scratch.")

# -- the work unit ------------------------------------------------------------------------------------------
found_here = ProblemLog()
status = read_status(root, scan_id, found_here)
edited = [tuple(c) for c in status.get("edited", [])]
units = {unit.index: unit for unit in work_units(systems, predictions, edited)}  # least sure first
c1, c2 = st.columns([3, 1])
system = c1.radio("Work unit (least sure first)", list(units), format_func=lambda k: units[k].label, horizontal=True,
                  key=f"annot-system-{scan_id}")
zoom = c2.slider("Zoom", 2.0, 3.0, 2.0, 0.5, key="annot-zoom")
crop = tuple(systems[system])
canvas_key = f"annot-canvas-{scan_id}-{system}-{zoom}"
given_key = f"annot-given-{canvas_key}"


# What the canvas reports (read before it is drawn again): an edit is saved against the version it was made on.
reported = ((st.session_state.get(canvas_key) or {}).get("drawing") or {}).get("raw")
value, unknown = from_canvas(reported, NAMES, crop, zoom) if reported is not None else (None, [])
conflict = st.session_state.get("annot-conflict")
given: Given | None = st.session_state.get(given_key)
if (conflict is None or conflict["canvas"] != canvas_key) and is_edit(given, boxes_key(value)):
    given_boxes = labelled_classes(parse_labels(given.text, (width, height))[0], len(NAMES))
    try:
        save_labels(root, scan_id, format_labels(replace_in_crop(given_boxes, value, crop), (width, height)),
                    saving_status(status["status"]), base_version=given.version, base_text=given.text, edited=sorted({*edited, crop}))
    except LabelConflict as exc:  # both edits changed the same boxes: the user's are kept, on the canvas and on disk
        conflict = {"canvas": canvas_key, "drawing": reported, "message": str(exc), "value": boxes_key(value)}
        st.session_state["annot-conflict"] = conflict

status = read_status(root, scan_id, found_here)  # as saved now, by this tab or another
edited = [tuple(c) for c in status.get("edited", [])]
saved_text = read_labels(root, scan_id)
labels = read_page_labels(root, scan_id, (width, height), len(NAMES), found_here)
for problem in found_here.problems:
    st.warning(str(problem))
if crop in edited or predictions is None:
    shown = labels
else:  # not edited yet: the model's boxes, low-confidence ones marked
    shown = predicted_labels(predictions, NAMES)
drawing = to_canvas(shown, NAMES, crop, zoom)
here = conflict is not None and conflict["canvas"] == canvas_key
if here:  # the refused boxes stay on the canvas until the user chooses
    drawing = conflict["drawing"]

# -- class picker: the stage's classes first, then the recent ones, then the rest ------------------------------
sets = load_class_sets(ws.class_sets_yaml)
stage_set = st.selectbox("Stage classes first", sorted(sets), index=len(sets) - 1, key="annot-stage")
recent = st.session_state.setdefault("annot-recent", [])
search = st.text_input("Search classes", key="annot-search")
choices = class_choices(list(sets[stage_set].names), recent, NAMES, search)
if recent:  # the recently used classes, a click away
    st.pills("Recent", recent, key="annot-recent-pick",
             on_change=lambda: st.session_state.update({"annot-class": st.session_state["annot-recent-pick"]})
             if st.session_state.get("annot-recent-pick") else None)
if st.session_state.get("annot-class") not in choices:
    st.session_state.pop("annot-class", None)
label = st.selectbox("Class of new boxes", choices, key="annot-class")
remember(recent, label)

crop_image = Image.fromarray(image[crop[1] : crop[3], crop[0] : crop[2]])
canvas_w, canvas_h = int((crop[2] - crop[0]) * zoom), int((crop[3] - crop[1]) * zoom)
if here:
    st.error(conflict["message"])
    k1, k2 = st.columns(2)
    if k1.button("Reload the saved version", key="annot-conflict-reload"):
        st.session_state.pop("annot-conflict")
        st.session_state[given_key] = given_now(boxes_key(from_canvas(to_canvas(shown, NAMES, crop, zoom), NAMES, crop,
                                                                      zoom)[0]), status["version"], saved_text,
                                                conflict["value"])
        st.rerun()
    if k2.button("Save my boxes of this work unit over it", key="annot-conflict-mine"):
        mine, _ = from_canvas(conflict["drawing"], NAMES, crop, zoom)
        save_labels(root, scan_id, format_labels(replace_in_crop(labels, mine, crop), (width, height)),
                    saving_status(status["status"]),
                    base_version=status["version"], base_text=saved_text, edited=sorted({*edited, crop}))
        st.session_state.pop("annot-conflict")
        st.session_state.pop(given_key, None)
        st.rerun()
result = st_canvas(background_image=crop_image, drawing_mode="labeled_rect", label=label, stroke_width=2,
                   stroke_color="#d62728", fill_color="rgba(0, 0, 0, 0)", initial_drawing=drawing,
                   width=canvas_w, height=canvas_h, key=canvas_key)
if not here:
    st.session_state[given_key] = given_now(boxes_key(from_canvas(drawing, NAMES, crop, zoom)[0]), status["version"],
                                            saved_text, boxes_key(value))
drawn, _ = from_canvas(result.json_data if result is not None else None, NAMES, crop, zoom)
for name in unknown:
    st.warning(f"A box labelled {name!r} is no DeepScores class and was not saved: relabel it")
st.caption(f"{len(drawn)} boxes in this work unit · {status.get('boxes', 0)} saved on the page · "
           f"status {status['status']} · dashed orange: the model was unsure")

b1, b2, b3 = st.columns(3)
for column, (text, new_status) in zip((b1, b2, b3), (("Mark done", "done"), ("Skip", "skipped"), ("Back to todo", "todo"))):
    if column.button(text, key=f"annot-status-{new_status}") and new_status in STATUSES:
        set_status(root, scan_id, new_status)
        st.rerun()

# -- progress per class, and export -------------------------------------------------------------------------
with st.expander("Boxes per class: real scans and a training set"):
    datasets = ws.list_datasets()
    compared = st.selectbox("Training set", datasets, key="annot-train-set") if datasets else None
    st.dataframe(boxes_per_class(root, rows, NAMES, ws.dataset(compared) if compared else None), key="annot-per-class")

with st.expander("Export the labelled scans for fine-tuning"):
    e1, e2, e3 = st.columns(3)
    export_set = e1.selectbox("Class set", sorted(sets), index=len(sets) - 1, key="annot-export-set")
    name = e2.text_input("Dataset name", f"real-scans-{export_set}", key="annot-export-name",
                         help="The training plan's fine-tuning stage reads real-scans-3.4 by default")
    tile = e3.selectbox("Tiles", [None, 640, 1024], format_func=lambda t: "whole pages" if t is None else f"{t} px",
                        key="annot-export-tile")
    if st.button("Export", key="annot-export"):
        try:
            summary = export_dataset(root, ws.dataset(name), list(sets[export_set].names), tile_px=tile,
                                     overwrite=True)
            st.success(f"{ws.dataset(name)}: {summary['scans']} scans, {summary['images']} images, "
                       f"{summary['boxes']} boxes")
            for problem in summary["problems"]:
                st.warning(f"Left out of the export: {problem}")
        except (ValueError, OSError) as exc:  # nothing done yet, a name taken, a full disk: the old set stays
            st.error(str(exc))
