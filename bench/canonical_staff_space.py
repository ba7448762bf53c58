"""Which staff space to train and read at: one recipe trained and tested at several staff spaces.

    .venv/bin/python bench/canonical_staff_space.py --workspace WS            # runs what is missing (hours on CPU)
    .venv/bin/python bench/canonical_staff_space.py --workspace WS --report   # the table from what was run

The experiment, with the project's own commands only:
1. `generate WS/sources/probe --pages 60 --test-fraction 0.2 --seed 11` (test pages are whole pieces);
2. for each staff space S: `convert ... probe-S --class-set probe --staff-space S --tile 640 --overlap 96`
   (class set `probe`: 3.3 and the flags, the small symbols a staff space must keep visible);
3. `stage sS` of the plan below (yolov8n from its YAML, imgsz 640, 10 epochs, batch 8, the same settings for
   every S), then `evaluate` on the test split.
Same pages, same recipe, same epochs: a smaller staff space has fewer tiles, so fewer steps an epoch and less
time. The canonical staff space is the smallest whose small symbols (augmentation dots, accidentals, flags)
come out as well as at the largest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.convert_bench import _replace_section  # noqa: E402

SPACES = (10, 12, 17)
SMALL = ("augmentationDot", "accidentalSharp", "accidentalFlat", "accidentalNatural", "flag8thUp", "flag8thDown",
         "flag16thUp")
PLAN = """name: scaleprobe
defaults: {model: yolov8n.yaml, imgsz: 640, epochs: 10, batch: 8, nbs: 8, patience: 50, amp: false, device: auto,
           workers: 2, balance: {min_instances: 100, max_repeat: 2, thin_above: 3000, thin_keep: 0.5},
           augment: {fliplr: 0.0, scale: 0.25, close_mosaic: 3, warmup_epochs: 1}}
cpu_fallback: {batch: 8, workers: 2, amp: false}
stages:
""" + "".join(f'  - {{name: "s{s}", class_set: probe, dataset: probe-{s}, from: none}}\n' for s in SPACES)
PROBE_SET = """  probe:
    description: Scale probe - 3.3 and the flags (the small symbols a staff space must keep visible)
    extends: "3.3"
    adds: [flag8thUp, flag8thDown, flag16thUp, flag16thDown]
"""


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "omr_core", *args], check=True)


def run(ws: Path) -> None:
    from omr_core.workspace import Workspace

    workspace = Workspace.open(ws)
    if "probe:" not in workspace.class_sets_yaml.read_text():
        workspace.class_sets_yaml.write_text(workspace.class_sets_yaml.read_text() + PROBE_SET)
    workspace.training_plan_yaml.write_text(PLAN)
    source = workspace.source("probe")
    if not (source / "deepscores_train.json").is_file():
        cli("generate", str(source), "--pages", "60", "--pages-per-piece", "3", "--test-fraction", "0.2", "--seed", "11")
    for s in SPACES:
        dataset = workspace.dataset(f"probe-{s}")
        if not (dataset / "data.yaml").is_file():
            cli("convert", str(source), str(dataset), "--class-set", "probe", "--class-sets-yaml",
                str(workspace.class_sets_yaml), "--staff-space", str(s), "--tile", "640", "--overlap", "96")
        if not [c for c in workspace.models.glob(f"scaleprobe-s{s}-*/card.json")]:
            cli("stage", f"s{s}", "--workspace", str(ws))
        model = sorted(workspace.models.glob(f"scaleprobe-s{s}-*/card.json"))[-1].parent.name
        if not (workspace.evaluations / f"{model}-probe-{s}-test" / "summary.json").is_file():
            cli("evaluate", model, f"probe-{s}", "--split", "test", "--workspace", str(ws))


def report(ws: Path) -> list[str]:
    from omr_core.training.runner import read_progress

    rows = {}
    for s in SPACES:
        found = sorted((ws / "evaluations").glob(f"scaleprobe-s{s}-*-probe-{s}-test/summary.json"))
        if not found:
            continue
        summary = json.loads(found[-1].read_text())
        run = ws / "runs" / found[-1].parent.name.split(f"-probe-{s}")[0]
        epochs = [e for e in read_progress(run) if e["type"] == "epoch"]
        conversion = json.loads((ws / "datasets" / f"probe-{s}" / "conversion.json").read_text())["stats"]
        rows[s] = {"summary": summary, "epoch_s": sum(e["epoch_seconds"] for e in epochs) / max(len(epochs), 1),
                   "tiles": conversion["per_split_images"].get("train", 0)}
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    lines = ["## Canonical staff space (bench/canonical_staff_space.py)", "",
             "One recipe (yolov8n from its YAML, class set `probe` = 3.3 and the flags, 640-px tiles, 10 epochs, batch "
             "8) trained on the same 60 generated pages at each staff space, tested on pieces never trained on; "
             f"{machine}; the machine was shared with other work, so times compare only roughly.", "",
             "| | " + " | ".join(f"{s} px" for s in rows) + " |", "|---|" + "---:|" * len(rows)]

    def cell(s, name, key="ap50"):
        row = next((r for r in rows[s]["summary"]["per_class"] if r["class"] == name), None)
        return "-" if row is None or row[key] is None else f"{row[key]:.3f}"

    lines.append("| training tiles | " + " | ".join(f"{rows[s]['tiles']:,}" for s in rows) + " |")
    lines.append("| seconds per epoch | " + " | ".join(f"{rows[s]['epoch_s']:.0f}" for s in rows) + " |")
    lines.append("| test mAP50 | " + " | ".join(f"{rows[s]['summary']['mAP50']:.3f}" for s in rows) + " |")
    lines.append("| test mAP50-95 | " + " | ".join(f"{rows[s]['summary']['mAP50-95']:.3f}" for s in rows) + " |")
    for name in ("noteheadBlackOnLine", "noteheadBlackInSpace", *SMALL):
        lines.append(f"| AP50 {name} | " + " | ".join(cell(s, name) for s in rows) + " |")
    for s in SPACES:
        if s not in rows:
            runs = sorted((ws / "runs").glob(f"scaleprobe-s{s}-*"))
            done = len([e for e in read_progress(runs[-1]) if e["type"] == "epoch"]) if runs else 0
            lines += ["", f"{s} px: not finished ({done} of 10 epochs run; `stage s{s} --resume` goes on), "
                          "so it is not in the table."]
    print("\n".join(lines))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--report", action="store_true", help="only write the table from what was run")
    args = parser.parse_args()
    ws = Path(args.workspace)
    if not args.report:
        run(ws)
    lines = report(ws)
    _replace_section(ROOT / "bench" / "RESULTS.md", lines + [""])


if __name__ == "__main__":
    main()
