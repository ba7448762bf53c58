"""DeepScores JSON -> YOLO labels: omr_core against the straightforward converter, in the same run.

    .venv/bin/python bench/convert_bench.py            # 100k and 1M annotations (~3 min here)
    .venv/bin/python bench/convert_bench.py --sizes 100000

The peer is what community converters do: `json.load` the whole file, loop over the annotations in Python,
write one line per box. Both sides write the same label files (checked). Each side runs in a fresh process,
so its peak RSS is its own (the process tree's, workers included). The inputs are made from the real DeepScoresV2 sample page
(tests/data), repeated with jitter, in DeepScores' compact JSON layout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "_data"
SAMPLE = ROOT / "tests" / "data" / "deepscores_v2_sample.json"


def make_input(n_annotations: int) -> Path:
    path = DATA / f"deepscores_{n_annotations}.json"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    sample = json.loads(SAMPLE.read_text())
    (page,) = sample["images"]
    template = [sample["annotations"][i] for i in page["ann_ids"]]
    rng = random.Random(0)
    images, annotations, next_id = [], {}, 1
    while next_id <= n_annotations:
        image_id = len(images) + 1
        ids = []
        for ann in template:
            if next_id > n_annotations:
                break
            dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
            a = ann["a_bbox"]
            annotations[str(next_id)] = {
                **ann,
                "a_bbox": [a[0] + dx, a[1] + dy, a[2] + dx, a[3] + dy],
                "o_bbox": [v + (dx if i % 2 == 0 else dy) for i, v in enumerate(ann["o_bbox"])],
                "img_id": str(image_id),
            }
            ids.append(str(next_id))
            next_id += 1
        images.append({**page, "id": image_id, "filename": f"page-{image_id:06d}.png", "ann_ids": ids})
    doc = {k: sample[k] for k in ("info", "annotation_sets", "categories")}
    doc.update(images=images, annotations=annotations)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        json.dump(doc, f)
    tmp.replace(path)
    return path


# --- the peer: what community converters do -----------------------------------------------------------------
PEER = r'''
import json, os, sys
src, out = sys.argv[1], sys.argv[2]
with open(src) as f:
    data = json.load(f)
ids = sorted(int(k) for k, v in data["categories"].items() if v["annotation_set"] == "deepscores")
yolo = {str(k): i for i, k in enumerate(ids)}
images = {str(im["id"]): im for im in data["images"]}
lines = {}
for ann in data["annotations"].values():
    im = images[str(ann["img_id"])]
    w, h = im["width"], im["height"]
    x0, y0, x1, y1 = ann["a_bbox"]
    cls = yolo[ann["cat_id"][0]]
    lines.setdefault(im["filename"], []).append(
        f"{cls} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}\n")
for name, rows in lines.items():
    with open(os.path.join(out, os.path.splitext(name)[0] + ".txt"), "w") as f:
        f.writelines(rows)
'''

# --- omr_core: the streaming reader and the converter's label writer ------------------------------------------
OURS = r'''
import os, sys
import numpy as np
from pathlib import Path
from omr_core.catalog import categories
from omr_core.formats.deepscores import DeepScoresReader
from omr_core.formats.yolo import write_labels
src, out = sys.argv[1], Path(sys.argv[2])
WORKERS = None if len(sys.argv) < 4 else int(sys.argv[3])  # None: the reader's default
ids = sorted(categories("deepscores"))
lookup = np.full(max(ids) + 1, -1, dtype=np.int64)
lookup[ids] = np.arange(len(ids))
for record in DeepScoresReader(src, workers=WORKERS).records():
    det = record.detections.with_class_ids(lookup[record.detections.class_id])
    write_labels(out / (os.path.splitext(record.file_name)[0] + ".txt"), det, (record.width, record.height))
'''

TIMER = r'''
import sys, time
code = open(sys.argv[1]).read()
sys.argv = sys.argv[1:]
start = time.perf_counter()
exec(compile(code, "bench", "exec"), {"__name__": "__main__"})
elapsed = time.perf_counter() - start
# VmHWM: peak RSS of this address space (ru_maxrss would carry the parent's peak over fork+exec)
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print(f"{elapsed} {hwm}")
'''


def run(code: str, src: Path, out: Path, *extra: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one side in a fresh process.

    The RSS is the whole process tree's (omr_core decodes in worker processes), summed and sampled every
    20 ms with psutil; a peak shorter than that can be missed, on both sides alike."""
    import psutil

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    script = out.parent / f"{out.name}.py"
    script.write_text(code)
    child = subprocess.Popen([sys.executable, "-c", TIMER, str(script), str(src), str(out), *extra], stdout=subprocess.PIPE,
                             text=True, cwd=ROOT)
    tree, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [tree, *tree.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.02)
    stdout = child.stdout.read()
    if child.returncode:
        raise RuntimeError(f"{script} failed with code {child.returncode}")
    seconds, hwm_kib = stdout.split()[-2:]
    return float(seconds), max(peak / 2**20, int(hwm_kib) / 1024)


def same_labels(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    if names != sorted(p.name for p in b.iterdir()):
        return False
    return all(sorted((a / n).read_text().splitlines()) == sorted((b / n).read_text().splitlines()) for n in names)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per side")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        src = make_input(n)
        peer = min(run(PEER, src, DATA / "peer") for _ in range(args.repeat))
        ours = min(run(OURS, src, DATA / "ours") for _ in range(args.repeat))
        assert same_labels(DATA / "peer", DATA / "ours"), "the two converters wrote different labels"
        single = min(run(OURS, src, DATA / "ours", "0") for _ in range(args.repeat))
        row = dict(n=n, mb=src.stat().st_size / 2**20, peer_s=peer[0], ours_s=ours[0], peer_rss=peer[1],
                   ours_rss=ours[1], single_s=single[0], single_rss=single[1])
        rows.append(row)
        print(f"{n:>9,} annotations ({row['mb']:.0f} MB): peer {n / peer[0]:>9,.0f} ann/s {peer[1]:6.0f} MiB | "
              f"omr_core {n / ours[0]:>9,.0f} ann/s {ours[1]:6.0f} MiB (x{peer[0] / ours[0]:.2f} speed, "
              f"x{ours[1] / peer[1]:.2f} memory) | one process {n / single[0]:>9,.0f} ann/s {single[1]:6.0f} MiB")
    write_results(rows)


def write_results(rows: list[dict]) -> None:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "## DeepScores JSON -> YOLO labels (bench/convert_bench.py)",
        "",
        f"Machine: {machine}; {time.strftime('%Y-%m-%d')}. Best of 3 per side, each in a fresh process. Peak RSS:",
        "the whole process tree (omr_core's decoding workers included), interpreter and imports included.",
        "Peer: json.load + Python loop + write lines. Both write identical label files (checked).",
        "",
        "| annotations | JSON MB | peer ann/s | omr_core ann/s | speed ratio | peer peak MiB | omr_core peak MiB | memory ratio | omr_core, one process: ann/s, peak MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['mb']:.0f} | {r['n'] / r['peer_s']:,.0f} | {r['n'] / r['ours_s']:,.0f} | "
            f"x{r['peer_s'] / r['ours_s']:.2f} | {r['peer_rss']:.0f} | {r['ours_rss']:.0f} | x{r['ours_rss'] / r['peer_rss']:.2f} | "
            f"{r['n'] / r['single_s']:,.0f}, {r['single_rss']:.0f} |"
        )
    lines += ["", "omr_core reads files over 64 MiB with two decoding worker processes (both cores); smaller ones, and the",
              "'one process' column, in a single process."]
    if len(rows) > 1:
        lo, hi = rows[0], rows[-1]
        lines += ["", f"Peak memory from {lo['n']:,} to {hi['n']:,} annotations: omr_core in one process "
                      f"{lo['single_rss']:.0f} -> {hi['single_rss']:.0f} MiB, peer {lo['peer_rss']:.0f} -> {hi['peer_rss']:.0f} MiB."]
    _replace_section(ROOT / "bench" / "RESULTS.md", lines)


def _replace_section(path: Path, lines: list[str]) -> None:
    """Each benchmark owns one `## ` section of RESULTS.md and rewrites only it."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    header = lines[0]
    sections = text.split("\n## ")
    kept = [s for s in sections if not ("## " + s).startswith(header) and not s.startswith(header)]
    path.write_text("\n## ".join(kept).rstrip() + "\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
