"""The layer order of omr_core (pyproject.toml, [tool.importlinter]) holds: no module imports a package above its
own, at module level or inside a function. The second test proves the check can fail."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contract from root/pyproject.toml over root/omr_core, in a process of its own (it imports
    nothing of omr_core: grimp reads the source)."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_no_import_runs_up_the_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_import_that_runs_up_is_refused_with_its_line(tmp_path):
    shutil.copytree(ROOT / "omr_core", tmp_path / "omr_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    cases = tmp_path / "omr_core" / "evaluation" / "cases.py"
    cases.write_text(cases.read_text() + "\n\ndef _up():\n    from omr_core.training.plan import load_plan\n")
    result = lint(tmp_path)
    assert result.returncode == 1
    assert "omr_core.evaluation.cases -> omr_core.training.plan" in result.stdout, result.stdout
