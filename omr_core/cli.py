"""Command line: every workbench action, for scripts, headless servers and the app's background jobs.

    python -m omr_core init                                  # default workspace (engraved pages, converted)
    python -m omr_core convert SOURCE OUTPUT --class-set 3.1 --tile 640 --max-pages pilot
    python -m omr_core validate DATASET                      # re-check a converted set, rewrite its report
    python -m omr_core sample DATASET --n 100 --seed 0       # visual sample report
    python -m omr_core generate FOLDER --pages 60            # DeepScores-format pages engraved from music21's corpus
    python -m omr_core scan SOURCE OUTPUT --preset phone     # a scan-like variant of a DeepScores-format folder
    python -m omr_core boxcheck --pieces 2                   # generated boxes against their ink, per font and class
    python -m omr_core drawn FOLDER --pages 60               # a DeepScores-format folder of drawn pages
    python -m omr_core classes                               # class sets, aliases and what they mean
    python -m omr_core stage-data 3.1                        # make the dataset a stage of the plan trains on
    python -m omr_core measure-step DATASET --model yolov8n.yaml --imgsz 640 --batch 8   # for duration estimates
    python -m omr_core check DATASET                         # early pipeline validation: 10 samples, 1 epoch, 1 prediction
    python -m omr_core stage 3.1 --set epochs=10             # prepare, train and register one stage of the plan
    python -m omr_core train RUN_DIR [--resume]              # one training run described by RUN_DIR/run.json
    python -m omr_core bundle MODEL                          # test-split metrics into the card, copy to models/
    python -m omr_core detect page.png score.pdf --model MODEL --out symbols.json   # a name or a .pt/.onnx path
    python -m omr_core measures page-001/metadata.json --model MODEL --out symbols.json   # the ScoreEye hand-off
    python -m omr_core export MODEL --int8                   # ONNX (parity-checked) and INT8 (if it keeps mAP)
    python -m omr_core evaluate MODEL DATASET --split val    # metrics, verdicts, OMR metrics -> workspace/evaluations/

Each option is declared once: options several commands share (`--workspace`, `--trust-pickle`, `--model`,
`--backend`, `--conf`) live in parent parsers, and `convert` / `generate` are built from their config dataclasses
(`omr_core.config_args`), so the page that starts them as jobs and the command line cannot drift apart.
    python -m omr_core prelabel --model NAME [SCAN ...] [--new]   # pre-label real scans, whole pages, into their units
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from omr_core.config_args import add_options, config_from_args
from omr_core.datasets.scan_noise import DEFAULT_PRESET as DEFAULT_SCAN_PRESET
from omr_core.datasets.scan_noise import PRESETS as SCAN_PRESETS
from omr_core.fileio import Busy, write_atomic
from omr_core.formats.images import DEFAULT_DPI
from omr_core.jobs import ProgressFile
from omr_core.registry import BACKENDS
from omr_core.structures.detections import DEFAULT_CONF
from omr_core.staff.rescale import CANONICAL_STAFF_SPACE_PX

if TYPE_CHECKING:
    from omr_core.datasets.convert import ConvertConfig
    from omr_core.rendering.generate import GenerateConfig


class _Progress:
    """tqdm on the terminal plus the job's progress file, behind one callback."""

    def __init__(self, description: str):
        from tqdm import tqdm

        self.bar = tqdm(desc=description, unit="page", dynamic_ncols=True, file=sys.stderr)
        self.file = ProgressFile()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.n = done
        self.bar.set_postfix_str(message[-40:], refresh=False)
        self.bar.refresh()
        self.file(done, total, message)

    def close(self, state: str = "done") -> None:
        self.bar.close()
        self.file(self.bar.n, self.bar.total or self.bar.n, state, state=state, force=True)


def _parent(*options: tuple[tuple[str, ...], dict]) -> argparse.ArgumentParser:
    """A parent parser holding options that several subcommands share, so each is declared once."""
    parent = argparse.ArgumentParser(add_help=False)
    for flags, kwargs in options:
        parent.add_argument(*flags, **kwargs)
    return parent


_WORKSPACE = _parent((("--workspace",), {"help": "the workspace folder (default: $SCOREEYE_WORKSPACE or ./workspace)"}))
_TRUST = _parent((("--trust-pickle",), {  # the one declaration of the consent flag: a .pt nobody vouched for
    "action": "store_true", "help": "allow a .pt file that this workspace did not train and no bundled card records "
                                    "(a .pt is a pickle: loading it runs code from it)"}))
_BACKEND = _parent(
    (("--backend",), {"default": "auto", "choices": BACKENDS, "help": "auto: ONNX Runtime where the model has an export"}))
_CONF = _parent((("--conf",), {"type": float, "default": DEFAULT_CONF,
                               "help": "confidence from which a box counts (an evaluation's verdicts, P/R/F1 and "
                                       "confusion too)"}))
_INK = _parent((("--ink-classes",), {
    "nargs": "+", "default": [], "metavar": "CLASS",
    "help": "thin classes the model does not know, found from the ink around its noteheads all the same "
            "(stem, legerLine, staff, beam)"}))
_MODEL = _parent((("--model",), {"required": True, "help": "a registered model name or a .pt/.onnx path"}))
_SEED = _parent((("--seed",), {"type": int, "default": 0, "help": "random seed: the same seed writes the same output"}))


def _parser() -> argparse.ArgumentParser:
    from omr_core.datasets.convert import ConvertConfig
    from omr_core.datasets.drawn_pages import DRAWN_PAGES
    from omr_core.rendering.generate import GenerateConfig
    from omr_core.workflows.default_workspace import FIRST_PAGES

    parser = argparse.ArgumentParser(prog="python -m omr_core", description="ScoreEye symbol workbench tools")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", parents=[_WORKSPACE, _SEED],
                          help="make the default workspace (music21's corpus engraved by Verovio, converted with "
                               "every class, and the plan's first stage's dataset)")
    init.add_argument("--no-first-stage", action="store_true", help="do not make the plan's first stage's dataset")
    init.add_argument("--pages", type=int, default=FIRST_PAGES, help="pages to engrave (default: %(default)s)")

    add_options(sub.add_parser("convert", help="DeepScoresV2 folder -> YOLO dataset with validation reports"),
                ConvertConfig)

    validate = sub.add_parser("validate", help="check a converted YOLO set and print its problems")
    validate.add_argument("dataset")

    sample = sub.add_parser("sample", parents=[_SEED], help="write the visual sample report of a converted set")
    sample.add_argument("dataset")
    sample.add_argument("--n", type=int, default=100)

    add_options(sub.add_parser("generate", help="engrave music21's corpus with Verovio into a DeepScores-format folder"),
                GenerateConfig)

    scan = sub.add_parser("scan", parents=[_SEED], help="write a scan-like variant of a DeepScores-format folder (boxes moved with the page)")
    scan.add_argument("source")
    scan.add_argument("output")
    scan.add_argument("--preset", default=DEFAULT_SCAN_PRESET, choices=SCAN_PRESETS)

    boxcheck = sub.add_parser("boxcheck", parents=[_SEED], help="measure generated boxes against each symbol's own ink, per font and class")
    boxcheck.add_argument("--pieces", type=int, default=2, help="pieces per font (first page of each)")
    boxcheck.add_argument("--fonts", nargs="*", default=None)
    boxcheck.add_argument("--json", help="also write the summary here")

    train = sub.add_parser("train", help="run (or resume) the training described by RUN_DIR/run.json")
    train.add_argument("run_dir")
    train.add_argument("--resume", action="store_true")

    stage = sub.add_parser("stage", parents=[_WORKSPACE, _TRUST],
                           help="prepare, train and register one stage of the workspace's training plan")
    stage.add_argument("name", help="stage name (3.1, 3.2, noise...)")
    stage.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                       help="override Ultralytics settings of this run (epochs=10 imgsz=640 model=yolov8n.yaml)")

    stage_data = sub.add_parser("stage-data", parents=[_WORKSPACE],
                                help="make the dataset a stage of the workspace's plan trains on")
    stage_data.add_argument("name", help="stage name (3.1, 3.2, noise...)")
    stage_data.add_argument("--tile", type=int, help="tile size in px (default: the stage's imgsz on this machine)")
    stage_data.add_argument("--staff-space", type=float, default=CANONICAL_STAFF_SPACE_PX,
                            help="resize pages to this staff space first, in px (default %(default)s, the canonical "
                                 "one; 0 keeps each page's own)")

    measure = sub.add_parser("measure-step", help="time a training step here (for the Training page's estimates)")
    measure.add_argument("dataset", help="a YOLO dataset folder (its training images are used)")
    measure.add_argument("--model", required=True, help="a model YAML (yolov8n.yaml...)")
    measure.add_argument("--imgsz", type=int, required=True)
    measure.add_argument("--batch", type=int, required=True)
    measure.add_argument("--device", default="cpu")
    measure.add_argument("--steps", type=int, default=3, help="steps timed after one warm-up step")
    measure.add_argument("--out", help="a workspace's step_times.json to keep the result in")

    bundle = sub.add_parser("bundle", parents=[_WORKSPACE],
                            help="validate a registered model on its test split and copy it to models/")
    bundle.add_argument("model", help="a model name of the workspace registry")
    bundle.add_argument("--name", help="the bundled model's name under models/ (default: the registered name)")

    check = sub.add_parser("check", parents=[_WORKSPACE, _TRUST],
                           help="early pipeline validation: load 10 samples, build, train 1 epoch, predict")
    check.add_argument("dataset")
    check.add_argument("--model", default="yolov8n.yaml")
    check.add_argument("--json", help="also write the results here")

    drawn = sub.add_parser("drawn", parents=[_SEED], help="write a DeepScores-format folder of simple drawn pages")
    drawn.add_argument("folder")
    drawn.add_argument("--pages", type=int, default=DRAWN_PAGES, help="pages to draw (default: %(default)s)")

    detect = sub.add_parser("detect", parents=[_MODEL, _WORKSPACE, _BACKEND, _CONF, _TRUST, _INK],
                            help="detect symbols in images or PDF pages (tiled) and write JSON")
    detect.add_argument("inputs", nargs="+", help="image files (png, jpg, tiff) or PDFs")
    detect.add_argument("--dpi", type=float, default=DEFAULT_DPI, help="PDF pages are rendered at this resolution")
    detect.add_argument("--out", help="write the JSON here (default: print it)")
    detect.add_argument("--staff-space", type=float, dest="staff_space",
                        help="the inputs' staff space in px, when known (default: measured on each image)")
    detect.add_argument("--scale", type=float, help="resize every input by this factor instead (new / old)")
    detect.add_argument("--no-rescale", action="store_true",
                        help="read every input at its own scale, not at the model's staff space")

    measures = sub.add_parser("measures", parents=[_MODEL, _WORKSPACE, _BACKEND, _CONF, _TRUST, _INK],
                              help="ScoreEye hand-off: detect in the measures of metadata.json files")
    measures.add_argument("metadata", nargs="+", help="ScoreEye metadata.json files, one per page")
    measures.add_argument("--out", required=True, help="the page-level symbols JSON")

    export = sub.add_parser("export", parents=[_WORKSPACE, _TRUST],
                            help="export a registered model to ONNX (parity-checked), optionally INT8")
    export.add_argument("model", help="a registered model name")
    export.add_argument("--int8", action="store_true", help="also INT8, kept only within one mAP point")
    export.add_argument("--images", type=int, default=4, help="sample images of the model's data for the parity check")

    evaluate = sub.add_parser("evaluate", parents=[_WORKSPACE, _BACKEND, _CONF, _TRUST, _INK],
                              help="evaluate a model on a dataset split: metrics, verdicts, OMR metrics")
    evaluate.add_argument("model", help="a registered model name or a .onnx path")
    evaluate.add_argument("dataset", help="a workspace dataset name or a YOLO dataset folder")
    evaluate.add_argument("--split", default="val")
    evaluate.add_argument("--name", help="the evaluation's name (default: MODEL-DATASET-SPLIT)")

    prelabel = sub.add_parser("prelabel", parents=[_MODEL, _WORKSPACE, _BACKEND, _TRUST],
                              help="pre-label scans of the real-scan set with a model (whole pages, cut into their "
                                   "work units)")
    prelabel.add_argument("scans", nargs="*", help="scan ids (default with --new: every scan not pre-labelled yet)")
    prelabel.add_argument("--new", action="store_true", help="also every scan that has no pre-labels yet")

    classes = sub.add_parser("classes", help="list the class sets and what the plan's short names mean")
    classes.add_argument("--class-sets-yaml")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (OSError, ValueError, Busy) as exc:  # bad input, a refusal (a pickle, a busy run), a full disk
        ProgressFile()(0, 0, str(exc), state="failed", force=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _init(args) -> int:
    from omr_core.workflows.default_workspace import make_default
    from omr_core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    progress = _Progress("default workspace")
    dataset = make_default(ws, n_pages=args.pages, seed=args.seed, progress=progress,
                           first_stage=not args.no_first_stage)
    progress.close()
    print(f"workspace {ws.root}\ndataset   {dataset}\ndatasets  {', '.join(ws.list_datasets())}")
    return 0


def convert_config(args) -> "ConvertConfig":
    """The ConvertConfig that `convert` arguments describe (inverse of ConvertConfig.cli_args)."""
    from omr_core.datasets.convert import ConvertConfig

    return config_from_args(ConvertConfig, args)


def _convert(args) -> int:
    from omr_core.datasets.convert import convert_deepscores

    config = convert_config(args)
    progress = _Progress("convert")
    result = convert_deepscores(config, progress)
    progress.close()
    print(json.dumps(result.stats, indent=2))
    counts = result.problems.to_dict()["counts"]
    print(f"source problems: {len(result.problems)}" + "".join(f"\n  {c['kind']} ({c['action']}): {c['count']}" for c in counts))
    for problem in result.problems.problems[:20]:
        print(f"  {problem}")
    print(f"dataset {result.output}\nreport  {result.report_html}\nsample  {result.sample_html}")
    return 0


def _validate(args) -> int:
    from omr_core.validation import check_yolo_dataset

    problems = check_yolo_dataset(Path(args.dataset))
    for problem in problems.problems:
        print(problem)
    print(f"{len(problems)} problems")
    return 1 if len(problems) else 0


def _sample(args) -> int:
    from omr_core.datasets.convert import write_sample

    print(write_sample(Path(args.dataset), args.n, args.seed))
    return 0


def generate_config(args) -> "GenerateConfig":
    """The GenerateConfig that `generate` arguments describe (inverse of GenerateConfig.cli_args)."""
    from omr_core.rendering.generate import GenerateConfig

    return config_from_args(GenerateConfig, args)


def _generate(args) -> int:
    from omr_core.rendering.generate import generate

    config = generate_config(args)
    progress = _Progress("generate")
    result = generate(config, progress)
    progress.close()
    print(f"{result.pages} pages from {sum(len(v) for v in result.pieces.values())} pieces in {result.seconds} s "
          f"({result.pages / max(result.seconds, 1e-9):.1f} pages/s); {len(result.failed)} pieces failed")
    for failure in result.failed[:20]:
        print(f"  failed: {failure['piece']}: {failure['failed']}")
    print(result.output)
    return 0


def _scan(args) -> int:
    from omr_core.datasets.scan_variant import make_scan_variant

    progress = _Progress("scan")
    output = make_scan_variant(args.source, args.output, preset=args.preset, seed=args.seed, progress=progress)
    progress.close()
    print(output)
    return 0


def _boxcheck(args) -> int:
    from omr_core.rendering.box_check import check_fonts
    from omr_core.rendering.generate import FONTS

    summary = check_fonts(tuple(args.fonts or FONTS), args.pieces, args.seed)
    for font, classes in summary.items():
        overall = classes.get("all", {})
        print(f"{font}: {overall.get('boxes', 0)} boxes, median {overall.get('median_px', float('nan')):.2f} px, "
              f"p95 {overall.get('p95_px', float('nan')):.2f} px, max {overall.get('max_px', float('nan')):.2f} px")
    print("per class (all fonts): boxes, median, p95, max (px)")
    for name, stats in summary["all fonts"].items():
        print(f"  {name:32s} {stats['boxes']:6d} {stats['median_px']:6.2f} {stats['p95_px']:6.2f} {stats['max_px']:6.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    worst = summary["all fonts"].get("all", {})
    return 0 if worst.get("median_px", 9) <= 0.5 and worst.get("p95_px", 9) <= 1.0 else 1


def _train(args) -> int:
    from omr_core.training.runner import CannotResume, StopRequested, train

    try:
        print(train(args.run_dir, resume=args.resume))
        run_dir = Path(args.run_dir).resolve()
        if "stage" in json.loads((run_dir / "run.json").read_text()) and run_dir.parent.name == "runs":
            from omr_core.training.registry import finish_stage
            from omr_core.workspace import Workspace

            card = finish_stage(Workspace.open(run_dir.parent.parent), run_dir)  # gates + model card, with no page open
            verdict = f"gate {card['gate']} {'passed' if card['gate_passed'] else 'failed'}"
            print(f"registered {card['weights']}; {verdict}")
            map50 = card["metrics"].get("mAP50")
            ProgressFile()(1, 1, f"model {card['name']} registered: mAP@0.5 "
                                 + ("not measured" if map50 is None else f"{map50:.3f}") + f", {verdict}",
                           state="done", force=True)
    except StopRequested:
        print(f"stopped; resume with: python -m omr_core train {args.run_dir} --resume")
        from omr_core.training.runner import last_checkpoint

        ProgressFile()(0, 0, "stopped on request: " + ("Resume goes on from the last saved epoch"
                                                       if last_checkpoint(Path(args.run_dir)).is_file()
                                                       else "no epoch had finished, so start it again"),
                       state="done", force=True)
    except CannotResume as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _stage(args) -> int:
    import yaml

    from omr_core.catalog import load_class_sets
    from omr_core.training.plan import load_plan
    from omr_core.training.registry import finish_stage, prepare_stage
    from omr_core.training.runner import train
    from omr_core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
    import torch

    run_dir = prepare_stage(ws, plan, args.name, has_gpu=torch.cuda.is_available(), trust_pickle=args.trust_pickle)
    spec = json.loads((run_dir / "run.json").read_text())
    for pair in args.set:
        key, _, value = pair.partition("=")
        if key == "model":
            spec["model"] = value
        else:
            spec["settings"][key] = yaml.safe_load(value)
    spec["command"] = f"python -m omr_core stage {args.name} " + " ".join(f"--set {p}" for p in args.set)
    from omr_core.training.registry import scale_warning

    spec["warnings"] = [w for w in [scale_warning(ws.dataset(spec["dataset"]), int(spec["settings"]["imgsz"]))] if w]
    for warning in spec["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    write_atomic(run_dir / "run.json", json.dumps(spec, indent=2))
    print(f"run {run_dir}")
    train(run_dir)
    card = finish_stage(ws, run_dir)
    print(f"registered {card['weights']}; mAP50 {card['metrics'].get('mAP50')}; gate {card['gate']}: "
          f"{'passed' if card['gate_passed'] else 'failed'}")
    return 0


def _stage_data(args) -> int:
    from omr_core.catalog import load_class_sets
    from omr_core.training.launch import gpu_available
    from omr_core.training.plan import load_plan
    from omr_core.training.stage_data import make_stage_dataset, stage_recipe
    from omr_core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    plan = load_plan(ws.training_plan_yaml, load_class_sets(ws.class_sets_yaml))
    stage = plan.stage(args.name)
    recipe = stage_recipe(ws, stage, plan.settings_for(stage, has_gpu=gpu_available()), args.tile,
                          args.staff_space)
    progress = _Progress(f"stage {stage.name} data")
    output = make_stage_dataset(ws, recipe, progress)
    progress.close()
    stats = json.loads((output / "conversion.json").read_text())["stats"]
    message = f"{output.name}: {stats['images_written']:,} tiles of {recipe.tile_px} px, {stats['boxes_written']:,} boxes"
    ProgressFile()(1, 1, message, state="done", force=True)
    print(message)
    return 0


def _measure_step(args) -> int:
    from omr_core.jobs import duration_text
    from omr_core.training.estimate import measure_step, save_timing

    progress = _Progress("measure")
    timing = measure_step(args.model, args.imgsz, args.batch, args.device, Path(args.dataset), args.steps, progress)
    progress.close()
    if args.out:
        save_timing(Path(args.out), timing)
    message = (f"{timing.model} at {timing.imgsz} px, batch {timing.batch} on {timing.device}: "
               f"{timing.per_train_image_s:.2f} s per training image, {timing.val_s:.2f} s per validation image")
    ProgressFile()(1, 1, message, state="done", force=True)
    print(message, f"(measured {duration_text(timing.per_train_image_s * 1000)} per 1,000 training images)")
    return 0


def _bundle(args) -> int:
    from omr_core.training.registry import bundle_model
    from omr_core.workspace import Workspace

    card = bundle_model(Workspace.open(args.workspace), args.model, bundle_name=args.name)
    print(json.dumps({k: card[k] for k in ("name", "stage", "test_metrics", "weights")}, indent=2))
    return 0


def _check(args) -> int:
    from omr_core.training.pipeline_check import as_dicts, pipeline_check
    from omr_core.workspace import Workspace

    results = pipeline_check(args.dataset, args.model, workspace=Workspace.open(args.workspace),
                             trust_pickle=args.trust_pickle)
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'} {r.name:24s} {r.seconds:6.1f} s  {r.detail.splitlines()[0]}")
    if args.json:
        write_atomic(Path(args.json), json.dumps(as_dicts(results), indent=2))
    return 0 if len(results) == 4 and all(r.passed for r in results) else 1


def _drawn(args) -> int:
    from omr_core.datasets.drawn_pages import make_drawn_source

    progress = _Progress("draw")
    folder = make_drawn_source(args.folder, n_pages=args.pages, seed=args.seed, progress=progress)
    progress.close()
    print(folder)
    return 0


def _detect(args) -> int:
    from omr_core.inference.detector import SymbolDetector
    from omr_core.formats.images import is_pdf, pdf_page_count
    from omr_core.workspace import Workspace

    detector = SymbolDetector.load(args.model, Workspace.open(args.workspace), backend=args.backend,
                                   trust_pickle=args.trust_pickle, conf=args.conf, rescale=not args.no_rescale,
                                   ink_classes=tuple(args.ink_classes))
    results = []
    for name in args.inputs:
        pages = range(pdf_page_count(name)) if is_pdf(Path(name)) else [0]
        for page in pages:
            run = detector.run(name, page=page, dpi=args.dpi, staff_space_px=args.staff_space, scale=args.scale)
            results.append(detector.run_json(run, name, page))
            print(f"{name} page {page + 1}: {len(run.detections)} symbols, {len(run.tiles_xyxy)} tiles, "
                  f"{run.timings_ms['total']:.0f} ms; {run.rescale.describe()}", file=sys.stderr)
    text = json.dumps(results if len(results) > 1 else results[0], indent=1)
    write_atomic(Path(args.out), text) if args.out else print(text)
    return 0


def _measures(args) -> int:
    from omr_core.inference.detector import SymbolDetector
    from omr_core.inference.handoff import detect_measures
    from omr_core.workspace import Workspace

    detector = SymbolDetector.load(args.model, Workspace.open(args.workspace), backend=args.backend, conf=args.conf,
                                   trust_pickle=args.trust_pickle, ink_classes=tuple(args.ink_classes))
    document = detect_measures(detector, args.metadata)
    write_atomic(Path(args.out), json.dumps(document, indent=1))
    count = sum(len(m["symbols"]) for p in document["pages"] for s in p["systems"] for m in s["measures"])
    print(f"{args.out}: {count} symbols on {len(document['pages'])} pages")
    return 0


def _prelabel(args) -> int:
    from omr_core.annotation.prelabel import prelabel_scan
    from omr_core.annotation.queue import MIN_CONF, load_predictions
    from omr_core.annotation.scans import list_scans
    from omr_core.inference.detector import SymbolDetector
    from omr_core.formats.images import read_image
    from omr_core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    root = ws.real_scans
    known = {s["id"]: s for s in list_scans(root)}
    unknown = [s for s in args.scans if s not in known]
    if unknown:
        raise ValueError(f"{root}: no scan {', '.join(unknown)} in the real-scan set (scans.json)")
    todo = list(dict.fromkeys([*args.scans, *([s for s in known if load_predictions(root, s) is None]
                                               if args.new else [])]))
    if not todo:
        print("nothing to pre-label")
        return 0
    progress = _Progress("pre-label")
    progress(0, len(todo), "loading the model")
    detector = SymbolDetector.load(args.model, ws, backend=args.backend, conf=MIN_CONF, trust_pickle=args.trust_pickle)
    placed = 0
    for k, scan_id in enumerate(todo):
        name = f"{known[scan_id]['source']} p{known[scan_id]['page']}"
        progress(k, len(todo), f"{name}: detecting")
        image = read_image(root / "images" / f"{scan_id}.png")
        run = detector.run(image)
        progress(k, len(todo), f"{name}: cutting {len(run.detections)} boxes into work units")
        report = prelabel_scan(root, scan_id, image, run.detections, Path(args.model).name)
        line = (f"{name}: {report['placed']} boxes in {report['units']} units ({report['unsure']} unsure)"
                + (f", {report['added_to_edited']} added to units already edited" if report["added_to_edited"] else "")
                + (f"; {report['outside_units']} outside every unit, left out" if report["outside_units"] else ""))
        print(line, file=sys.stderr)
        placed += report["placed"] + report["added_to_edited"]
        progress(k + 1, len(todo), line)
    progress.bar.close()  # the job's last line says what came of it
    done = line if len(todo) == 1 else f"{len(todo)} scans pre-labelled: {placed} boxes"
    progress.file(len(todo), len(todo), done, state="done", force=True)
    return 0


def _export(args) -> int:
    from omr_core.inference.detector import require_trusted, resolve_model
    from omr_core.inference.export import export_onnx, parity_images, quantize_int8
    from omr_core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    ref = resolve_model(args.model, ws, prefer="torch")
    if ref.name is None or ref.path.suffix != ".pt":
        raise ValueError(f"{args.model}: export works on registered models (a folder with card.json and best.pt)")
    require_trusted(ref, ws, consent=args.trust_pickle)  # before anything else: the export unpickles it
    folder = ref.path.parent
    entry = export_onnx(folder, parity_images(ws, ref.card, args.images), workspace=ws, trust_pickle=args.trust_pickle)
    print(json.dumps(entry, indent=1))
    parity = entry["parity"]
    if not parity["passed"]:
        print(f"parity failed: the new export was not kept ({folder / 'best.onnx'} is as it was)", file=sys.stderr)
        ProgressFile()(0, 0, f"parity failed on {parity['images']} images ({parity['unmatched']} boxes differ): "
                             "the new export was not kept", state="failed", force=True)
        return 1
    ProgressFile()(1, 1, f"best.onnx gives the same {parity['boxes_onnx']:,} boxes as best.pt on {parity['images']} "
                         f"images (lowest IoU {parity['min_iou']:.3f})", state="done", force=True)
    if args.int8:
        data_yaml = ws.dataset(ref.card["data"]) / "data.yaml"
        if not data_yaml.is_file():
            raise SystemExit(f"INT8 needs the model's dataset to measure mAP on, and {data_yaml} is not there: "
                             f"remake it with {ref.card.get('data_commands') or 'the convert command'}")
        print(json.dumps(quantize_int8(folder, data_yaml), indent=1))
    return 0


def _evaluate(args) -> int:
    from omr_core.evaluation.run import evaluate
    from omr_core.inference.detector import SymbolDetector
    from omr_core.workspace import Workspace, check_name

    ws = Workspace.open(args.workspace)
    detector = SymbolDetector.load(args.model, ws, backend=args.backend, trust_pickle=args.trust_pickle,
                                   ink_classes=tuple(args.ink_classes))
    dataset = Path(args.dataset) if Path(args.dataset).is_dir() else ws.dataset(args.dataset)
    model = Path(args.model).stem if Path(args.model).suffix in (".pt", ".onnx") else str(args.model)
    name = check_name(args.name or f"{model}-{dataset.name}-{args.split}")
    progress = _Progress("evaluate")
    summary = evaluate(detector, dataset, args.split, ws.evaluations / name, conf=args.conf, progress=progress)
    progress.close()
    print(f"{ws.evaluations / name}: mAP50 {summary['mAP50']:.3f}, mAP50-95 {summary['mAP50-95']:.3f} "
          f"on {summary['images']} images")
    return 0


def _classes(args) -> int:
    import yaml

    from omr_core.catalog.class_sets import DEFAULT_CLASS_SETS_YAML, load_class_sets

    path = Path(args.class_sets_yaml or DEFAULT_CLASS_SETS_YAML)
    for name, class_set in load_class_sets(path).items():
        print(f"{name}: {class_set.description} ({len(class_set)} classes)\n  {', '.join(class_set.names)}")
    aliases = (yaml.safe_load(path.read_text()) or {}).get("aliases", {})
    print("aliases (the plan's short names):")
    for alias, members in aliases.items():
        print(f"  {alias} = {', '.join(members)}")
    return 0


_COMMANDS = {"init": _init, "convert": _convert, "validate": _validate, "sample": _sample, "generate": _generate,
             "scan": _scan, "boxcheck": _boxcheck, "train": _train,
             "check": _check, "stage": _stage, "stage-data": _stage_data, "measure-step": _measure_step,
             "bundle": _bundle, "drawn": _drawn, "classes": _classes,
                "detect": _detect, "measures": _measures, "export": _export, "evaluate": _evaluate,
             "prelabel": _prelabel}
