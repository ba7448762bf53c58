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
