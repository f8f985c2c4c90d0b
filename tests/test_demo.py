"""`python -m lab_utils demo` while the pipeline already runs: one line, exit 1, nothing executed.

A real pipeline (`python -m lab_utils stream`, in a process of its own) holds the checkpoints that
notebook 03 would start on; the demo must say so in one line naming the fix, not fail 03 with a
page of CellExecutionError. The demo's full run is in tests/test_notebooks.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from lab_utils import demo, pipeline
from lab_utils.pipeline.checkpoint import CheckpointLock
from .helpers import kill_group, lab, wait_until


def test_demo_refuses_in_one_line_while_another_process_runs_the_pipeline(cfg, tmp_path):
    lock = CheckpointLock(cfg.s3a_path("checkpoint", pipeline.OUTPUT_QUERY), pipeline.OUTPUT_QUERY, cfg)
    assert lock.running_holder() is None, "a pipeline already runs on this stack: stop it before this test"
    assert demo.pipeline_in_use(cfg) is None
    log = open(tmp_path / "stream.log", "w")
    stream = lab("stream", "--trigger", "2", stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: lock.running_holder() is not None or stream.poll() is not None, timeout=300,
                   what="`python -m lab_utils stream` to hold the output checkpoint")
        assert stream.poll() is None, (tmp_path / "stream.log").read_text()[-2000:]
        refusal = demo.pipeline_in_use(cfg)
        assert refusal is not None and f"process {stream.pid}" in str(refusal)

        out = tmp_path / "demo"
        proc = subprocess.run([sys.executable, "-m", "lab_utils", "demo", "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stderr.count("\n") == 1, f"one line, not a traceback:\n{proc.stderr}"
        line = proc.stderr
        assert line.startswith("error: ") and "already running" in line, line
        assert f"process {stream.pid}" in line and "pipeline.stop()" in line and "Ctrl-C" in line, line
        assert "Traceback" not in line and "CellExecutionError" not in line
        assert not out.exists() or not list(out.glob("*.ipynb")), "the demo must refuse before running anything"
    finally:
        if stream.poll() is None:
            stream.send_signal(signal.SIGINT)  # the stream stops its queries and releases its locks
            try:
                stream.wait(timeout=120)
            except subprocess.TimeoutExpired:
                kill_group(stream)
        log.close()
    wait_until(lambda: lock.running_holder() is None, timeout=60, what="the stream's lock to be released")
    assert demo.pipeline_in_use(cfg) is None
