"""Dataset page: convert DeepScoresV2 folders to YOLO sets, and see their validation report, class
distribution and a class gallery."""

import pandas as pd
import streamlit as st

from omr_core.catalog import ANNOTATION_SETS, ClassSetError, class_set_rows, load_class_sets, parse_class_sets, save_class_sets
from omr_core.datasets.convert import ConvertConfig, image_folder
from omr_core.datasets.gallery import class_gallery
from omr_core.datasets.index import DatasetIndex
from omr_core.datasets.scaling import SCALE_PRESETS
from omr_core.datasets.scan_noise import PRESETS as SCAN_PRESETS
from omr_core.datasets.split import in_split_order
from omr_core.datasets.scan_variant import preview
from omr_core.rendering.generate import FONTS, GenerateConfig, corpus_collections
from omr_core.ui import current_workspace, first_start, job_banner, load_json_file, require_entry, start_watched
from omr_core.validation.distribution import OK_RATIO, RARE_RATIO, present_classes
from omr_core.viz import box_size_figure, class_counts_figure, imbalance_figure
from omr_core.workspace import DEFAULT_DATASET, check_name, default_dataset_name

CONVERT_DEFAULTS = ConvertConfig(source="", output="")  # the form starts from the converter's own defaults

require_entry()
st.title("Dataset")
ws = current_workspace()

first_start(ws, "dataset-init")

JOBS = "dataset-jobs"  # the page's one job banner
job_banner(ws, ("convert", "generate", "scan", "init", "stage-data"), JOBS)

datasets = ws.list_datasets()
if not datasets:
    st.warning(f"No converted dataset in {ws.datasets} yet: convert a DeepScoresV2 folder below.")
dataset_name = st.selectbox("Dataset", datasets, key="dataset-name",  # the every-class set first: most to see
                            index=datasets.index(DEFAULT_DATASET) if DEFAULT_DATASET in datasets else 0) if datasets else None
dataset = ws.dataset(dataset_name) if dataset_name else None
report = load_json_file(dataset / "reports" / "validation.json") if dataset else None
conversion = load_json_file(dataset / "conversion.json") if dataset else None

sources = ws.list_sources()
tabs = st.tabs(["Overview", "Validation", "Class distribution", "Gallery", "Convert", "Generate", "Class sets"],
               key="dataset-tab", on_change="rerun")

with tabs[0]:
    if tabs[0].open:  # only the open tab runs
        if conversion:
            stats, config = conversion["stats"], conversion["config"]
            cols = st.columns(4)
            cols[0].metric("Images", f"{stats['images_written']:,}")
            cols[1].metric("Boxes", f"{stats['boxes_written']:,}")
            cols[2].metric("Pages", f"{stats['pages_written']:,} / {stats['pages_in_source']:,}")
            cols[3].metric("Classes", len(report["stage_classes"]) if report else "?")
            splits = in_split_order(stats["per_split_images"])
            st.caption("Images per split: " + " · ".join(f"{split} {n:,}" for split, n in splits))
            st.caption(
                f"Class set **{config['class_set']}** of the **{config['annotation_set']}** annotations · "
                + (f"tiles {config['tile_px']} px, overlap {config['overlap_px']} px" if config["tile_px"] else "whole pages")
                + f" · seed {config['seed']} · from `{config['source']}`"
            )
            if stats.get("class_mix_distance") is not None:
                st.caption(f"Page cap {config['max_pages']}: class-mix distance to the full source {stats['class_mix_distance']:.4f} (0 = same mix)")
            if stats["left_out_of_class_set"]:
                with st.expander("Boxes left out because their class is not in the class set"):
                    st.dataframe(pd.Series(stats["left_out_of_class_set"], name="boxes"))
            for label, name, mime in (("Validation report (HTML)", "report.html", "text/html"),
                                      ("Visual sample (HTML)", "sample.html", "text/html"),
                                      ("Validation report (JSON)", "validation.json", "application/json")):
                path = dataset / "reports" / name
                if path.is_file():
                    st.download_button(label, path.read_bytes(), file_name=f"{dataset_name}-{name}", mime=mime)

with tabs[1]:
    if tabs[1].open:  # only the open tab runs
        if report:
            for scope, title in (("source", "Source (DeepScores JSON and images)"), ("converted", "Converted YOLO set")):
                section = report.get(scope)
                if not section:
                    continue
                st.subheader(title)
                problems = section["problems"]
                cols = st.columns(3)
                cols[0].metric("Images", f"{section['pages']:,}")
                cols[1].metric("Boxes", f"{section['boxes']:,}")
                cols[2].metric("Problems", f"{problems['total']:,}")
                if problems["counts"]:
                    st.dataframe(pd.DataFrame(problems["counts"]), hide_index=True)
                    listed = pd.DataFrame(problems["listed"])
                    kinds = st.multiselect("Kinds", sorted(listed["kind"].unique()), key=f"dataset-kinds-{scope}")
                    st.dataframe(listed[listed["kind"].isin(kinds)] if kinds else listed, hide_index=True)
                else:
                    st.success("No problems found.")

with tabs[2]:
    if tabs[2].open:  # only the open tab runs
        if report:
            scope = st.radio("Classes", ["Stage classes (converted set)", "All DeepScores classes (source)"],
                             horizontal=True, key="dataset-scope")
            section = report["converted"] if scope.startswith("Stage") and report.get("converted") else report["source"]
            distribution = section["distribution"]
            present = present_classes(distribution)
            hide_absent = st.toggle("Hide absent classes", value=True, key="dataset-hide-absent")
            classes = present if hide_absent else None
            st.plotly_chart(class_counts_figure(distribution, classes), key="dataset-counts")
            st.plotly_chart(box_size_figure(distribution, present), key="dataset-sizes")
            st.plotly_chart(imbalance_figure(section["imbalance"]["classes"], ok_ratio=OK_RATIO, rare_ratio=RARE_RATIO),
                            key="dataset-imbalance")
            weights = report["class_weights"]
            st.markdown(f"**Suggested class weights** (from the {weights['from']} set, {weights['counts_from']}): "
                        f"`{weights['formula']}`, beta = {weights['beta']}")
            st.dataframe(pd.DataFrame.from_dict(weights["classes"], orient="index"), key="dataset-weights")

with tabs[3]:
    if tabs[3].open:  # only the open tab runs
        if dataset:
            index = DatasetIndex.open(dataset)
            cols = st.columns(3)
            class_name = cols[0].selectbox("Class", index.classes(), key="dataset-gallery-class")
            split = cols[1].selectbox("Split", ["all", *index.splits()], key="dataset-gallery-split")
            seed = cols[2].number_input("Seed", value=0, step=1, key="dataset-gallery-seed")
            if class_name:
                gallery = class_gallery(index, class_name, None if split == "all" else split, seed=int(seed))
                st.caption(f"{len(index.images_with_class(class_name, None if split == 'all' else split))} images hold "
                           f"{class_name}; showing {len(gallery)}")
                for item in gallery:
                    left, right = st.columns([3, 1])
                    left.image(item.drawn_rgb, caption=f"{item.image} · {item.n_instances} × {class_name}")
                    for crop in item.crops_rgb:
                        right.image(crop)

with tabs[4]:
    if tabs[4].open:  # only the open tab runs
        with st.form("dataset-convert-form", enter_to_submit=False):
            st.markdown("Convert a DeepScoresV2 folder (`images/` + `deepscores_train.json` / `deepscores_test.json`).")
            picked = st.selectbox("Source", [*sources, "Another folder…"], key="dataset-source")
            other = st.text_input("Folder (for another folder)", key="dataset-source-path")
            class_sets = load_class_sets(ws.class_sets_yaml)
            cols = st.columns(3)
            name = cols[0].text_input("New dataset name", key="dataset-output", placeholder="source-classset",
                                      help="Empty: the source's name and the class set, e.g. corpus-default-3.1")
            class_set = cols[1].selectbox("Class set", ["all", *class_sets], key="dataset-class-set")
            annotation_set = cols[2].selectbox("Annotation set", list(ANNOTATION_SETS), key="dataset-annotation-set")
            cols = st.columns(4)
            tile = cols[0].selectbox("Tiles", ["whole pages", 640, 1024], key="dataset-tile")
            overlap = cols[1].number_input("Overlap (px)", value=CONVERT_DEFAULTS.overlap_px, min_value=0, step=16,
                                           key="dataset-overlap")
            val_fraction = cols[2].number_input("Validation share", value=CONVERT_DEFAULTS.val_fraction, min_value=0.0,
                                                max_value=0.9, step=0.05, key="dataset-val")
            seed = cols[3].number_input("Seed", value=0, step=1, key="dataset-seed")
            cols = st.columns(3)
            cap = cols[0].selectbox("Size", ["all pages", *SCALE_PRESETS], key="dataset-cap",
                                    format_func=lambda c: c if c == "all pages" else f"{c} ({SCALE_PRESETS[c]:,} pages)")
            labels_only = cols[1].checkbox("Labels only (no images)", key="dataset-labels-only")
            overwrite = cols[2].checkbox("Replace a dataset of that name", key="dataset-overwrite")
            submitted = st.form_submit_button("Convert", type="primary")
        if submitted:
            try:
                source = other if picked == "Another folder…" else str(ws.source(picked))
                if not source:
                    raise ValueError("choose a source folder")
                name = name.strip() or default_dataset_name(source, class_set)
                config = ConvertConfig(
                    source=source, output=str(ws.dataset(check_name(name))), annotation_set=annotation_set,
                    class_set=class_set, class_sets_yaml=str(ws.class_sets_yaml),
                    tile_px=None if tile == "whole pages" else int(tile), overlap_px=int(overlap),
                    val_fraction=float(val_fraction), seed=int(seed),
                    max_pages=None if cap == "all pages" else SCALE_PRESETS[cap], labels_only=labels_only,
                    overwrite=overwrite,
                )
                start_watched(ws, JOBS, "convert", config.cli_args(), f"convert {name}")
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))
        if sources:
            st.caption("Sources in this workspace: " + ", ".join(f"`{s}` ({image_folder(ws.source(s)).name}/)" for s in sources))

with tabs[5]:
    if tabs[5].open:  # only the open tab runs
        st.markdown("Engrave real scores from music21's corpus with Verovio into a new DeepScoresV2-format source "
                    "(pages split by piece), then convert it in the Convert tab.")
        with st.form("dataset-generate-form", enter_to_submit=False):
            cols = st.columns(3)
            gen_name = cols[0].text_input("Source name", value="corpus-pages", key="dataset-gen-name")
            gen_pages = cols[1].number_input("Pages", value=200, min_value=1, step=50, key="dataset-gen-pages")
            gen_seed = cols[2].number_input("Seed", value=0, step=1, key="dataset-gen-seed")
            gen_collections = st.multiselect("Collections (none: all)", corpus_collections(), key="dataset-gen-collections")
            gen_fonts = st.multiselect("Fonts", list(FONTS), default=list(FONTS), key="dataset-gen-fonts")
            generate_clicked = st.form_submit_button("Generate", type="primary")
        if generate_clicked:
            try:
                gen_config = GenerateConfig(output=str(ws.source(check_name(gen_name))), n_pages=int(gen_pages),
                                            collections=tuple(gen_collections), fonts=tuple(gen_fonts), seed=int(gen_seed))
                start_watched(ws, JOBS, "generate", gen_config.cli_args(), f"generate {gen_name}")
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))
        st.subheader("Scan-like variant")
        if sources:
            cols = st.columns(4)
            scan_source = cols[0].selectbox("Source", sources, key="dataset-scan-source")
            scan_page_index = cols[1].number_input("Page", value=0, min_value=0, step=1, key="dataset-scan-page")
            scan_preset = cols[2].selectbox("Preset", SCAN_PRESETS, key="dataset-scan-preset")
            scan_seed = cols[3].number_input("Seed", value=0, step=1, key="dataset-scan-seed")
            try:
                clean, noisy, page_name = preview(ws.source(scan_source), int(scan_page_index), scan_preset, int(scan_seed))
                left, right = st.columns(2)
                left.image(clean, caption=f"{page_name}: clean")
                right.image(noisy, caption=f"{page_name}: {scan_preset}")
            except (IndexError, FileNotFoundError) as exc:
                st.warning(str(exc))
            if st.button("Make the scan-like variant of this source", key="dataset-scan-make"):
                target = ws.source(check_name(f"{scan_source}-{scan_preset}"))
                start_watched(ws, JOBS, "scan", ["scan", str(ws.source(scan_source)), str(target), "--preset", scan_preset,
                                                  "--seed", str(int(scan_seed))], f"scan {scan_source}")
                st.rerun()

with tabs[6]:
    if tabs[6].open:  # only the open tab runs
        st.markdown(f"The stages of progressive class expansion, from `{ws.class_sets_yaml}`. Edit and save; "
                    "every name is checked against the DeepScoresV2 classes before the file is written.")
        text = st.text_area("class_sets.yaml", ws.class_sets_yaml.read_text(), height=420, key="dataset-class-sets-text")
        try:
            resolved = parse_class_sets(text, str(ws.class_sets_yaml))
            if st.button("Save class sets", key="dataset-class-sets-save"):
                save_class_sets(ws.class_sets_yaml, text)
                st.success("Saved.")
            st.dataframe(pd.DataFrame(class_set_rows(resolved)), hide_index=True)
        except ClassSetError as exc:
            st.error(f"Not saved: {exc}")
