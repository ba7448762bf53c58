"""The validation report: one JSON document (`build_report`) written as validation.json and a self-contained
report.html (plotly.js inlined once, images none, no external URL), readable offline years later.

A converter calls it at the end of a run:

    source_log = reader.problems  # the reader's own findings (malformed JSON...) belong to the source too
    source_acc, converted_acc = DistributionAccumulator(), DistributionAccumulator()
    for record, split in pages:
        record, problems = check_boxes(record, file=json_path)
        source_log.extend(problems)
        space = staff_space_px(record)  # measured before the stage's filter drops the `staff` boxes
        source_acc.add(record, split, staff_space=space)
        stage_record = ...  # the stage's classes only; categories = {yolo_id: name}
        converted_acc.add(stage_record, split, staff_space=space)
    converted_log = check_yolo_dataset(out_root)
    report = build_report("DeepScoresV2 dense", source_log, converted_log, source_acc, converted_acc,
                          stage_classes=list(class_set.names), settings={...})
    write_validation_report(out_root / "validation_reports", report)
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import plotly.io as pio

from omr_core.fileio import write_atomic
from omr_core.structures.problems import ProblemLog
from omr_core.validation.distribution import (
    OK_RATIO,
    RARE_RATIO,
    DistributionAccumulator,
    class_weights,
    imbalance,
)
from omr_core.viz.charts import box_size_figure, class_counts_figure, imbalance_figure
from omr_core.viz.draw import class_color, hex_color

SCHEMA = "omr_core/validation_report/1"
MAX_LISTED_PER_KIND = 1000
WEIGHT_FORMULA = "w_c = (1 - beta) / (1 - beta^n_c), normalised so the mean over present classes is 1; absent classes get 0"


def _counts_for_balance(distribution: dict, classes: list[str]) -> tuple[dict[str, int], str]:
    """Training counts when there is a train split (weights are for training), else all splits."""
    if "train" in distribution["counts"]:
        counts, origin = distribution["counts"]["train"], "train"
    else:
        counts, origin = distribution["totals"], "all splits"
    return {c: int(counts.get(c, 0)) for c in classes}, origin


def _section(problems: ProblemLog, accumulator: DistributionAccumulator, classes: list[str] | None) -> dict:
    distribution = accumulator.to_dict()
    classes = list(distribution["classes"]) if classes is None else list(classes)
    counts, origin = _counts_for_balance(distribution, classes)
    return {
        "pages": sum(distribution["pages"].values()),
        "boxes": sum(distribution["boxes"].values()),
        "problems": problems.to_dict(),
        "distribution": distribution,
        "imbalance": {"counts_from": origin, "classes": imbalance(counts)},
    }


def build_report(
    dataset: str,
    source_problems: ProblemLog,
    converted_problems: ProblemLog | None,
    source_distribution: DistributionAccumulator,
    converted_distribution: DistributionAccumulator | None,
    stage_classes: list[str],
    settings: dict,
    beta: float = 0.999,
) -> dict:
    """Assemble the validation report of one conversion (or of the source alone: converted_* = None).

    Args:
        dataset: a name for the title ("DeepScoresV2 dense").
        source_problems, source_distribution: what was found and counted in the source records (all classes).
        converted_problems, converted_distribution: the same for the converted set (the stage's classes only).
        stage_classes: the class set's names in YOLO id order.
        settings: the run's settings (paths, class set, thresholds...); values JSON cannot hold (Path...) are
            stored as their str(); NaN is refused.
        beta: the class-balanced weights' beta (see `class_weights`).

    Returns:
        {
          "schema": "omr_core/validation_report/1",
          "dataset": str, "created": ISO-8601 UTC str, "settings": dict, "stage_classes": [str],
          "source": SECTION,                 # every class of the source
          "converted": SECTION | None,       # the stage's classes
          "class_weights": {                 # suggested loss weights for the stage's classes
              "from": "converted" | "source", "counts_from": "train" | "all splits",
              "beta": float, "formula": str,
              "classes": {name: {"count": int, "ratio": float, "verdict": str, "weight": float}},  # YOLO id order
          },
        }
        SECTION = {
          "pages": int, "boxes": int,
          "problems": ProblemLog.to_dict(),            # {"total", "counts": [{kind, action, count}], "listed": [...]}
          "distribution": DistributionAccumulator.to_dict(),
          "imbalance": {"counts_from": str, "classes": {name: {"count", "ratio", "verdict"}}},
        }
    """
    stage_classes = list(stage_classes)
    source = _section(source_problems, source_distribution, None)
    converted = None
    if converted_distribution is not None:
        converted = _section(converted_problems or ProblemLog(), converted_distribution, stage_classes)
    basis_name, basis = ("converted", converted) if converted is not None else ("source", source)
    counts, origin = _counts_for_balance(basis["distribution"], stage_classes)
    verdicts = imbalance(counts)
    weights = class_weights(counts, beta=beta)
    report = {
        "schema": SCHEMA,
        "dataset": dataset,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": json.loads(json.dumps(settings, default=str)),
        "stage_classes": stage_classes,
        "source": source,
        "converted": converted,
        "class_weights": {
            "from": basis_name,
            "counts_from": origin,
            "beta": beta,
            "formula": WEIGHT_FORMULA,
            "classes": {c: {**verdicts[c], "weight": weights[c]} for c in stage_classes},
        },
    }
    json.dumps(report, allow_nan=False)  # fail here, with the report's builder on the stack, not in the writer
    return report


def write_validation_report(out_dir: Path, report: dict) -> tuple[Path, Path]:
    """Write `validation.json` (the dict as is) and `report.html` into `out_dir`; returns both paths.

    Files are written to a temporary name and renamed, so a reader never sees half a report.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "validation.json", out_dir / "report.html"
    write_atomic(json_path, json.dumps(report, indent=1, allow_nan=False))
    write_atomic(html_path, render_html(report))
    return json_path, html_path


# -- HTML ----------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1500px;padding:0 16px;color:#222}
h1{margin-bottom:4px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0;font-size:13px} th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
details{margin:6px 0} summary{cursor:pointer;font-weight:600}
.muted{color:#666;font-size:13px} .swatch{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:middle}
.verdict-severe{color:#d62728;font-weight:600} .verdict-rare{color:#c76a00} .verdict-absent{color:#7f7f7f}
.scroll{max-height:480px;overflow:auto} code{background:#f4f4f4;padding:1px 4px}
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value) -> str:
    return f'<td class="num">{value:,}</td>' if isinstance(value, int) else f'<td class="num">{_e(value)}</td>'


def _table(header: list[str], rows: list[list[str]]) -> str:
    """rows hold ready <td> cells."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>" + "".join(f"<tr>{''.join(r)}</tr>" for r in rows) + "</tbody></table>"


class _Figures:
    """Renders figures as <div>s; the first one carries plotly.js inline, the others reuse it."""

    def __init__(self):
        self.included = False

    def __call__(self, fig) -> str:
        div = pio.to_html(fig, full_html=False, include_plotlyjs=not self.included,
                          config={"displaylogo": False, "responsive": True})
        self.included = True
        return div


def _summary(report: dict) -> str:
    rows = []
    for name in ("source", "converted"):
        section = report.get(name)
        if section is None:
            rows.append([f"<td>{name}</td>", '<td colspan="4" class="muted">not converted</td>'])
            continue
        dist = section["distribution"]
        splits = ", ".join(f"{s}: {dist['pages'][s]:,} pages / {dist['boxes'][s]:,} boxes" for s in dist["splits"])
        rows.append([f"<td>{name}</td>", _num(section["pages"]), _num(section["boxes"]), _num(section["problems"]["total"]),
                     f"<td>{_e(splits)}</td>"])
    out = _table(["stage", "pages", "boxes", "problems", "per split"], rows)
    for name in ("source", "converted"):
        section = report.get(name)
        if section is None:
            continue
        counts = section["problems"]["counts"]
        if counts:
            out += f"<h3>Problems in the {name} by kind and action</h3>"
            out += _table(["kind", "action", "count"],
                          [[f"<td>{_e(c['kind'])}</td>", f"<td>{_e(c['action'])}</td>", _num(int(c["count"]))] for c in counts])
        else:
            out += f"<p>No problems found in the {name}.</p>"
        missing = {s: n for s, n in section["distribution"]["pages_without_staff_space"].items() if n}
        if missing:
            out += (f'<p class="muted">{name}: pages without a staff space (boxes counted but not sized): '
                    f"{_e(', '.join(f'{s}: {n:,}' for s, n in missing.items()))}</p>")
    return out


def _problem_tables(section: dict, name: str) -> str:
    problems = section["problems"]
    if not problems["total"]:
        return f"<p>No problems in the {name}.</p>"
    totals: dict[str, int] = defaultdict(int)
    for c in problems["counts"]:
        totals[c["kind"]] += int(c["count"])
    listed: dict[str, list[dict]] = defaultdict(list)
    for p in problems["listed"]:
        listed[p["kind"]].append(p)
    out = []
    for kind in sorted(totals):
        rows = listed[kind][:MAX_LISTED_PER_KIND]
        note = f"all {totals[kind]:,}" if len(rows) == totals[kind] else f"first {len(rows):,} of {totals[kind]:,}"
        cells = [[f"<td>{_e(p['kind'])}</td>", f"<td>{_e(p['file'])}</td>", f"<td>{_e(p['record'])}</td>",
                  f"<td>{_e(p['message'])}</td>", f"<td>{_e(p['action'])}</td>"] for p in rows]
        out.append(f"<details><summary>{_e(kind)}: {totals[kind]:,} ({note} listed)</summary><div class=\"scroll\">"
                   + _table(["kind", "file", "record", "message", "action"], cells) + "</div></details>")
    return "".join(out)


def _weights_table(weights: dict) -> str:
    rows = []
    for name, v in weights["classes"].items():
        swatch = f'<span class="swatch" style="background:{hex_color(class_color(name))}"></span>'
        rows.append([f"<td>{swatch}{_e(name)}</td>", _num(v["count"]), _num(f"{v['ratio']:.4g}"),
                     f'<td class="verdict-{_e(v["verdict"])}">{_e(v["verdict"])}</td>', _num(f"{v['weight']:.4g}")])
    return _table(["class", "count", "ratio to largest", "verdict", "suggested weight"], rows)


def _imbalance_table(imbalance_classes: dict) -> str:
    flagged = [(n, v) for n, v in imbalance_classes.items() if v["verdict"] in ("severe", "rare", "absent")]
    if not flagged:
        return "<p>No rare, severe or absent classes.</p>"
    order = {"severe": 0, "rare": 1, "absent": 2}
    flagged.sort(key=lambda nv: (order[nv[1]["verdict"]], -nv[1]["count"], nv[0]))
    rows = [[f"<td>{_e(n)}</td>", _num(v["count"]), _num(f"{v['ratio']:.4g}"),
             f'<td class="verdict-{_e(v["verdict"])}">{_e(v["verdict"])}</td>'] for n, v in flagged]
    return '<div class="scroll">' + _table(["class", "count", "ratio to largest", "verdict"], rows) + "</div>"


def render_html(report: dict) -> str:
    """The report dict as one self-contained HTML page (every text escaped)."""
    figure = _Figures()
    source, converted, stage = report["source"], report.get("converted"), report["stage_classes"]
    weights = report["class_weights"]
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>Validation report: {_e(report['dataset'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>Validation report: {_e(report['dataset'])}</h1>",
        f"<p class=\"muted\">created {_e(report['created'])} &middot; {len(stage)} stage classes: {_e(', '.join(stage))}</p>",
        "<details><summary>Settings</summary><pre>" + _e(json.dumps(report["settings"], indent=2, default=str)) + "</pre></details>",
        "<h2>Summary</h2>", _summary(report),
        "<h2>Problems</h2>", "<h3>Source</h3>", _problem_tables(source, "source"),
    ]
    if converted is not None:
        parts += ["<h3>Converted</h3>", _problem_tables(converted, "converted")]

    parts += ["<h2>Class distribution</h2>",
              figure(class_counts_figure(source["distribution"], title="Source: instances per class (all classes)"))]
    parts.append(figure(class_counts_figure(source["distribution"], classes=stage,
                                            title="Source: instances of the stage's classes")))
    if converted is not None:
        parts.append(figure(class_counts_figure(converted["distribution"], classes=stage,
                                                title="Converted: instances per class")))

    parts += ["<h2>Box sizes in staff spaces</h2>",
              "<p class=\"muted\">Staff space = median <code>staff</code> box height / 4 on each page. "
              "Statistics come from a seeded reservoir of at most "
              f"{source['distribution']['max_samples']:,} boxes per class.</p>",
              figure(box_size_figure(source["distribution"], title="Source: box size (all classes)"))]
    sized = converted if converted is not None and any(
        converted["distribution"]["size_staff_spaces"].get(c, {}).get("n") for c in stage) else source
    parts.append(figure(box_size_figure(sized["distribution"], classes=stage,
                                        title=f"{'Converted' if sized is converted else 'Source'}: box size of the stage's classes")))

    parts += [
        "<h2>Imbalance and class weights</h2>",
        f"<p>Verdicts compare each class's count with the most frequent class's: <b>dominant</b> (the largest), "
        f"<b>ok</b> (ratio &ge; {OK_RATIO:g}), <b>rare</b> ({RARE_RATIO:g} &le; ratio &lt; {OK_RATIO:g}), "
        f"<b>severe</b> (ratio &lt; {RARE_RATIO:g}), <b>absent</b> (no box).</p>",
        figure(imbalance_figure(source["imbalance"]["classes"],
                                title=f"Source ({_e(source['imbalance']['counts_from'])}): count / most frequent class")),
        "<h3>Rare, severe and absent classes in the source</h3>", _imbalance_table(source["imbalance"]["classes"]),
        f"<h3>Suggested class weights for the stage (from the {_e(weights['from'])} set, "
        f"{_e(weights['counts_from'])} counts)</h3>",
        f"<p>Class-balanced weights by effective number of samples (Cui et al., CVPR 2019): "
        f"<code>{_e(weights['formula'])}</code>, with beta = {_e(weights['beta'])}. The effective number "
        f"(1 - beta^n) / (1 - beta) saturates at 1 / (1 - beta) for large classes, so weights stay bounded where "
        f"inverse frequency would explode.</p>",
        _weights_table(weights),
        "</body></html>",
    ]
    return "\n".join(parts)
