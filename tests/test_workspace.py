import json

import pytest

from omr_core.workflows.default_workspace import make_default
from omr_core.workspace import DEFAULT_DATASET, Workspace, check_name, default_dataset_name


def test_open_makes_the_layout_and_copies_class_sets(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    for folder in ("sources", "datasets", "runs", "models", "real_scans", "jobs"):
        assert (ws.root / folder).is_dir()
    assert "3.1" in ws.class_sets_yaml.read_text() and ws.is_empty()


def test_workspace_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(tmp_path / "env-ws"))
    assert Workspace.open().root == (tmp_path / "env-ws").resolve()


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 65, "a b"])
def test_names_never_become_paths_outside(name):
    with pytest.raises(ValueError, match="name must be"):
        check_name(name)


def test_default_workspace_is_a_real_converted_set(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    seen = []
    dataset = make_default(ws, n_pages=4, progress=lambda done, total, message: seen.append((done, total, message)),
                           has_gpu=False)
    assert seen[0][1] == 4  # the generator reports against the pages asked for, before the conversion does
    assert any("(" in m and "pages)" in m for _, _, m in seen)  # "piece (font, n pages)" from the generator
    # the every-class set, and the training plan's first stage's own (so stage 3.1 can start at once)
    assert dataset.name == DEFAULT_DATASET and ws.list_datasets() == ["corpus-3.1", DEFAULT_DATASET]
    assert not ws.is_empty()
    first = json.loads((ws.dataset("corpus-3.1") / "conversion.json").read_text())["config"]
    assert (first["class_set"], first["tile_px"], first["overlap_px"]) == ("3.1", 640, 96)  # CPU: 640-px tiles
    assert (dataset / "reports" / "report.html").is_file() and (dataset / "index.parquet").is_file()


@pytest.mark.parametrize("source, class_set, name", [
    ("/w/sources/corpus-default", "3.1", "corpus-default-3.1"),
    ("/w/sources/corpus-default/", "all", "corpus-default-all"),
    ("deepscores", "3.4", "deepscores-3.4"),
])
def test_the_convert_form_names_a_dataset_after_its_source_and_class_set(source, class_set, name):
    assert default_dataset_name(source, class_set) == name
