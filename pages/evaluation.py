"""Evaluation page: run an evaluation, read its metrics, and drill into failures per class."""

from pathlib import Path

import pandas as pd
import streamlit as st

from omr_core.evaluation.cases import (ROLES, case_detections, case_drawing, case_table, cell_mask, compare,
                                       confusion_labels, describe_case, filter_mask, image_path, one_row_per_case)
from omr_core.evaluation.run import load_evaluation, training_counts
from omr_core.evaluation.suggestions import suggest
from omr_core.evaluation.verdicts import FALSE, VERDICTS
from omr_core.evaluation.viewing import (completeness_caption, headline, image_names, largest_box_px, skipped_warning,
                                         verdict_counts)
from omr_core.inference.detector import ink_choices, list_registry_models, resolve_model
from omr_core.formats.images import read_image
from omr_core.structures.detections import DEFAULT_CONF
from omr_core.structures.problems import ProblemLog
from omr_core.ui import current_workspace, job_banner, require_entry, start_watched
from omr_core.viz.draw import case_crop, draw_detections, resize_to_width
from omr_core.viz.evaluation_charts import confusion_figure
from omr_core.workflows.apply_suggestion import APPLICABLE, apply, describe_action, targets

GALLERY = 24

require_entry()
st.title("Evaluation")
ws = current_workspace()
JOBS = "eval-jobs"  # the page's one job banner
evaluating = job_banner(ws, ("evaluate",), JOBS)

with st.expander("New evaluation", expanded=not ws.list_evaluations()):
    bad_cards = ProblemLog()
    cards = {Path(c["dir"]).name: c for c in list_registry_models(ws, bad_cards)}
    models = list(cards)
    for problem in bad_cards.problems:
        st.warning(f"Model card left out: {problem.file}: {problem.message}")
    datasets = ws.list_datasets()
    if not models or not datasets:
        st.info("An evaluation needs a registered model and a converted dataset.")
    else:
        c1, c2, c3, c4 = st.columns(4)
        model = c1.selectbox("Model", models, key="eval-model")
        dataset = c2.selectbox("Dataset", datasets, key="eval-dataset")
        split = c3.selectbox("Split", ["val", "test", "train"], key="eval-split")
        conf = c4.number_input("Confidence", 0.01, 0.99, DEFAULT_CONF, 0.05, key="eval-conf")
        ink_classes = st.multiselect(
            "Also find from the ink", ink_choices(cards[model].get("classes", [])),
            key="eval-ink-classes", help="Thin classes this model was not trained on, found from the ink around the "
                                         "noteheads it finds, and evaluated as its own")
        chosen = resolve_model(model, ws)
        consent = False
        if not chosen.trusted:
            st.warning(f"{chosen.path}: {chosen.why}. A .pt file is a Python pickle: loading it runs code from it.")
            consent = st.checkbox("I trust this .pt file and allow it to run", key="eval-trust")
        running = evaluating is not None and evaluating.state() == "running"
        if st.button("Evaluate", key="eval-start", disabled=running or not (chosen.trusted or consent),
                     icon=":material/play_arrow:",
                     help="One evaluation at a time: this one waits for the running one" if running else None):
            start_watched(ws, JOBS, "evaluate", ["evaluate", model, dataset, "--split", split, "--conf", str(conf),
                                                 "--workspace", str(ws.root), *(["--trust-pickle"] if consent else []),
                                                 *(["--ink-classes", *ink_classes] if ink_classes else [])],
                          f"evaluate {model} on {dataset}/{split}")
            st.rerun()

names = ws.list_evaluations()
if not names:
    st.stop()


@st.cache_data(max_entries=8, show_spinner=False)
def load(folder: str, mtime: float):
    return load_evaluation(Path(folder))


@st.cache_data(max_entries=8, show_spinner=False)
def picture_of(path: str):
    return read_image(path)


def open_evaluation(name: str):
    folder = ws.evaluations / name
    return load(str(folder), (folder / "summary.json").stat().st_mtime)


def show_cases(cases: dict) -> None:
    """A suggestion's cases: set the Failures tab's filters and open it."""
    st.session_state.update({"eval-f-classes": cases.get("classes", []), "eval-f-role": cases.get("role", "either"),
                             "eval-f-verdicts": cases.get("verdicts", list(VERDICTS)), "eval-tab": "Failures"})


name = st.selectbox("Evaluation", names, index=len(names) - 1, key="eval-name")
summary, boxes = open_evaluation(name)
st.caption(f"{summary.get('model_name') or summary['model']} on `{summary['dataset']}` ({summary['split']}, "
           f"{summary['images']} images) · verdicts at confidence {summary['conf']} and IoU {summary['iou']}")
if skipped_warning(summary):
    st.warning(skipped_warning(summary))
metrics = headline(summary)
for column, metric in zip(st.columns(len(metrics)), metrics):
    column.metric(metric.label, metric.value, help=metric.help)
st.caption(completeness_caption(summary))

tabs = st.tabs(["Per class", "Confusion", "Failures", "Suggestions", "Compare"], key="eval-tab", on_change="rerun")

with tabs[0]:
    if tabs[0].open:  # only the open tab runs
        table = pd.DataFrame(summary["per_class"])
        columns = ["class", "gt", "pred", "tp", "precision", "recall", "f1", "best_conf", "best_f1", "ap50", "ap50_95",
                   *FALSE, "FN"]
        st.dataframe(table[columns].sort_values("f1"), hide_index=True, key="eval-per-class",
                     column_config={"best_conf": st.column_config.NumberColumn("F1-best conf", format="%.2f")})

with tabs[1]:
    if tabs[1].open:  # only the open tab runs
        event = st.plotly_chart(confusion_figure(summary["confusion"], *confusion_labels(summary["classes"])), key="eval-confusion",
                                on_select="rerun", selection_mode="points")
        points = (event or {}).get("selection", {}).get("points", []) if event else []
        if points:
            true, predicted = points[0]["y"], points[0]["x"]
            cases = boxes[cell_mask(boxes, true, predicted)]
            st.markdown(f"**{len(cases)} cases: true {true}, predicted {predicted}**")
            st.dataframe(case_table(cases), hide_index=True, key="eval-cell-cases")
        else:
            st.caption("Click a cell to list its cases.")

with tabs[2]:
    if tabs[2].open:  # only the open tab runs
        f1, f2, f3 = st.columns([3, 2, 3])
        classes = f1.multiselect("Classes", summary["classes"], key="eval-f-classes")
        role = f2.radio("Class is the", ROLES, horizontal=True, key="eval-f-role",
                        format_func={"either": "true or predicted", "true": "true", "predicted": "predicted"}.get,
                        help="true: the ground truth's class; predicted: the model's; either: both ways")
        verdicts = f3.multiselect("Verdicts", list(VERDICTS), default=[v for v in VERDICTS if v != "TP"],
                                  key="eval-f-verdicts")
        f3, f4, f5 = st.columns(3)
        conf_range = f3.slider("Confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="eval-f-conf",
                               help="Ground truth has no confidence: it shows while the range starts at 0")
        biggest = largest_box_px(boxes)
        size_range = f4.slider("Box size (px, square root of the area)", 0.0, biggest, (0.0, biggest), key="eval-f-size")
        image = f5.selectbox("Image", ["(all)", *image_names(boxes)], key="eval-f-image")
        mask = filter_mask(boxes, classes or None, verdicts or None, conf_range, size_range,
                           None if image == "(all)" else image, role=role)
        chosen = boxes[mask]
        st.markdown(verdict_counts(chosen["verdict"]))
        order = boxes[one_row_per_case(boxes, mask)].sort_values("confidence", ascending=False, na_position="last")
        shown = order.head(GALLERY)
        grid = st.columns(4)
        for k, (index, case) in enumerate(shown.iterrows()):
            picture = picture_of(str(image_path(summary, str(case["image"]))))
            same_image = boxes[boxes["image"] == case["image"]]
            grid[k % 4].image(case_crop(picture, **case_drawing(case, same_image)), caption=f"{case['verdict']} · {describe_case(case)}")
        if len(order) > GALLERY:
            st.caption(f"The {GALLERY} most confident of {len(order)} cases are shown; narrow the filters to see others.")
        if len(order) < len(chosen):
            st.caption("A misread box shows once, as its prediction: its ground truth (an FN) is the same case.")
        if len(shown):
            jump = st.selectbox("Open a full image", image_names(shown), key="eval-jump")
            picture = picture_of(str(image_path(summary, jump)))
            on_image = boxes[(boxes["image"] == jump) & mask]
            drawn = draw_detections(picture, case_detections(on_image, summary["classes"]), summary["classes"])
            st.image(resize_to_width(drawn, 1600)[0], caption=f"{jump}: the filtered boxes", width="stretch")

with tabs[3]:
    if tabs[3].open:  # only the open tab runs
        found = suggest(summary, boxes, training_counts(summary, list_registry_models(ws), ws.datasets))
        where = targets(ws, summary)  # the registered model the evaluation ran, and the plan's stages
        evaluated, plan_stages = where.model, where.stages
        if not found:
            st.success("No rule fires: no class is below the thresholds the rules watch.")
        for s in found:
            with st.container(border=True):
                st.markdown(f"**{s.rule}** · {s.message}")
                (st.warning if s.weak else st.caption)(f"Evidence: {s.evidence_text()}.",
                                                      **({"icon": ":material/warning:"} if s.weak else {}))
                st.caption(describe_action(s.action) + ".")
                key = f"eval-apply-{s.rule}-{'-'.join(s.classes)}"
                st.button("Show these cases", key=f"{key}-cases", on_click=show_cases, args=(s.cases,),
                          icon=":material/filter_alt:")
                if s.action["kind"] == "class_threshold" and evaluated is not None:
                    if st.button(f"Apply to {evaluated['name']}", key=key):
                        st.success(apply(s, summary["model"], ws))
                elif s.action["kind"] in APPLICABLE and plan_stages:
                    target = st.selectbox("Stage of the training plan", plan_stages, index=where.first, key=f"{key}-stage")
                    if st.button(f"Apply to stage {target}", key=key):
                        try:
                            st.success(apply(s, ws=ws, stage=target))
                        except ValueError as exc:
                            st.error(str(exc))

with tabs[4]:
    if tabs[4].open:  # only the open tab runs
        if len(names) < 2:
            st.info("Compare needs two evaluations (two models, or one model on clean and scan-like pages).")
        else:
            a = st.selectbox("A", names, index=0, key="eval-cmp-a")
            b = st.selectbox("B", names, index=len(names) - 1, key="eval-cmp-b")
            delta = compare(open_evaluation(a)[0], open_evaluation(b)[0])
            st.dataframe(delta, hide_index=True, key="eval-compare")
