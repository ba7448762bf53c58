"""Training page: start a stage of the plan, watch it live, stop and resume it, read its gates, compare runs."""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from omr_core.catalog import load_class_sets
from omr_core.jobs import list_jobs, start_job
from omr_core.registry import UntrustedModelError
from omr_core.structures.problems import ProblemLog
from omr_core.training.plan import PlanError, load_plan
from omr_core.training.registry import StageError, balance_preview, list_models, override_gate, prepare_stage
from omr_core.training.runner import request_stop
from omr_core.training.runs import list_runs, wandb_sync_command
from omr_core.ui import require_entry, current_workspace, gpu_available, job_panel
from omr_core.viz.training_charts import compare_figure, loss_figure, map_figure

require_entry()
st.title("Training")
ws = current_workspace()
try:
    plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
except PlanError as exc:
    st.error(f"The training plan cannot be used: {exc}")
    st.stop()
has_gpu = gpu_available()
st.caption(f"Plan **{plan.name}** from `{ws.training_plan_yaml}` · "
           + ("GPU found" if has_gpu else "no GPU: stages use the plan's CPU fallback (for checking, not results)"))

for job in list_jobs(ws.jobs, "train")[:1] + list_jobs(ws.jobs, "check")[:1]:
    if job.state() == "running":
        job_panel(job, f"training-{job.info['kind']}")

unreadable = ProblemLog()
models = list_models(ws, unreadable)
runs = list_runs(ws.runs, unreadable)
for problem in unreadable.problems:
    st.warning(f"Left out: {problem.file}: {problem.message}")
tabs = st.tabs(["Stages", "Runs", "Compare", "Pipeline check"])

with tabs[0]:
    rows = []
    for stage in plan.stages:
        cards = [c for c in models if c.get("plan") == plan.name and c.get("stage") == stage.name]
        card = cards[-1] if cards else None
        rows.append({"stage": stage.name, "class set": f"{stage.class_set.name} ({len(stage.class_set)})",
                     "dataset": stage.dataset, "dataset ready": stage.dataset in ws.list_datasets(),
                     "starts from": stage.start_from, "gate": stage.gate,
                     "model": card["name"] if card else "", "mAP50": (card.get("metrics") or {}).get("mAP50") if card else None,
                     "gate result": ("passed" if card.get("gate_passed") else "overridden" if card.get("override") else "failed") if card else ""})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="training-stages")
    stage_name = st.selectbox("Stage", [s.name for s in plan.stages], key="training-stage")
    stage = plan.stage(stage_name)
    settings = plan.settings_for(stage, has_gpu)
    st.write({k: getattr(settings, k) for k in ("model", "imgsz", "epochs", "batch", "nbs", "patience", "amp", "device")})
    if stage.dataset in ws.list_datasets() and settings.balance:
        images, balanced = balance_preview(ws.dataset(stage.dataset), settings.balance)
        names = sorted(balanced.before, key=balanced.before.get)
        fig = go.Figure([go.Bar(name="before", x=names, y=[balanced.before[n] for n in names]),
                         go.Bar(name="balanced", x=names, y=[balanced.after.get(n, 0) for n in names])])
        fig.update_layout(title=f"Boxes per class in training: {len(images)} images -> {len(balanced.indices)} listed",
                          barmode="group", yaxis_type="log", height=360)
        st.plotly_chart(fig, key="training-balance")
        if balanced.short:
            st.warning("Under the minimum even after oversampling (the data does not allow more): "
                       + ", ".join(f"{k} {v}" for k, v in balanced.short.items()))
    cols = st.columns(2)
    wandb_mode = cols[0].radio("Weights & Biases", ["offline", "online", "off"], horizontal=True, key="training-wandb",
                               help="Offline logs into the run folder (upload later with wandb sync); online needs a key")
    wandb_key = cols[1].text_input("W&B API key (kept in this session only)", type="password", key="training-wandb-key",
                                   disabled=wandb_mode != "online")
    if st.button("Start this stage", type="primary", key="training-start"):
        try:
            run_dir = prepare_stage(ws, plan, stage.name, has_gpu, wandb=wandb_mode,
                                    trust_pickle=st.session_state.get("training-trust", False))
            start_job(ws.jobs, "train", ["train", str(run_dir)], f"train {run_dir.name}",
                      extra_env={"WANDB_API_KEY": wandb_key} if wandb_key else None)
            st.rerun()
        except StageError as exc:
            st.error(str(exc))
        except UntrustedModelError as exc:
            st.error(str(exc))
            st.session_state["training-needs-trust"] = True
    if st.session_state.get("training-needs-trust"):
        st.checkbox("I trust this stage's start weights (.pt) and allow them to run", key="training-trust")
    failed = [c for c in models if c.get("plan") == plan.name and c.get("stage") == stage.name and not c.get("gate_passed")
              and not c.get("override")]
    if failed:
        with st.expander(f"Stage {stage.name}'s latest model failed its gate: go on anyway"):
            reason = st.text_input("Why", key="training-override-reason")
            if st.button("Override the gate", key="training-override", disabled=not reason):
                override_gate(ws, failed[-1]["name"], reason)
                st.rerun()

with tabs[1]:
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
            cols = st.columns(4)
            cols[0].metric("State", run.state)
            if run.state == "killed":
                st.warning("The training process ended without a word (killed, out of memory, or the machine "
                           "restarted)" + (": resume it from its last saved epoch." if run.resumable else "."))
            cols[1].metric("Epoch", f"{run.epochs_done} / {run.spec.get('settings', {}).get('epochs', '?')}")
            last = run.epochs[-1] if run.epochs else {}
            cols[2].metric("mAP@0.5", f"{last.get('metrics', {}).get('metrics/mAP50(B)', 0):.3f}" if last else "-")
            cols[3].metric("Epoch time", f"{last.get('epoch_seconds', 0):.0f} s" if last else "-")
            if run.state == "running" and st.button("Stop", key="training-stop"):
                request_stop(run.run_dir)
            if run.resumable and st.button("Resume", key="training-resume"):
                start_job(ws.jobs, "train", ["train", str(run.run_dir), "--resume"], f"resume {run.name}")
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
    picked = st.multiselect("Runs", [r.name for r in runs], default=[r.name for r in runs[:2]], key="training-compare")
    chosen_runs = [r for r in runs if r.name in picked]
    if chosen_runs:
        st.plotly_chart(compare_figure({r.name: r.events for r in chosen_runs}), key="training-compare-map")
        st.dataframe(pd.DataFrame([{"run": r.name, "stage": r.spec.get("stage"), "state": r.state, "epochs": r.epochs_done,
                                    **{k: v for k, v in ((r.final or {}).get("metrics") or {}).items()
                                       if k.startswith("metrics/")}} for r in chosen_runs]),
                     hide_index=True, key="training-compare-table")

with tabs[3]:
    st.markdown("The plan's early check: 10 samples load, the model builds, one epoch trains, one image is predicted.")
    datasets = ws.list_datasets()
    dataset = st.selectbox("Dataset", datasets, key="training-check-dataset") if datasets else None
    if dataset and st.button("Run the check", key="training-check"):
        start_job(ws.jobs, "check", ["check", str(ws.dataset(dataset)), "--json", str(ws.jobs / "last-check.json")],
                  f"check {dataset}")
        st.rerun()
    result = ws.jobs / "last-check.json"
    if result.is_file():
        st.dataframe(pd.read_json(result)[["name", "passed", "seconds", "detail"]], hide_index=True, key="training-check-result")
