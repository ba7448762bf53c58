"""The Dataset page through app.py (entry script, sidebar, navigation), with Streamlit's AppTest."""


import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP
from tests.ui.apptest import assert_nothing_raw, forms, open_tab

from omr_core.jobs import list_jobs
from omr_core.workspace import DEFAULT_DATASET, Workspace


@pytest.fixture
def app(ready_workspace, monkeypatch):
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(ready_workspace.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def tab(at, label):
    return open_tab(at, "dataset-tab", label)


def test_overview_charts_gallery(app):
    assert app.title[0].value == "Dataset"
    assert [t.label for t in app.tabs] == ["Overview", "Validation", "Class distribution", "Gallery", "Convert",
                                           "Generate", "Class sets"]
    assert app.selectbox(key="dataset-name").value == DEFAULT_DATASET
    assert {m.label for m in tab(app, "Overview").metric} >= {"Images", "Boxes", "Pages", "Classes"}
    assert any(c.value.startswith("Images per split: train ") for c in app.caption)  # words, not a JSON tree
    assert_nothing_raw(app)
    assert len(tab(app, "Class distribution").get("plotly_chart")) == 3
    gallery = tab(app, "Gallery")
    assert len(gallery.get("image")) > 1  # page images and zoomed crops
    assert "hold" in gallery.caption[0].value


def test_scope_switch_shows_all_deepscores_classes(app):
    tab(app, "Class distribution")
    app.radio(key="dataset-scope").set_value("All DeepScores classes (source)").run()
    app.toggle(key="dataset-hide-absent").set_value(False).run()
    assert not app.exception
    import json
    figure = json.loads(tab(app, "Class distribution").get("plotly_chart")[0].proto.spec)
    assert len(figure["data"][0]["x"]) == 136  # every class of the deepscores set, absent ones included


def test_gallery_class_choice(app):
    tab(app, "Gallery")
    app.selectbox(key="dataset-gallery-class").set_value("augmentationDot").run()
    assert "augmentationDot" in tab(app, "Gallery").caption[0].value


def test_validation_tab_reports_no_problems(app):
    assert any("No problems" in s.value for s in tab(app, "Validation").success)


def test_class_sets_editor_refuses_bad_names_and_saves_good_ones(app, ready_workspace):
    tab(app, "Class sets")
    assert_nothing_raw(app)
    before = ready_workspace.class_sets_yaml.read_text()
    app.text_area(key="dataset-class-sets-text").set_value("sets:\n  x:\n    classes: [nope]\n").run()
    assert "nope" in tab(app, "Class sets").error[0].value
    assert ready_workspace.class_sets_yaml.read_text() == before
    good = before + '  "mine":\n    description: mine\n    classes: [stem]\n'
    app.text_area(key="dataset-class-sets-text").set_value(good).run()
    app.button(key="dataset-class-sets-save").click().run()
    assert ready_workspace.class_sets_yaml.read_text() == good
    ready_workspace.class_sets_yaml.write_text(before)


def test_convert_form_starts_a_background_job(app, ready_workspace):
    tab(app, "Convert")
    app.text_input(key="dataset-output").set_value("from-page")
    app.selectbox(key="dataset-class-set").set_value("3.1")
    app.button(key="FormSubmitter:dataset-convert-form-Convert").click().run()
    assert not app.exception, app.exception
    assert app.session_state["dataset-tab"] == "Convert"  # the page stays on the tab the user was on
    job = list_jobs(ready_workspace.jobs, "convert")[0]
    job.wait(120)
    assert job.state() == "done", job.log_tail()
    assert "from-page" in ready_workspace.list_datasets()


def test_an_unnamed_conversion_is_named_after_its_source_and_class_set(app, ready_workspace):
    tab(app, "Convert")
    assert app.text_input(key="dataset-output").value == ""  # no name that contradicts the class set chosen
    app.selectbox(key="dataset-class-set").set_value("3.2")
    app.selectbox(key="dataset-tile").set_value(640)
    app.button(key="FormSubmitter:dataset-convert-form-Convert").click().run()
    job = list_jobs(ready_workspace.jobs, "convert")[0]
    assert job.info["title"] == "convert corpus-default-3.2"
    assert job.wait(120) == "done", job.log_tail()


def test_forms_submit_only_on_their_button(app):
    tab(app, "Convert")
    assert forms(app) == {"dataset-convert-form": False}
    tab(app, "Generate")
    assert forms(app) == {"dataset-generate-form": False}


def test_one_job_banner_and_the_others_in_a_history(app, ready_workspace):
    from omr_core.jobs import write_json_atomic

    for k, (title, code) in enumerate((("convert old-a", "0"), ("convert old-b", "1"))):  # two finished before
        folder = ready_workspace.jobs / f"20260101-00000{k}-convert-old00{k}"
        folder.mkdir()
        write_json_atomic(folder / "job.json", {"kind": "convert", "title": title, "pid": 0, "started": 1.7e9,
                                                "command": ["python", "-m", "omr_core", "convert"]})
        (folder / "returncode").write_text(code)
    tab(app, "Generate")
    app.text_input(key="dataset-gen-name").set_value("banner-test")
    app.number_input(key="dataset-gen-pages").set_value(1)
    app.multiselect(key="dataset-gen-collections").set_value(["bach"])
    app.button(key="FormSubmitter:dataset-generate-form-Generate").click().run()
    job = list_jobs(ready_workspace.jobs, "generate")[0]
    assert job.wait(120) == "done", job.log_tail()
    app.run()
    banners = [s.value for s in app.success if "finished" in s.value] + [p for p in app.get("progress")]
    assert len(banners) == 1 and "generate banner-test finished" in banners[0]
    history = next(e for e in app.expander if e.label.startswith("Finished jobs"))
    table = history.dataframe[0].value
    assert {"convert old-a", "convert old-b"} <= set(table["job"]) and "generate banner-test" not in set(table["job"])
    assert set(table.columns) == {"job", "state", "started", "took", "result"}
    assert app.session_state["dataset-tab"] == "Generate"


def test_first_start_makes_the_default_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(tmp_path / "fresh"))
    monkeypatch.setenv("SCOREEYE_FIRST_START_PAGES", "6")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert "First start" in at.info[0].value
    ws = Workspace.open(tmp_path / "fresh")
    (job,) = list_jobs(ws.jobs, "init")
    job.wait(180)
    assert job.state() == "done", job.log_tail()
    at.run()
    assert at.selectbox(key="dataset-name").value == DEFAULT_DATASET
    assert ws.list_datasets() == ["corpus-3.1", DEFAULT_DATASET]  # and the plan's first stage's


def test_a_failed_first_start_shows_its_log_and_can_be_retried(tmp_path, monkeypatch):
    from omr_core.jobs import write_json_atomic

    ws = Workspace.open(tmp_path / "broken")
    failed = ws.jobs / "20260101-000000-init-dead00"
    failed.mkdir()
    write_json_atomic(failed / "job.json", {"kind": "init", "title": "default workspace", "pid": 0,
                                            "command": ["python", "-m", "omr_core", "init", "--workspace", str(ws.root)]})
    (failed / "returncode").write_text("1")
    (failed / "log.txt").write_text("error: disk full")
    monkeypatch.setenv("SCOREEYE_WORKSPACE", str(ws.root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert "failed" in at.error[0].value and "disk full" in at.code[0].value
    at.button(key="dataset-init-retry").click().run()
    jobs = list_jobs(ws.jobs, "init")
    assert len(jobs) == 2
    jobs[0].stop()  # the retried job is real: leave no process behind
    jobs[0].wait(20)
    assert jobs[0].state() != "running"


def test_scan_preview_shows_the_page_clean_and_scanned(app):
    tab(app, "Generate")
    assert len(tab(app, "Generate").get("image")) == 2
    app.selectbox(key="dataset-scan-preset").set_value("scan").run()
    assert not app.exception and len(tab(app, "Generate").get("image")) == 2


def test_generate_form_starts_a_background_job(app, ready_workspace):
    tab(app, "Generate")
    app.text_input(key="dataset-gen-name").set_value("from-form")
    app.number_input(key="dataset-gen-pages").set_value(2)
    app.multiselect(key="dataset-gen-collections").set_value(["bach"])
    app.button(key="FormSubmitter:dataset-generate-form-Generate").click().run()
    assert not app.exception, app.exception
    assert app.session_state["dataset-tab"] == "Generate"
    job = list_jobs(ready_workspace.jobs, "generate")[0]
    job.wait(120)
    assert job.state() == "done", job.log_tail()
    assert "from-form" in ready_workspace.list_sources()
