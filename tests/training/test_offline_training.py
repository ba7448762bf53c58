"""A real one-epoch Ultralytics training on a few tiny images with the network unreachable: any connection
or DNS lookup fails the test (issue: no network attempt at all)."""

import subprocess
import sys
import textwrap

import pytest


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory, drawn_source):
    from omr_core.datasets.convert import ConvertConfig, convert_deepscores

    out = tmp_path_factory.mktemp("tiny") / "set"
    convert_deepscores(ConvertConfig(source=str(drawn_source), output=str(out), class_set="3.1", tile_px=640,
                                     overlap_px=160, sample_size=0))
    return out


def test_one_epoch_without_any_network_attempt(tiny_set, tmp_path):
    script = textwrap.dedent(f"""
        import socket
        attempts = []
        def refuse(*args, **kwargs):
            attempts.append(args[:2])
            raise OSError("network is off in this test")
        socket.socket.connect = refuse
        socket.getaddrinfo = refuse
        socket.create_connection = refuse
        from omr_core.offline import import_ultralytics, offline_environment
        offline_environment({str(tmp_path / 'cfg')!r})
        import_ultralytics()
        from ultralytics import YOLO
        YOLO("yolov8n.yaml").train(data={str(tiny_set / 'data.yaml')!r}, epochs=1, imgsz=160, batch=4, workers=0,
                                   device="cpu", project={str(tmp_path / 'runs')!r}, name="r", plots=False,
                                   amp=False, verbose=False)
        print("ATTEMPTS", attempts)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ATTEMPTS []" in done.stdout, done.stdout[-2000:]
    assert (tmp_path / "runs" / "r" / "weights" / "last.pt").is_file()
