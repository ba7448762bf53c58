"""Atomic saves: a writer killed with SIGKILL at random moments leaves the old or the new file, whole."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from omr_core.annotation.store import read_labels, read_status, save_labels
from omr_core.fileio import clean_partials

WRITER = """
import sys
from omr_core.annotation.store import save_labels
root = sys.argv[1]
version = 0
while True:
    version += 1
    # every version is a whole, recognisable file: 100k identical lines naming the version (~3 MB), so
    # that writing, not making, the text is what the loop spends its time on
    save_labels(root, "scan", f"{version % 7} 0.5 0.5 0.01 0.01 v{version}\\n" * 100_000, "in progress")
    print(version, flush=True)
"""


def whole(text: str) -> bool:
    lines = text.splitlines()
    return len(lines) == 100_000 and len({line.split()[-1] for line in lines}) == 1


@pytest.mark.parametrize("seed", range(3))
def test_a_save_killed_at_any_moment_leaves_a_whole_file(tmp_path, seed):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "set")], stdout=subprocess.PIPE,
                                   text=True)
        process.stdout.readline()  # at least one save finished
        time.sleep(float(rng.uniform(0.0, 0.02)))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        text = read_labels(tmp_path / "set", "scan")
        assert whole(text), "a killed save left a broken label file"
        status = read_status(tmp_path / "set", "scan")
        assert status["boxes"] == 100_000 and status["version"] >= 1
    clean_partials(tmp_path / "set" / "labels")
    assert not list((tmp_path / "set" / "labels").glob(".*"))


def test_status_counts_boxes_and_versions(tmp_path):
    first = save_labels(tmp_path, "a", "0 0.5 0.5 0.1 0.1\n\n1 0.2 0.2 0.1 0.1\n")
    second = save_labels(tmp_path, "a", "0 0.5 0.5 0.1 0.1\n", "done")
    assert (first["boxes"], first["version"]) == (2, 1) and (second["boxes"], second["version"]) == (1, 2)
    assert read_status(tmp_path, "a")["status"] == "done" and read_status(tmp_path, "b")["status"] == "todo"
    with pytest.raises(ValueError, match="status must be one of"):
        save_labels(tmp_path, "a", "", "finished")


def test_extra_fields_are_kept_and_status_changes_keep_labels(tmp_path):
    from omr_core.annotation.store import set_status

    save_labels(tmp_path, "a", "0 0.5 0.5 0.1 0.1\n", edited=[[0, 0, 10, 10]])
    record = set_status(tmp_path, "a", "done")
    assert record["edited"] == [[0, 0, 10, 10]] and record["status"] == "done" and record["boxes"] == 1
    assert read_labels(tmp_path, "a") == "0 0.5 0.5 0.1 0.1\n"


# -- two writers ------------------------------------------------------------------------------------------------

EDITOR = """
import sys
from omr_core.annotation.store import read_labels, read_status, save_labels
root, who, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for k in range(n):
    # as a page does: read the scan, add one box of its own, save stating the version it started from
    version, text = read_status(root, "scan")["version"], read_labels(root, "scan")
    mine = text + f"{who} {0.001 + k / 1000:.6f} 0.5 0.001 0.001\\n"
    save_labels(root, "scan", mine, "in progress", base_version=version, base_text=text)
print("done", flush=True)
"""


def test_two_processes_editing_one_scan_lose_no_box(tmp_path):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    n = 100
    editors = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "set"), str(who), str(n)],
                                stdout=subprocess.PIPE, text=True) for who in (1, 2)]
    for editor in editors:
        assert editor.communicate(timeout=120)[0].strip() == "done"
    lines = read_labels(tmp_path / "set", "scan").splitlines()
    assert sorted(lines) == sorted(f"{who} {0.001 + k / 1000:.6f} 0.5 0.001 0.001" for who in (1, 2) for k in range(n))
    status = read_status(tmp_path / "set", "scan")
    assert status["boxes"] == 2 * n and status["version"] == 2 * n  # every save counted, none lost


def test_a_stale_save_is_merged_when_the_edits_touch_different_boxes(tmp_path):
    base = "0 0.100000 0.100000 0.050000 0.050000\n1 0.500000 0.500000 0.050000 0.050000\n"
    first = save_labels(tmp_path, "s", base)
    save_labels(tmp_path, "s", base.replace("1 0.500000", "1 0.520000") + "2 0.9 0.9 0.05 0.05\n",
                base_version=first["version"], base_text=base)  # the other tab: moves box 1, adds box 2
    # this tab, opened before the other saved: moves box 0, adds box 3
    mine = base.replace("0 0.100000 0.100000", "0 0.110000 0.100000") + "3 0.3 0.3 0.05 0.05\n"
    record = save_labels(tmp_path, "s", mine, base_version=first["version"], base_text=base)
    assert sorted(read_labels(tmp_path, "s").splitlines()) == sorted([
        "0 0.110000 0.100000 0.050000 0.050000", "1 0.520000 0.500000 0.050000 0.050000",
        "2 0.9 0.9 0.05 0.05", "3 0.3 0.3 0.05 0.05"])
    assert record["version"] == 3 and record["boxes"] == 4


def test_a_stale_save_that_changed_the_same_box_is_refused_and_kept(tmp_path):
    from omr_core.annotation.store import LabelConflict

    base = "1 0.500000 0.500000 0.050000 0.050000\n"
    first = save_labels(tmp_path, "s", base)
    save_labels(tmp_path, "s", "", base_version=1, base_text=base)  # the other tab deleted the box
    mine = "1 0.530000 0.500000 0.050000 0.050000\n"  # this one moved it
    with pytest.raises(LabelConflict, match="Nothing of yours is lost") as refused:
        save_labels(tmp_path, "s", mine, base_version=first["version"], base_text=base)
    assert refused.value.kept.read_text() == mine and refused.value.version == 2
    assert read_labels(tmp_path, "s") == "" and read_status(tmp_path, "s")["version"] == 2  # nothing written
    record = save_labels(tmp_path, "s", mine, base_version=refused.value.version, base_text="")  # saved over it
    assert read_labels(tmp_path, "s") == mine and record["version"] == 3
