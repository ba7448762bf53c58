"""The model registry's consent gate: a pickle that writes a marker file when it is loaded must never load
without consent, whichever way it is reached (a name, a name with / or .., a path, the command line, the
pages), and must load with it (so the marker shows that the gate is what stopped it)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omr_core.registry import (
    BUNDLED_MODELS,
    UntrustedModelError,
    find_model,
    list_registry_models,
    register_model,
    require_trusted,
    resolve_model,
    update_card,
)
from omr_core.structures.problems import ProblemLog
from omr_core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = min(BUNDLED_MODELS.glob("*/card.json")).parent


class _Payload:
    """Unpickling this runs code: it writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('the pickle ran')",)


def write_pickle(path: Path, marker: Path) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": _Payload(marker), "epoch": -1}, path)
    return path


def evil_model(folder: Path, marker: Path) -> Path:
    """A registry-looking folder: a card that claims everything, beside a pickle that runs code."""
    card = json.loads((BUNDLED / "card.json").read_text())
    card.pop("files")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "card.json").write_text(json.dumps({**card, "name": folder.name}))
    return write_pickle(folder / "best.pt", marker)


@pytest.fixture
def ws(tmp_path):
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "MARKER"


def test_a_card_beside_a_pickle_is_no_consent(ws, marker):
    from omr_core.inference.detector import SymbolDetector

    evil_model(ws.models / "evil", marker)
    ref = resolve_model("evil", ws, prefer="torch")
    assert not ref.trusted and "not trained in this workspace" in ref.why
    with pytest.raises(UntrustedModelError, match="pickle"):
        SymbolDetector.load("evil", ws, backend="torch")
    with pytest.raises(UntrustedModelError):
        SymbolDetector.load(ws.models / "evil" / "best.pt", ws, backend="torch")  # by its path
    assert not marker.exists()
    with pytest.raises(Exception):  # consent: it loads (and then fails, being no model), and the code ran
        SymbolDetector.load("evil", ws, backend="torch", trust_pickle=True)
    assert marker.read_text() == "the pickle ran"


@pytest.mark.parametrize("name", ["../outside/evil", "{outside}/evil", "..", "evil/../../outside/evil", "a\\b"])
def test_a_name_never_leaves_the_registry(ws, marker, tmp_path, name):
    from omr_core.inference.detector import SymbolDetector

    outside = tmp_path / "outside" / "evil"
    evil_model(outside, marker)
    with pytest.raises((FileNotFoundError, ValueError)):
        SymbolDetector.load(name.format(outside=tmp_path / "outside"), ws, backend="torch")
    assert not marker.exists()


def test_a_link_in_the_registry_to_a_folder_elsewhere_is_refused(ws, marker, tmp_path):
    evil_model(tmp_path / "elsewhere", marker)
    (ws.models / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="points outside"):
        resolve_model("linked", ws, prefer="torch")


def test_trusted_are_the_workspaces_own_and_the_bundled_files_by_their_bytes(ws, tmp_path):
    own = register_model(ws, "mine", BUNDLED / "best.pt", {"name": "mine", "classes": []}, "trained here (test)")
    assert resolve_model("mine", ws, prefer="torch").trusted
    assert own["files"]["best.pt"]["sha256"] == json.loads((BUNDLED / "card.json").read_text())["files"]["best.pt"]["sha256"]
    assert resolve_model(BUNDLED.name, prefer="torch").trusted  # the bundled card records its sha256
    changed = tmp_path / "copy" / "best.pt"
    changed.parent.mkdir()
    changed.write_bytes((BUNDLED / "best.pt").read_bytes() + b"\0")  # one byte more: not the same file
    ok, why = resolve_model(changed, ws).trusted, resolve_model(changed, ws).why
    assert not ok and "neither" in why
    require_trusted(changed, ws, consent=True)  # consent is the user's to give


def test_an_unreadable_card_is_reported_and_the_rest_listed(ws):
    (ws.models / "broken").mkdir()
    (ws.models / "broken" / "card.json").write_bytes(b'{"name": "broken", "classes": [\xff')
    (ws.models / "list").mkdir()
    (ws.models / "list" / "card.json").write_text("[1, 2]")
    problems = ProblemLog()
    cards = list_registry_models(ws, problems)
    assert [c["name"] for c in cards] == [json.loads((BUNDLED / "card.json").read_text())["name"]]
    assert sorted(Path(p.file).parent.name for p in problems.problems) == ["broken", "list"]
    assert any("UTF-8" in p.message for p in problems.problems)
    with pytest.raises(ValueError, match="broken.*UTF-8"):
        find_model("broken", ws)


def test_editing_a_bundled_card_writes_a_workspace_copy(ws):
    before = (BUNDLED / "card.json").read_bytes()
    update_card(ws, BUNDLED.name, {"class_conf": {"stem": 0.3}})
    assert (BUNDLED / "card.json").read_bytes() == before
    (entry,) = [c for c in list_registry_models(ws) if c["name"] == BUNDLED.name]  # listed once, edited
    assert entry["class_conf"] == {"stem": 0.3} and entry["dir"] == str(BUNDLED)


def run_cli(*args, cwd=ROOT):
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "WANDB_MODE": "offline"}
    return subprocess.run([sys.executable, "-m", "omr_core", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_the_command_line_refuses_with_a_message_not_a_traceback(ws, marker, tmp_path, page_path):
    evil = evil_model(ws.models / "evil", marker)
    dataset = tmp_path / "set"
    shutil.copytree(ROOT / "tests" / "data" / "recorded_run", dataset)  # any folder: refused before it is read
    for args in (["detect", page_path, "--model", "evil", "--backend", "torch", "--workspace", ws.root],
                 ["detect", page_path, "--model", evil, "--workspace", ws.root],
                 ["evaluate", "evil", dataset, "--backend", "torch", "--workspace", ws.root],
                 ["export", "evil", "--workspace", ws.root],
                 ["check", dataset, "--model", evil, "--workspace", ws.root]):
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stdout[-500:], done.stderr[-2000:])
        assert "error:" in done.stderr and "pickle" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not marker.exists(), args
    done = run_cli("detect", page_path, "--model", "evil", "--backend", "torch", "--workspace", ws.root,
                   "--trust-pickle")
    assert marker.exists(), done.stderr[-2000:]  # with the flag the pickle loads: the gate was what held it
