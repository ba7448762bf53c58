"""Thin symbols: the model alone against the model with the ink method (omr_core.ink.thin), per thin class.

    .venv/bin/python bench/thin_bench.py --model NAME --dataset FOLDER [--dataset FOLDER2] [--split test]
        [--ink-classes staff legerLine beam]     # ~5 min a dataset on 2 CPU cores

Both runs use the same registered model, pages and confidence; the only difference is the detector's `thin`
setting ("model": the model's own stem / ledger line / staff boxes; "ink": those classes found from the ink
around the model's noteheads). AP50 and AP50-95 per thin class and note completeness come from
omr_core.evaluation on whole pages (a dataset converted without tiles: the detector tiles them itself, as it
does for any page); the time the ink adds is the detector's own `thin` timing, median per page.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from omr_core.offline import apply_defaults  # noqa: E402

apply_defaults()  # the one list of offline settings, before anything imports Ultralytics

from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.evaluation.run import evaluate  # noqa: E402
from omr_core.inference.detector import THIN_CLASSES, SymbolDetector  # noqa: E402
from omr_core.workspace import Workspace  # noqa: E402


class Timed:
    """The detector, keeping each run's timings (evaluate calls `run` once per image)."""

    def __init__(self, detector):
        self.detector, self.timings = detector, []

    def __getattr__(self, name):
        return getattr(self.detector, name)

    def run(self, *args, **kwargs):
        result = self.detector.run(*args, **kwargs)
        self.timings.append(result.timings_ms)
        return result


def run_dataset(args, ws, dataset: Path) -> list[str]:
    rows, per_page = {}, {}
    for thin in ("model", "ink"):
        ink_classes = tuple(args.ink_classes) if thin == "ink" else ()
        detector = Timed(SymbolDetector.load(args.model, ws, backend="auto", thin=thin, ink_classes=ink_classes,
                                             trust_pickle=args.trust_pickle))
        with tempfile.TemporaryDirectory() as out:
            summary = evaluate(detector, dataset, args.split, Path(out) / "e")
        rows[thin] = summary
        per_page[thin] = statistics.median(t["total"] for t in detector.timings)
        per_page[thin + "-thin"] = statistics.median(t["thin"] for t in detector.timings)
        print(thin, {r["class"]: (r["ap50"], r["ap50_95"]) for r in summary["per_class"]
                     if THIN_CLASSES.get(r["class"])}, flush=True)
    by_class = {thin: {r["class"]: r for r in rows[thin]["per_class"]} for thin in rows}
    thin_classes = [r["class"] for r in rows["ink"]["per_class"] if THIN_CLASSES.get(r["class"])]
    heads = [r["class"] for r in rows["ink"]["per_class"] if r["class"].startswith("notehead") and r["gt"]]
    lines = [f"`{dataset.name}` ({args.split}: pieces never trained on, {rows['ink']['images']} whole pages):", "",
             "| class | ground truth | AP50 model | AP50 model + ink | AP50-95 model | AP50-95 model + ink |",
             "|---|---:|---:|---:|---:|---:|"]

    def value(x):
        return "-" if x is None else f"{x:.3f}"

    def cell(row, key):  # a class the model lacks has no row of its own
        return value(None if row is None else row[key])

    for name in thin_classes + heads:
        a, b = by_class["model"].get(name), by_class["ink"][name]
        lines.append(f"| {name}{'' if a else ' (not a model class)'} | {b['gt']:,} | {cell(a, 'ap50')} | "
                     f"{cell(b, 'ap50')} | {cell(a, 'ap50_95')} | {cell(b, 'ap50_95')} |")
    notes = {thin: rows[thin]["note_completeness"]["share"] for thin in rows}
    lines += ["", f"- note completeness: {value(notes['model'])} with the model alone, {value(notes['ink'])} with the ink",
              f"- time per page: {per_page['model']:.0f} ms with the model alone, {per_page['ink']:.0f} ms with the "
              f"ink, of which the ink's own step {per_page['ink-thin']:.0f} ms "
              f"({per_page['ink-thin'] / per_page['ink']:.0%} of the page)", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True, action="append",
                        help="a YOLO dataset of whole pages (converted without --tile); repeat for several")
    parser.add_argument("--split", default="test")
    parser.add_argument("--ink-classes", nargs="+", default=[],
                        help="thin classes the model lacks, found from the ink all the same (the detector's option)")
    parser.add_argument("--workspace")
    parser.add_argument("--trust-pickle", action="store_true")
    args = parser.parse_args()
    ws = Workspace.open(args.workspace)
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}, no GPU"
    lines = ["## Thin symbols: the model alone against the ink (bench/thin_bench.py)", "",
             f"Model `{args.model}`" + (f" with `--ink-classes {' '.join(args.ink_classes)}`" if args.ink_classes
                                        else "") + f"; {machine}. The notehead rows show that the heads lose "
             "nothing (the ink does not touch them).", ""]
    for dataset in args.dataset:
        lines += run_dataset(args, ws, Path(dataset))
    print("\n".join(lines))
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
