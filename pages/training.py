"""Training page: start a stage of the plan, watch it live, stop and resume it, read its gates, compare runs."""

import pandas as pd
import streamlit as st

from omr_core.catalog import load_class_sets
from omr_core.jobs import duration_text, running_job
from omr_core.training.launch import (changed_settings, describe_start, failed_gate_models, measure_args, measure_title,
                                     measurement, model_choices, preview_stage, stage_table)
from omr_core.training.pipeline_check import all_passed, result_rows
from omr_core.training.plan import REAL_SCANS, PlanError, load_plan
from omr_core.registry import UntrustedModelError
from omr_core.structures.problems import ProblemLog
from omr_core.training.registry import StageError, balance_preview, list_models, override_gate, prepare_stage
from omr_core.training.runner import request_stop
from omr_core.training.runs import compare_rows, list_runs, wandb_sync_command
from omr_core.ui import (current_workspace, first_start, gpu_available, job_banner, load_json_file, require_entry,
                         start_watched)
from omr_core.viz.training_charts import balance_figure, compare_figure, loss_figure, map_figure

require_entry()
st.title("Training")
ws = current_workspace()
first_start(ws, "training-init")
try:
    plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
except PlanError as exc:
    st.error(f"The training plan cannot be used: {exc}")
    st.stop()
has_gpu = gpu_available()
st.caption(f"Plan **{plan.name}** from `{ws.training_plan_yaml}` · "
           + ("GPU found" if has_gpu else "no GPU: stages use the plan's CPU fallback, short runs sized to finish here"))

JOBS = "training-jobs"  # the page's one job banner
job_banner(ws, ("train", "check", "measure", "stage-data"), JOBS)

unreadable = ProblemLog()
models = list_models(ws, unreadable)
list_runs(ws.runs, unreadable)
for problem in unreadable.problems:
    st.warning(f"Left out: {problem.file}: {problem.message}")
tabs = st.tabs(["Stages", "Runs", "Compare", "Pipeline check"], key="training-tab", on_change="rerun")

with tabs[0]:
    if tabs[0].open:  # only the open tab runs
        st.dataframe(pd.DataFrame(stage_table(ws, plan, models)), hide_index=True, key="training-stages")
        stage_name = st.selectbox("Stage", [s.name for s in plan.stages], key="training-stage")
        stage = plan.stage(stage_name)
        plan_settings = plan.settings_for(stage, has_gpu)

        with st.container(border=True):
            st.markdown(f"**Before stage {stage.name} starts** · class set {stage.class_set.name} "
                        f"({len(stage.class_set)} classes) · starts from {describe_start(plan, stage)}")
            # -- the settings of this run: the plan's on this machine, changed here for this run only
            c = st.columns(4)
            from_yaml = stage.start_from == "none"
            models_offered = model_choices(plan_settings)
            model = c[0].selectbox("Model", models_offered, key=f"training-model-{stage.name}",
                                   index=models_offered.index(plan_settings.model),
                                   disabled=not from_yaml,
                                   help="Built from its YAML; a stage that starts from earlier weights keeps their model")
            imgsz = c[1].number_input("Image size (px)", 64, 4096, plan_settings.imgsz, step=32,
                                      key=f"training-imgsz-{stage.name}")
            batch = c[2].number_input("Batch", 1, 256, plan_settings.batch, key=f"training-batch-{stage.name}")
            changes = changed_settings(plan_settings, model=model, imgsz=int(imgsz), batch=int(batch))
            preview = preview_stage(ws, plan, stage.name, has_gpu, changes)
            default_epochs = preview.settings.epochs  # the plan's, or what the time budget allows
            epochs = c[3].number_input("Epochs", 1, 10_000, default_epochs, key=f"training-epochs-{stage.name}-{default_epochs}")
            if epochs != default_epochs:
                preview = preview_stage(ws, plan, stage.name, has_gpu, {**changes, "epochs": int(epochs)})
            s = preview.settings
            st.caption(f"Also: nominal batch {s.nbs} · patience {s.patience} · device {s.device} · "
                       f"mixed precision {'on' if s.amp else 'off'} · {s.workers} loader workers · "
                       + (f"class balancing to {s.balance.get('min_instances')} boxes a class (repeats at most "
                          f"{s.balance.get('max_repeat')}x)" if s.balance else "no class balancing"))

            # -- the dataset, or the one click that makes it
            recipe = preview.recipe
            if recipe.ready:
                st.markdown(f"Dataset **{stage.dataset}**: {preview.n_images:,} training images"
                            + (f" ({preview.n_train:,} per epoch after class balancing)" if preview.n_train != preview.n_images else "")
                            + f", {preview.n_val:,} for validation"
                            + (f", tiles of {preview.dataset_tile_px} px" if preview.dataset_tile_px else ", whole pages"))
            elif recipe.makeable:
                st.warning(f"Dataset **{stage.dataset}** is not made yet. One click makes it: {recipe.describe()}.",
                           icon=":material/dataset:")
                making = running_job(ws.jobs, "stage-data") is not None
                if st.button(f"Make {stage.dataset}", key="training-make-data", icon=":material/build:", disabled=making,
                             help="A dataset is being made: one at a time" if making else None):
                    start_watched(ws, JOBS, "stage-data", recipe.cli_args(ws.root), f"make {stage.dataset}")
                    st.rerun()
            elif recipe.source == REAL_SCANS:
                st.warning(f"Dataset **{stage.dataset}** is not there yet: {recipe.describe()}.", icon=":material/dataset:")
                st.page_link("pages/annotation.py", label="Label and export real scans", icon=":material/edit:")
            else:
                st.warning(f"Dataset **{stage.dataset}** is made from source {recipe.source}, which this workspace does "
                           "not have: generate it on the Dataset page (Generate tab), or set the stage's `source` in "
                           "the training plan.", icon=":material/dataset:")

            # -- how long it will take here, from a training step measured on this machine
            if preview.estimate is not None:
                e, t = preview.estimate, preview.timing
                m = st.columns([1, 3])
                m[0].metric("Estimated duration", duration_text(e.total_s))
                m[1].caption(f"{e.epochs} epochs of {duration_text(e.epoch_s)} ({e.n_train:,} training and {e.n_val:,} "
                             f"validation images). Measured here: {t.per_train_image_s:.2f} s per training image and "
                             f"{t.val_s:.2f} s per validation image ({t.model}, {t.imgsz} px, batch {t.batch}, "
                             f"{t.device}; {t.date}).")
            elif recipe.ready:
                title = measure_title(s)
                measured = measurement(ws.jobs, title)
                if measured.state == "ended":  # measured once already: never again on its own
                    st.warning(measured.warning, icon=":material/timer_off:")
                    if st.button("Measure again", key="training-measure-again", icon=":material/timer:"):
                        start_watched(ws, JOBS, "measure", measure_args(preview, ws), title)
                        st.rerun()
                else:
                    if measured.state == "start":
                        start_watched(ws, JOBS, "measure", measure_args(preview, ws), title)
                        st.rerun()
                    st.info("Measuring a training step on this machine for the estimate (about 20 s)…",
                            icon=":material/timer:")
            for note in preview.notes:
                (st.warning if note.level == "warning" else st.info)(note.text, icon=":material/info:")

            if recipe.ready and s.balance:
                with st.expander("Class balancing: boxes per class before and after"):
                    images, balanced = balance_preview(ws.dataset(stage.dataset), s.balance)
                    st.plotly_chart(balance_figure(balanced.before, balanced.after, len(images), len(balanced.indices)),
                                    key="training-balance")
                    if balanced.short:
                        st.warning("Under the minimum even after oversampling (the data does not allow more): "
                                   + ", ".join(f"{k} {v:,}" for k, v in balanced.short.items()))
            cols = st.columns(2)
            wandb_mode = cols[0].radio("Weights & Biases", ["offline", "online", "off"], horizontal=True, key="training-wandb",
                                       help="Offline logs into the run folder (upload later with wandb sync); online needs a key")
            wandb_key = cols[1].text_input("W&B API key (kept in this session only)", type="password", key="training-wandb-key",
                                           disabled=wandb_mode != "online")
            training = running_job(ws.jobs, "train")
            if st.button("Start this stage", type="primary", key="training-start", icon=":material/play_arrow:",
                         disabled=training is not None,
                         help=f"{training.info.get('title')} is running: one training at a time" if training else None):
                try:
                    run_dir = prepare_stage(ws, plan, stage.name, has_gpu, wandb=wandb_mode, overrides=preview.overrides,
                                            estimate_s=preview.estimate.total_s if preview.estimate else None,
                                            trust_pickle=st.session_state.get("training-trust", False))
                    start_watched(ws, JOBS, "train", ["train", str(run_dir)], f"train {run_dir.name}",
                                  extra_env={"WANDB_API_KEY": wandb_key} if wandb_key else None)
                    st.rerun()
                except StageError as exc:
                    st.error(str(exc))
                except UntrustedModelError as exc:
                    st.error(str(exc))
                    st.session_state["training-needs-trust"] = True
            if st.session_state.get("training-needs-trust"):
                st.checkbox("I trust this stage's start weights (.pt) and allow them to run", key="training-trust")
        failed = failed_gate_models(models, plan, stage)
        if failed:
            with st.expander(f"Stage {stage.name}'s latest model failed its gate: go on anyway"):
                reason = st.text_input("Why", key="training-override-reason")
                if st.button("Override the gate", key="training-override", disabled=not reason):
                    override_gate(ws, failed[-1]["name"], reason)
                    st.rerun()

with tabs[1]:
    if tabs[1].open:  # only the open tab runs
        runs = list_runs(ws.runs)
        if not runs:
            st.info("No run yet: start a stage.")
        else:
            chosen = st.selectbox("Run", [r.name for r in runs], key="training-run")

            @st.fragment(run_every=2.0)
            def live() -> None:
                run = next((r for r in list_runs(ws.runs) if r.name == chosen), None)
                if run is None:
                    st.warning(f"Run {chosen} is no longer readable")
                    return
                cols = st.columns(5)
                cols[0].metric("State", run.state)
                if run.state == "killed":
                    st.warning("The training process ended without a word (killed, out of memory, or the machine "
                               "restarted)" + (": resume it from its last saved epoch." if run.resumable else "."))
                batch = run.latest_batch if run.state == "running" else None
                cols[1].metric("Epoch", run.epoch_text, help=f"{run.epochs_done} finished")
                cols[2].metric("Batch", f"{batch['batch']:,}" if batch else "-", help="of the epoch running (every 10th)")
                last = run.epochs[-1] if run.epochs else {}
                cols[3].metric("mAP@0.5", "-" if run.last_map50 is None else f"{run.last_map50:.3f}")
                estimate = run.spec.get("estimate_s")
                cols[4].metric("Time", duration_text(run.seconds) or "-",
                               help=None if estimate is None else f"estimated {duration_text(estimate)} before it started")
                if estimate is not None:
                    cols[4].caption(f"estimated {duration_text(estimate)}")
                if run.state == "running" and st.button("Stop", key="training-stop", icon=":material/stop_circle:"):
                    request_stop(run.run_dir)
                if run.resumable and st.button("Resume", key="training-resume", icon=":material/play_arrow:"):
                    start_watched(ws, JOBS, "train", ["train", str(run.run_dir), "--resume"], f"resume {run.name}")
                    st.rerun(scope="app")
                left, right = st.columns(2)
                left.plotly_chart(loss_figure(run.events), key="training-loss")
                right.plotly_chart(map_figure(run.events), key="training-map")
                for fallback in run.fallbacks:
                    st.info(fallback.get("reason") or fallback.get("message", ""))
                for alert in run.alerts:
                    st.warning(f"**{alert['kind']}** ({alert['subject']}, epoch {alert['epoch']}): {alert['message']}. "
                               f"Recommended: {alert['action']}")
                per_class = (run.final or last or {}).get("per_class")
                if per_class:
                    st.dataframe(pd.DataFrame(per_class).T.sort_values("f1"), key="training-per-class")
                if run.gates:
                    for group, results in run.gates.items():
                        st.markdown(f"**{group}**")
                        st.dataframe(pd.DataFrame(results)[["metric", "bound", "threshold", "value", "status"]],
                                     hide_index=True, key=f"training-gate-{group}")
                sync = wandb_sync_command(run.run_dir)
                if sync:
                    st.caption(f"W&B ran offline; to upload: `{sync}`")

            live()

with tabs[2]:
    if tabs[2].open:  # only the open tab runs
        runs = list_runs(ws.runs)
        picked = st.multiselect("Runs", [r.name for r in runs], default=[r.name for r in runs[:2]], key="training-compare")
        chosen_runs = [r for r in runs if r.name in picked]
        if chosen_runs:
            st.plotly_chart(compare_figure({r.name: r.events for r in chosen_runs}), key="training-compare-map")
            st.dataframe(pd.DataFrame(compare_rows(chosen_runs)), hide_index=True, key="training-compare-table")

with tabs[3]:
    if tabs[3].open:  # only the open tab runs
        st.markdown("The plan's early check: 10 samples load, the model builds, one epoch trains, one image is predicted.")
        datasets = ws.list_datasets()
        dataset = st.selectbox("Dataset", datasets, key="training-check-dataset") if datasets else None
        if dataset and st.button("Run the check", key="training-check", icon=":material/checklist:"):
            start_watched(ws, JOBS, "check", ["check", str(ws.dataset(dataset)), "--json", str(ws.jobs / "last-check.json")],
                          f"check {dataset}")
            st.rerun()
        result = load_json_file(ws.jobs / "last-check.json")
        if result:
            st.dataframe(pd.DataFrame(result_rows(result)), hide_index=True, key="training-check-result")
            for step in result:
                if not step["passed"]:
                    st.error(f"{step['description']}: failed. {step['detail'].splitlines()[0]}", icon=":material/error:")
            if all_passed(result):
                st.success("Every step passed: the pipeline works end to end.", icon=":material/check_circle:")
