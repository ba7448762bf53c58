"""`pip install .` into a fresh virtual environment, used outside the checkout: the package finds every file it
reads at run time (package data), `init` makes a workspace in the current folder, and `detect` runs a model
given by its path, or by name through $SCOREEYE_MODELS (omr_core.locations)."""

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
MODEL = min((ROOT / "models").glob("*/best.onnx"))  # a bundled model's ONNX export (it holds no code)


def run(python: Path, args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SCOREEYE_", "PYTHON", "XDG_")) and k != "YOLO_CONFIG_DIR"}
    result = subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                            env={**keep, "HOME": str(cwd / "home"), **env})
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def test_an_installed_package_inits_and_detects_outside_the_checkout(tmp_path):
    env_dir, elsewhere = tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(run(python, ["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], elsewhere).stdout.strip())
    # the dependencies (and the pip and setuptools that build the package) from the environment running the tests,
    # so nothing is downloaded; the checkout itself is not on the path
    (site / "dependencies.pth").write_text(str(Path(numpy.__file__).resolve().parents[1]) + "\n")
    source = tmp_path / "source"  # what `pip install .` packs, built away from the checkout (no build/ left there)
    shutil.copytree(ROOT / "omr_core", source / "omr_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source)
    run(python, ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", str(source)], elsewhere)

    where = run(python, ["-c", "import omr_core, omr_core.locations as l; print(omr_core.__file__); print(l.CHECKOUT); "
                               "print([str(p) for p in l.PACKAGE_DATA if not p.is_file()])"], elsewhere).stdout.split("\n")
    assert where[0].startswith(str(site)) and where[1] == "None" and where[2] == "[]", where  # installed, data there

    run(python, ["-m", "omr_core", "init", "--pages", "2", "--no-first-stage"], elsewhere)
    workspace = elsewhere / "workspace"  # ./workspace of the current folder
    assert (workspace / "training_plan.yaml").is_file() and (workspace / "datasets" / "corpus-default-all" / "reports"
                                                               / "report.html").is_file()
    page = min((workspace / "sources" / "corpus-default" / "images").glob("*.png"))

    run(python, ["-m", "omr_core", "detect", str(page), "--model", str(MODEL), "--out", "by-path.json"], elsewhere)
    by_path = json.loads((elsewhere / "by-path.json").read_text())
    run(python, ["-m", "omr_core", "detect", str(page), "--model", MODEL.parent.name, "--out", "by-name.json"], elsewhere,
        SCOREEYE_MODELS=str(MODEL.parents[1]))
    by_name = json.loads((elsewhere / "by-name.json").read_text())
    # a file given by path runs with what it holds (an ONNX file knows its classes); by name it also has its card
    assert len(by_path["symbols"]) > 20 and len(by_name["symbols"]) > 20
    assert by_name["model_name"] == MODEL.parent.name and by_name["tiles"] > 1
