"""The model registry: the one owner of model folders, model cards and the decision to load a pickle.

    list_registry_models(ws)              cards of the workspace's models, then the bundled ones (bad cards reported)
    ref = resolve_model("scoreeye-3.1-n", ws)   a registry name -> ModelRef(path, card, trusted, why)
    require_trusted(ref, consent=False)   raises UntrustedModelError unless the .pt may be loaded
    update_card(ws, name, {...})          every card edit, atomic; a bundled model's edit goes to a workspace copy

Where models live:
    <workspace>/models/<name>/   best.pt (+ best.onnx, best.int8.onnx) and card.json: models this workspace made
    <repository>/models/<name>/  bundled models; their card records the sha256 of each file (`files`)
                                 ($SCOREEYE_MODELS when set or installed: see omr_core.locations)
    <workspace>/models/<name>/card.json with "model_files": "bundled"
                                 a workspace copy of a bundled model's card (edited there: class thresholds, a
                                 gate override); the model files stay in the repository's folder

A name is a name: 1-64 letters, digits, '.', '_' or '-', one folder directly inside a registry folder, never a
path (`../x` and `/abs/x` are refused). A model *file* may also be given by its path.

Trust. A `.pt` file is a Python pickle: loading it runs whatever code it holds. One loads only when
- its sha256 is in the workspace's ledger (`models/trust.json`), which only `register_trained` writes, when a
  training run of this workspace registers its best.pt; or
- its sha256 is recorded in a bundled model's card (the repository's own files); or
- the user consents (a `--trust-pickle` flag, a tick on the page) for that load.
A card beside a file proves nothing (anyone can write one). ONNX files hold no code and always load.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from omr_core.fileio import copy_atomic, locked, write_atomic
from omr_core.locations import bundled_models
from omr_core.names import check_name
from omr_core.structures.problems import Problem, ProblemLog

BUNDLED_MODELS = bundled_models()  # <checkout>/models, or $SCOREEYE_MODELS (omr_core.locations)
PREFERENCE = {"onnx": ("best.onnx", "best.pt"), "torch": ("best.pt", "best.onnx"), "int8": ("best.int8.onnx",)}
BACKEND_FILES = {"onnx": "best.onnx", "int8": "best.int8.onnx", "torch": "best.pt"}  # fastest on CPU first
BACKENDS = ("auto", *BACKEND_FILES)  # auto: ONNX Runtime where the model has an export, else PyTorch
MODEL_FILES = ("best.pt", "best.onnx", "best.int8.onnx")
LEDGER = "trust.json"
BUNDLED_COPY = "bundled"  # card["model_files"] of a workspace copy of a bundled card
CONSENT_HINT = ("pass --trust-pickle (or tick 'I trust this file' on the page) if you trust where it came from, "
                "or use its .onnx export, which holds no code")


class UntrustedModelError(PermissionError):
    """A `.pt` file nobody vouched for: it is a pickle and runs code when loaded."""


class CardError(ValueError):
    """A card.json that cannot be read; the message names the file and what was wrong."""


@dataclass(frozen=True)
class ModelRef:
    """A model file; where it came from the registry, its name and card. `trusted`: whether it may be loaded
    without the user's consent, and `why` in words."""

    path: Path
    card: dict = field(default_factory=dict)
    name: str | None = None
    trusted: bool = False
    why: str = ""


def _workspace_models(workspace) -> Path | None:
    return Path(workspace.models) if workspace is not None else None


def registry_dirs(workspace=None) -> list[Path]:
    """Where registered models live: the workspace's models/ and the repository's bundled models/."""
    root = _workspace_models(workspace)
    return ([root] if root is not None else []) + [BUNDLED_MODELS]


def check_model_name(name: str) -> str:
    try:
        return check_name(str(name))
    except ValueError as exc:
        raise ValueError(f"model {name!r} is not a registry name: {exc}") from None


def read_card(path: Path) -> dict:
    """A card.json as a dict, or CardError naming the file and what was wrong with it."""
    path = Path(path)
    try:
        card = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CardError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise CardError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except OSError as exc:
        raise CardError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(card, dict):
        raise CardError(f"{path}: expected a JSON object, but got {type(card).__name__}")
    classes = card.get("classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise CardError(f"{path}: 'classes' must be a list of class names, but got {str(classes)[:80]}")
    return card


def write_card(folder: Path, card: dict) -> Path:
    """Write a card atomically (a reader sees the old card or the new one)."""
    path = Path(folder) / "card.json"
    write_atomic(path, json.dumps(card, indent=2, default=str))
    return path


def _folder_of(root: Path, name: str) -> Path | None:
    """root/name when it is a folder directly inside root (a link pointing elsewhere does not count)."""
    folder = root / name
    if not folder.is_dir():
        return None
    if folder.resolve().parent != root.resolve():
        raise ValueError(f"{folder}: the registry folder points outside {root}; refusing to use it")
    return folder


def _entry(root: Path, folder: Path, problems: ProblemLog | None) -> dict | None:
    """The card of one registry folder with `dir` (where its model files are), `card_path` and `origin`."""
    card_path = folder / "card.json"
    try:
        card = read_card(card_path)
    except CardError as exc:
        if problems is not None:
            problems.add(Problem("bad_card", str(card_path), folder.name, str(exc).split(": ", 1)[-1], "skipped"))
        return None
    files, origin = folder, "bundled" if root == BUNDLED_MODELS else "workspace"
    if card.get("model_files") == BUNDLED_COPY:
        files, origin = BUNDLED_MODELS / folder.name, "bundled, card edited in the workspace"
    return {**card, "name": card.get("name") or folder.name, "dir": str(files), "card_path": str(card_path),
            "origin": origin}


def list_registry_models(workspace=None, problems: ProblemLog | None = None) -> list[dict]:
    """Cards of every registered model (workspace first, then bundled; a bundled model whose card the
    workspace edited is listed once, with the edited card). Each has `dir` (its model files), `card_path` and
    `origin`. A card that cannot be read is left out and reported in `problems`."""
    cards, seen = [], set()
    for root in registry_dirs(workspace):
        if not root.is_dir():
            continue
        for card_path in sorted(root.glob("*/card.json")):
            folder = card_path.parent
            if folder.name in seen:
                continue
            entry = _entry(root, folder, problems)
            if entry is not None:
                cards.append(entry)
                seen.add(folder.name)
    return cards


def workspace_models(workspace, problems: ProblemLog | None = None) -> list[dict]:
    """Cards of the models this workspace trained, oldest first (copies of bundled cards left out)."""
    cards = [c for c in list_registry_models(workspace, problems) if c["origin"] == "workspace"]
    return sorted(cards, key=lambda c: str(c.get("date", "")))


def find_model(name: str, workspace=None) -> dict:
    """The registry entry (card with `dir`, `card_path`, `origin`) of a model name."""
    name = check_model_name(name)
    for root in registry_dirs(workspace):
        folder = _folder_of(root, name) if root.is_dir() else None
        if folder is not None and (folder / "card.json").is_file():
            entry = _entry(root, folder, None)
            if entry is None:
                read_card(folder / "card.json")  # raises the CardError with the file and the reason
            return entry
    known = [Path(c["dir"]).name for c in list_registry_models(workspace)]
    raise FileNotFoundError(f"{name}: no registered model of that name (registered: {known or 'none'})")


def available_backends(folder: Path) -> list[str]:
    """The backends a registered model's folder offers (its files of BACKEND_FILES), fastest first."""
    return [backend for backend, file_name in BACKEND_FILES.items() if (Path(folder) / file_name).is_file()]


def _looks_like_path(model) -> bool:
    text = str(model)
    return isinstance(model, Path) or "/" in text or "\\" in text or text.endswith((".pt", ".onnx"))


def resolve_model(model: str | Path, workspace=None, prefer: str = "onnx") -> ModelRef:
    """A registry name (the first file of PREFERENCE[prefer] its folder has) or a model file's path."""
    if prefer not in PREFERENCE:
        raise ValueError(f"prefer must be one of {list(PREFERENCE)}, but got {prefer!r}")
    if not _looks_like_path(model):
        entry = find_model(str(model), workspace)
        folder = Path(entry["dir"])
        for file_name in PREFERENCE[prefer]:
            if (folder / file_name).is_file():
                trusted, why = is_trusted(folder / file_name, workspace)
                return ModelRef(folder / file_name, entry, Path(entry["card_path"]).parent.name, trusted, why)
        raise FileNotFoundError(f"{folder}: the registered model has no {' or '.join(PREFERENCE[prefer])}"
                                + (" (INT8 is kept only when it loses at most one mAP point: "
                                   "python -m omr_core export NAME --int8)" if prefer == "int8" else ""))
    path = Path(model)
    if not path.is_file():
        if path.is_dir():
            raise FileNotFoundError(f"{model}: a folder, not a model file; give a registered model's name or "
                                    f"the path of a .pt or .onnx file")
        known = [Path(c["dir"]).name for c in list_registry_models(workspace)]
        raise FileNotFoundError(f"{model}: no such model file, and no registered model of that name "
                                f"(registered: {known or 'none'})")
    if path.suffix not in (".pt", ".onnx"):
        raise ValueError(f"{path}: expected a .pt or .onnx model file, but got {path.suffix or 'no suffix'}")
    entry = _entry_of_file(path, workspace)
    trusted, why = is_trusted(path, workspace)
    return ModelRef(path, entry or {}, Path(entry["card_path"]).parent.name if entry else None, trusted, why)


def _entry_of_file(path: Path, workspace) -> dict | None:
    """The registry entry whose model files folder holds `path` (a file of a registered model keeps its card),
    or is `path` itself."""
    path = Path(path)
    folder = path.resolve() if path.is_dir() else path.resolve().parent
    for entry in list_registry_models(workspace):
        if Path(entry["dir"]).resolve() == folder:
            return entry
    return None


# -- trust ----------------------------------------------------------------------------------------------------

_HASHES: dict[tuple, str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (inode, size, mtime) so a page rerun does not hash it again."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _ledger_path(workspace) -> Path | None:
    root = _workspace_models(workspace)
    return root / LEDGER if root is not None else None


def read_ledger(workspace) -> dict[str, dict]:
    """sha256 -> {file, reason, date} of the pickles this workspace made itself ({} when none or unreadable)."""
    path = _ledger_path(workspace)
    if path is None or not path.is_file():
        return {}
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an unreadable ledger vouches for nothing
    return ledger if isinstance(ledger, dict) else {}


def bundled_hashes() -> dict[str, str]:
    """sha256 -> "bundled <name>/<file>" for every file a bundled card records."""
    found = {}
    for card_path in sorted(BUNDLED_MODELS.glob("*/card.json")):
        try:
            files = read_card(card_path).get("files", {})
        except CardError:
            continue
        for file_name, entry in (files.items() if isinstance(files, dict) else []):
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                found[entry["sha256"]] = f"bundled {card_path.parent.name}/{file_name}"
    return found


def is_trusted(path: Path, workspace=None) -> tuple[bool, str]:
    """Whether a model file may be loaded without asking, and why (or why not)."""
    path = Path(path)
    if path.suffix != ".pt":
        return True, "an ONNX file holds no code"
    digest = file_sha256(path)
    bundled = bundled_hashes().get(digest)
    if bundled:
        return True, f"the same bytes as {bundled} (sha256 on its card)"
    made = read_ledger(workspace).get(digest)
    if made:
        return True, f"{made.get('reason', 'made in this workspace')} ({made.get('date', '')})"
    return False, ("not trained in this workspace and not a bundled model's file (its sha256 is in neither "
                   "models/trust.json nor a bundled card)")


def require_trusted(ref: ModelRef | Path, workspace=None, consent: bool = False) -> None:
    """Raise UntrustedModelError, naming the file and what to do, unless the file may be loaded."""
    if consent:
        return
    if isinstance(ref, ModelRef):
        path, trusted, why = ref.path, ref.trusted, ref.why
    else:
        path = Path(ref)
        trusted, why = is_trusted(path, workspace)
    if not trusted:
        raise UntrustedModelError(f"{path}: a .pt file is a Python pickle and runs code when loaded; it is {why}. "
                                  f"To load it anyway, {CONSENT_HINT}")


def register_trained(workspace, weights: Path, reason: str) -> str:
    """Record that this workspace made `weights` (its sha256 goes in the ledger); returns the sha256."""
    digest = file_sha256(weights)
    path = _ledger_path(workspace)
    with locked(path.with_suffix(".lock")):
        ledger = read_ledger(workspace)
        ledger[digest] = {"file": str(Path(weights).resolve()), "reason": reason, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        write_atomic(path, json.dumps(ledger, indent=1))
    return digest


def file_hashes(folder: Path, names=MODEL_FILES) -> dict[str, dict]:
    """{file: {sha256, bytes}} of the model files a folder holds, for a card's `files`."""
    folder = Path(folder)
    return {n: {"sha256": file_sha256(folder / n), "bytes": (folder / n).stat().st_size}
            for n in names if (folder / n).is_file()}


# -- writing ----------------------------------------------------------------------------------------------------

def register_model(workspace, name: str, weights: Path, card: dict, reason: str) -> dict:
    """A model this workspace trained: weights copied (atomically) to models/<name>/best.pt, vouched for in
    the ledger, and its card written."""
    target = Path(workspace.models) / check_model_name(name)
    copy_atomic(weights, target / "best.pt")
    card = {**card, "weights": str(target / "best.pt"), "files": file_hashes(target, ("best.pt",))}
    register_trained(workspace, target / "best.pt", reason)
    write_card(target, card)
    return card


def update_card(workspace, name: str, changes: dict) -> dict:
    """Change fields of a registered model's card (atomically). A bundled model's card is never written:
    the edit goes to a workspace copy (`model_files: bundled`), which the registry then lists instead."""
    entry = find_model(name, workspace)
    card = {k: v for k, v in entry.items() if k not in ("dir", "card_path", "origin")}
    card.update(changes)
    if entry["origin"] == "bundled":
        if workspace is None:
            raise ValueError(f"{name}: a bundled model's card is edited in a workspace copy; give the workspace")
        folder = Path(workspace.models) / check_model_name(name)
        card["model_files"] = BUNDLED_COPY
    else:
        folder = Path(entry["card_path"]).parent
    write_card(folder, card)
    return card


def entry_of_file(workspace, model_path: Path) -> dict:
    """The registry entry of a registered model's file or folder (an evaluation names the file it ran)."""
    entry = _entry_of_file(Path(model_path), workspace)
    if entry is None:
        raise FileNotFoundError(f"{model_path}: not the file of a registered model, so it has no card to change")
    return entry
