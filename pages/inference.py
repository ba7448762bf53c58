"""Inference page: detect symbols in an uploaded image or PDF page, or a dataset image, with any registered model."""

import json
from pathlib import Path

import streamlit as st

from omr_core.formats.images import DEFAULT_DPI, ImageInputError, is_pdf, pdf_page_count
from omr_core.inference.detector import SymbolDetector, ink_choices, list_registry_models, resolve_model
from omr_core.inference.uploads import IMAGE_TYPES, MODEL_TYPES, UploadError, download_name, save_upload
from omr_core.inference.viewing import detect_file, file_digest, filter_shown, scale_view
from omr_core.jobs import running_job
from omr_core.registry import available_backends
from omr_core.structures.detections import DEFAULT_CONF, MIN_CONF
from omr_core.structures.problems import ProblemLog
from omr_core.ui import current_workspace, job_banner, require_entry, start_watched
from omr_core.viz.draw import draw_detections, legend_table, resize_to_width
from omr_core.workspace import Workspace

require_entry()
st.title("Inference")
ws = current_workspace()
JOBS = "infer-jobs"  # the page's one job banner
job_banner(ws, ("export",), JOBS)
uploads = ws.root / "uploads"


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def load_detector(root: str, model: str, backend: str, trust_pickle: bool, mtime: float,
                  ink_classes: tuple[str, ...] = ()) -> SymbolDetector:
    # detections are made once at the MIN_CONF floor; the slider filters them without running again
    return SymbolDetector.load(model, Workspace.open(root), backend=backend, trust_pickle=trust_pickle, conf=MIN_CONF,
                               ink_classes=ink_classes)


# -- the image ---------------------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    origin = st.radio("Image", ["Upload", "Dataset image"], horizontal=True, key="infer-origin")
    image_path, original_name = None, None
    if origin == "Upload":
        uploaded = st.file_uploader("An image or a PDF (png, jpg, tiff, pdf)", type=list(IMAGE_TYPES), key="infer-upload")
        if uploaded is not None:
            try:
                image_path = save_upload(uploads / "images", uploaded.name, uploaded.getvalue(), IMAGE_TYPES)
                original_name = uploaded.name
            except UploadError as exc:
                st.error(str(exc))
    else:
        sources = ws.list_sources()
        if not sources:
            st.info("The workspace has no sources yet: make the default one on the Dataset page.")
        else:
            source = st.selectbox("Source", sources, key="infer-source")
            files = sorted((ws.source(source) / "images").glob("*.png"))
            chosen = st.selectbox("Page", [f.name for f in files], key="infer-file") if files else None
            image_path = ws.source(source) / "images" / chosen if chosen else None
            original_name = chosen
    page, dpi = 0, DEFAULT_DPI
    if image_path is not None and is_pdf(image_path):
        try:
            count = pdf_page_count(image_path)
            page = st.number_input(f"PDF page (of {count})", 1, count, 1, key="infer-page") - 1
            dpi = st.number_input("Render at dpi", 72, 600, DEFAULT_DPI, step=24, key="infer-dpi",
                                  help=f"{DEFAULT_DPI} dpi gives the staff size the models were trained at")
        except ImageInputError as exc:
            st.error(str(exc))
            image_path = None
    scale_mode = st.radio("Staff space", ["Measure it", "I know it", "Native scale"], horizontal=True,
                          key="infer-scale-mode",
                          help="The model reads symbols at the staff space it was trained at: the image is resized "
                               "to it, measured from the staff lines, or from the value you give")
    given_space = st.number_input("This image's staff space (px, line to line)", 3.0, 300.0, 17.0, 0.5,
                                  key="infer-staff-space") if scale_mode == "I know it" else None

# -- the model ---------------------------------------------------------------------------------------------
PICKLE_RISK = ("A .pt file is a Python pickle: loading it runs code from it. Load one only from a source you "
               "trust. An .onnx file holds no code.")
with right:
    bad_cards = ProblemLog()
    cards = list_registry_models(ws, bad_cards)
    for problem in bad_cards.problems:
        st.warning(f"Model card left out: {problem.file}: {problem.message}")
    options = {Path(c["dir"]).name: c for c in cards}
    own = st.checkbox("Use a model file of my own", key="infer-own")
    trust, needs_consent = False, False
    model_key, backend = None, "auto"
    if own:
        model_file = st.file_uploader("A .pt or .onnx model", type=list(MODEL_TYPES), key="infer-model-upload")
        st.caption(PICKLE_RISK)
        if model_file is not None:
            try:
                path = save_upload(uploads / "models", model_file.name, model_file.getvalue(), MODEL_TYPES)
                model_key = str(path)
                needs_consent = not resolve_model(path, ws).trusted
                trust = not needs_consent or st.checkbox("I trust this .pt file and allow it to run", key="infer-trust")
                backend = "torch" if path.suffix == ".pt" else "onnx"
            except UploadError as exc:
                st.error(str(exc))
    elif options:
        name = st.selectbox("Model", list(options), key="infer-model",
                            format_func=lambda n: f"{n} · stage {options[n].get('stage')} · "
                                                  f"{len(options[n].get('classes', []))} classes")
        model_key = name
        folder = Path(options[name]["dir"])
        available = available_backends(folder)
        backend = st.radio("Backend", available, horizontal=True, key="infer-backend",
                           help="ONNX Runtime is ~2x faster than PyTorch on CPU")
        try:
            chosen = resolve_model(name, ws, prefer=backend)
            needs_consent = not chosen.trusted
        except (FileNotFoundError, ValueError) as exc:
            st.error(str(exc))
            st.stop()
        if needs_consent:
            st.warning(f"{chosen.path}: {chosen.why}. {PICKLE_RISK}")
            trust = st.checkbox("I trust this .pt file and allow it to run", key="infer-trust-registered")
        if "onnx" not in available and folder.parent == ws.models:
            if running_job(ws.jobs, "export") is None and st.button("Export to ONNX (parity-checked)", key="infer-export-start",
                                         icon=":material/bolt:"):
                start_watched(ws, JOBS, "export", ["export", name, "--workspace", str(ws.root)], f"export {name}")
                st.rerun()
    else:
        st.info("No registered model yet: train a stage on the Training page, or use a model file of your own.")
    conf = st.slider("Confidence at least", MIN_CONF, 0.95, DEFAULT_CONF, 0.05, key="infer-conf")
    ink_classes = tuple(st.multiselect(
        "Also find from the ink", ink_choices(options[model_key].get("classes", []) if model_key in options else []),
        key="infer-ink-classes",
        help="Thin symbols this model was not trained on, found from the page's ink around the noteheads it finds "
             "(stems, ledger lines, staves: one box per staff, beams: one box per beam line)"))

if image_path is None or model_key is None or (needs_consent and not trust):
    if model_key and needs_consent and not trust:
        st.warning("Tick the box to load this .pt file, or use an .onnx export instead.")
    st.stop()

# -- detect (once per image, model and backend; the sliders only filter) -------------------------------------
model_path = Path(options[model_key]["dir"]) if model_key in options else Path(model_key)
try:
    detector = load_detector(str(ws.root), model_key, backend, trust, model_path.stat().st_mtime, ink_classes)
    key = "-".join(str(part) for part in (file_digest(image_path), page, dpi, model_key, backend, scale_mode, given_space,
                                          *ink_classes))
    if st.session_state.get("infer-key") != key:
        with st.spinner("Detecting..."):
            image, run = detect_file(detector, image_path, page, dpi, staff_space_px=given_space,
                                     scale=1.0 if scale_mode == "Native scale" else None)
        st.session_state.update({"infer-key": key, "infer-run": run, "infer-image": image})
    run, image = st.session_state["infer-run"], st.session_state["infer-image"]
except (ImageInputError, FileNotFoundError, ValueError, PermissionError) as exc:
    st.error(str(exc))
    st.stop()
except Exception as exc:  # a model file that is no detector (a wrong or damaged file): say so, not a traceback
    st.error(f"{model_path}: cannot be loaded as a detector ({type(exc).__name__}: {exc})")
    st.stop()

found = run.detections
names_found = sorted(set(found.data["class_name"].tolist()))
# keyed by the detection: a new image, page, model or backend starts with every class shown
shown_classes = st.multiselect("Classes shown", names_found, default=names_found, key=f"infer-classes-{key}")
shown = filter_shown(found, conf, shown_classes)

width, height = run.image_wh
st.caption(f"{width}x{height} px · {len(run.tiles_xyxy)} tile{'s' if len(run.tiles_xyxy) > 1 else ''} of "
           f"{detector.tile_px} px · {detector.model_path.name} ({backend}) · {len(shown)} of {len(found)} boxes shown")
# -- the scale it was read at
scale = scale_view(run, detector.staff_space_px)
sizes = st.columns(3)
sizes[0].metric("Staff space", scale.staff_space, help=scale.staff_space_help)
sizes[1].metric("Read at", scale.read_at, help=scale.read_at_help)
if scale.confidence is not None:
    sizes[2].metric("Measurement confidence", scale.confidence, help=scale.confidence_help)
st.caption(scale.caption)
if scale.warning:
    st.warning(scale.warning, icon=":material/straighten:")
if run.tiles_full:
    st.warning(f"{run.tiles_full} tile(s) held more symbols than the model keeps: some boxes were lost.")
timing = st.columns(len(run.timings_ms))
for column, (label, value) in zip(timing, run.timings_ms.items()):
    column.metric(f"{label} (ms)", f"{value:.0f}")

drawn = draw_detections(image, shown, detector.names, thickness=max(1, round(width / 1200)))
preview, _ = resize_to_width(drawn, 1600)
picture, key_column = st.columns([3, 1])
picture.image(preview, caption="Detections (boxes coloured by class)", width="stretch")
with key_column:  # the legend beside the picture it explains
    st.markdown("**Colours by class**, and how many boxes of each are drawn")
    legend = legend_table(shown.data["class_name"], names_found)
    st.dataframe(legend.style.apply(lambda row: ["", f"background-color: {row['colour']}; color: {row['colour']}", ""],
                                    axis=1), hide_index=True, key="infer-counts",
                 column_config={"colour": st.column_config.TextColumn("colour", width="small")})
document = detector.run_json(run, original_name, page, shown, conf=conf)
st.download_button("Download JSON", json.dumps(document, indent=1), key="infer-download", mime="application/json",
                   file_name=download_name(original_name, page + 1 if is_pdf(image_path) else None),
                   icon=":material/download:")
