"""The validation report (`omr_core.validation.build_report`'s document) written as validation.json and a
self-contained report.html: plotly.js inlined once, no image, no external URL, readable offline years later.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import jinja2
import plotly.io as pio
from markupsafe import Markup

from omr_core.fileio import write_atomic
from omr_core.validation.distribution import OK_RATIO, RARE_RATIO
from omr_core.viz.charts import box_size_figure, class_counts_figure, imbalance_figure
from omr_core.viz.draw import class_color, hex_color

MAX_LISTED_PER_KIND = 1000
TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("omr_core.reports", "templates"), autoescape=True,
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

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


class _Figures:
    """Renders figures as <div>s; the first one carries plotly.js inline, the others reuse it."""

    def __init__(self):
        self.included = False

    def __call__(self, fig) -> Markup:
        div = pio.to_html(fig, full_html=False, include_plotlyjs=not self.included,
                          config={"displaylogo": False, "responsive": True})
        self.included = True
        return Markup(div)  # plotly's own markup: the one thing the template does not escape


def _section_view(section: dict | None) -> dict | None:
    """What the template shows of one section: its splits in words, its problems grouped by kind (at most
    MAX_LISTED_PER_KIND listed each), and the pages without a staff space."""
    if section is None:
        return None
    dist, problems = section["distribution"], section["problems"]
    totals: dict[str, int] = defaultdict(int)
    for c in problems["counts"]:
        totals[c["kind"]] += int(c["count"])
    listed: dict[str, list[dict]] = defaultdict(list)
    for p in problems["listed"]:
        listed[p["kind"]].append(p)
    kinds = []
    for kind in sorted(totals):
        rows = listed[kind][:MAX_LISTED_PER_KIND]
        note = f"all {totals[kind]:,}" if len(rows) == totals[kind] else f"first {len(rows):,} of {totals[kind]:,}"
        kinds.append({"kind": kind, "total": totals[kind], "note": note, "rows": rows})
    missing = {s: n for s, n in dist["pages_without_staff_space"].items() if n}
    return {**section, "kinds": kinds,
            "splits": ", ".join(f"{s}: {dist['pages'][s]:,} pages / {dist['boxes'][s]:,} boxes" for s in dist["splits"]),
            "without_staff_space": ", ".join(f"{s}: {n:,}" for s, n in missing.items())}


def render_html(report: dict) -> str:
    """The report dict as one self-contained HTML page (every text escaped by the template)."""
    figure = _Figures()
    source, converted, stage = report["source"], report.get("converted"), report["stage_classes"]
    counts = [figure(class_counts_figure(source["distribution"], title="Source: instances per class (all classes)")),
              figure(class_counts_figure(source["distribution"], classes=stage,
                                         title="Source: instances of the stage's classes"))]
    if converted is not None:
        counts.append(figure(class_counts_figure(converted["distribution"], classes=stage,
                                                 title="Converted: instances per class")))
    sized = converted if converted is not None and any(
        converted["distribution"]["size_staff_spaces"].get(c, {}).get("n") for c in stage) else source
    sizes = [figure(box_size_figure(source["distribution"], title="Source: box size (all classes)")),
             figure(box_size_figure(sized["distribution"], classes=stage,
                                    title=f"{'Converted' if sized is converted else 'Source'}: box size of the stage's classes"))]
    imbalance = figure(imbalance_figure(source["imbalance"]["classes"], ok_ratio=OK_RATIO, rare_ratio=RARE_RATIO,
                                        title=f"Source ({source['imbalance']['counts_from']}): count / most frequent class"))
    order = {"severe": 0, "rare": 1, "absent": 2}
    flagged = sorted(((n, v) for n, v in source["imbalance"]["classes"].items() if v["verdict"] in order),
                     key=lambda nv: (order[nv[1]["verdict"]], -nv[1]["count"], nv[0]))
    weights = report["class_weights"]
    return TEMPLATES.get_template("validation.html.j2").render(
        report=report, css=Markup(_CSS), settings_json=json.dumps(report["settings"], indent=2, default=str),
        sections=[("source", _section_view(source)), ("converted", _section_view(converted))],
        figures={"counts": counts, "sizes": sizes, "imbalance": imbalance},
        max_samples=source["distribution"]["max_samples"], ok_ratio=OK_RATIO, rare_ratio=RARE_RATIO,
        flagged=flagged, weights=weights, colors={name: hex_color(class_color(name)) for name in weights["classes"]},
    )
