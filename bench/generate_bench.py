"""Offline generation speed: corpus piece -> labelled DeepScores page on disk, against SVG rasterisers.

    .venv/bin/pip install -r bench/requirements.txt     # the peers: resvg-py, cairosvg
    .venv/bin/python bench/generate_bench.py            # ~2 min

Both sides engrave the same pieces with Verovio (same options) and write one PNG per page. omr_core then
draws the SVG's outlines with skia and labels every symbol (`render_svg`); the peers hand the SVG to an SVG
rasteriser (resvg, cairosvg) and label nothing, which flatters them. Stages are timed in one process;
the whole path (`generate()`) also with 2 worker processes, as the workbench runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import verovio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.convert_bench import _replace_section  # noqa: E402
from omr_core.rendering.generate import (  # noqa: E402
    GenerateConfig,
    corpus_root,
    engraver,
    generate,
    list_pieces,
    load_score,
    plan_tasks,
)
from omr_core.rendering.verovio_page import render_svg  # noqa: E402

WH = (1960, 2772)


def engrave(task) -> tuple[verovio.toolkit, int, float]:
    toolkit = engraver(task.font, task.scale, task.page_width, WH)  # exactly as the generator engraves
    start = time.perf_counter()
    ok = toolkit.loadData(load_score(corpus_root() / task.piece))
    return toolkit, min(toolkit.getPageCount(), task.max_pages) if ok else 0, time.perf_counter() - start


def sized(svg: str) -> str:
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', f'<svg width="{WH[0]}px" height="{WH[1]}px"', svg, count=1)


def rasterise_resvg(svg: str) -> np.ndarray:
    import resvg_py

    png = bytes(resvg_py.svg_to_bytes(svg_string=sized(svg), background="white"))
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


def rasterise_cairosvg(svg: str) -> np.ndarray:
    import cairosvg

    png = cairosvg.svg2png(bytestring=sized(svg).encode(), background_color="white")
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


def run_side(tasks, out: Path, rasterise=None) -> dict:
    """Stage times (s) and pages for one side; rasterise=None is omr_core (skia outlines + labels)."""
    times = {"layout": 0.0, "svg": 0.0, "draw_and_label": 0.0, "png": 0.0}
    pages = boxes = 0
    for task in tasks:
        toolkit, n, seconds = engrave(task)
        times["layout"] += seconds
        for page in range(1, n + 1):
            start = time.perf_counter()
            svg = toolkit.renderToSVG(page)
            times["svg"] += time.perf_counter() - start
            start = time.perf_counter()
            if rasterise is None:
                rendered = render_svg(svg, *WH, task.font)
                pixels, boxes = rendered.pixels, boxes + len(rendered.symbols)
            else:
                pixels = rasterise(svg)
            times["draw_and_label"] += time.perf_counter() - start
            start = time.perf_counter()
            cv2.imwrite(str(out / f"{task.index}-{page}.png"), pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            times["png"] += time.perf_counter() - start
            pages += 1
    return {"pages": pages, "boxes": boxes, **times, "total": sum(times.values())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pieces", type=int, default=12)
    args = parser.parse_args()
    config = GenerateConfig(output="unused", seed=0)
    tasks = [t for t in plan_tasks(config, list_pieces()) if not t.piece.endswith(".abc")][: args.pieces]
    peers = {"omr_core (skia outlines + labels)": None, "resvg (no labels)": rasterise_resvg,
             "cairosvg (no labels)": rasterise_cairosvg}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, rasterise in peers.items():
            out = Path(tmp) / re.sub(r"\W+", "-", name)
            out.mkdir()
            results[name] = run_side(tasks, out, rasterise)
            r = results[name]
            print(f"{name:34s} {r['pages']} pages {r['pages'] / r['total']:5.2f} pages/s  "
                  + "  ".join(f"{k} {1000 * r[k] / max(r['pages'], 1):.0f} ms" for k in ("layout", "svg", "draw_and_label", "png")))
        whole = []
        for n_pages in (60, 200):  # the first start's size, and a longer run where worker start-up matters less
            start = time.perf_counter()
            made = generate(GenerateConfig(output=str(Path(tmp) / f"whole-{n_pages}"), n_pages=n_pages, seed=0, workers=2))
            whole.append((made.pages, time.perf_counter() - start))
            print(f"generate() with 2 workers: {made.pages} pages in {whole[-1][1]:.1f} s = {made.pages / whole[-1][1]:.2f} pages/s")
    write_results(results, whole)


def write_results(results: dict, whole: list[tuple[int, float]]) -> None:
    ours = results["omr_core (skia outlines + labels)"]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "## Offline generation: corpus -> labelled pages (bench/generate_bench.py)",
        "",
        f"Machine: {machine}; {time.strftime('%Y-%m-%d')}. The same {ours['pages']} pages (first pieces of the seeded plan,",
        "ABC tune books left out) engraved by Verovio on both sides, one process; per-page stage times. The peers",
        "rasterise Verovio's SVG and label nothing.",
        "",
        "| path | pages/s | ratio to omr_core | layout ms | SVG ms | draw (+ label) ms | PNG ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        per = {k: 1000 * r[k] / max(r["pages"], 1) for k in ("layout", "svg", "draw_and_label", "png")}
        lines.append(f"| {name} | {r['pages'] / r['total']:.2f} | x{(r['pages'] / r['total']) / (ours['pages'] / ours['total']):.2f} | "
                     f"{per['layout']:.0f} | {per['svg']:.0f} | {per['draw_and_label']:.0f} | {per['png']:.0f} |")
    runs = "; ".join(f"{pages} pages in {seconds:.1f} s = **{pages / seconds:.1f} pages/s**" for pages, seconds in whole)
    lines += ["", "The whole path, `generate()` with 2 worker processes as the workbench runs it (worker start-up, the",
              f"duplicate merge and the JSON included): {runs}. The prototype in the issue: 7 pages/s in one process.",
              "Timings on this shared machine vary by about 20% from run to run."]
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
