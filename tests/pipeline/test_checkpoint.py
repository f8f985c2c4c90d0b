"""lab_utils.checkpoint: what `pipeline.start()` refuses so that exactly-once holds (issue 7).

A checkpoint out of step with its output folder, a second query on a running checkpoint (in
the same SparkSession, the notebook cell run twice, or in another process), and one-sided
deletions are refused with a LabError that names the fix.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lab_utils import config, pipeline, producer
from lab_utils.clients import storage
from lab_utils.pipeline import checkpoint
from lab_utils.config import ROOT
from lab_utils.errors import CheckpointInUse, CheckpointMismatch
from lab_utils.generator import TransactionGenerator

from ..helpers import lab, wait_until


@pytest.mark.parametrize("prefixes", [
    ("output",), ("rejected",), ("checkpoint",), ("checkpoint/output",), ("output/event_date=2026-11-27",),
    ("output", "rejected"), ("checkpoint", "output"), ("runs/a/output", "runs/a/checkpoint/rejected"),
    ("lake",), ("checkpoint/lake",), ("lake/silver/transactions",), ("checkpoint", "output", "rejected"),
])
def test_clear_refuses_to_delete_one_side(prefixes):
    with pytest.raises(CheckpointMismatch, match=r"go together.*stack reset"):
        storage.clear(prefixes=prefixes)


@pytest.mark.parametrize("prefixes", [
    ("checkpoint", "output", "rejected", "lake"), ("output", "checkpoint/output"), ("runs/a",), ("",), ("elsewhere",),
    ("runs/a/rejected", "runs/a/checkpoint/rejected"), ("lake", "checkpoint/lake"),
])
def test_clear_allows_both_sides_together(prefixes):
    assert storage.one_sided(prefixes) is None


@pytest.mark.integration
def test_start_refuses_an_output_and_a_checkpoint_out_of_step(cfg, spark, topic, run_prefix):
    producer.produce(records=TransactionGenerator(seed=51, bad_ratio=0.2).take(600), count=600, topic=topic,
                     progress=False)
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert run.wait(timeout_s=300)
    finally:
        run.stop()
    fs = storage.filesystem(cfg)
    # By hand, what storage.clear() refuses: rejected/ deleted, its checkpoint kept.
    fs.rm(cfg.s3_path(run_prefix, "rejected"), recursive=True)
    with pytest.raises(CheckpointMismatch, match=r"has finished batches.*no committed data.*stack reset"):
        pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    # Now checkpoint/output deleted, output/ kept: a fresh checkpoint would skip batches 0..N.
    fs.rm(cfg.s3_path(run_prefix, "checkpoint", "rejected"), recursive=True)
    fs.rm(cfg.s3_path(run_prefix, "checkpoint", "output"), recursive=True)
    with pytest.raises(CheckpointMismatch, match=r"holds committed batches.*checkpoint.*missing.*stack reset"):
        pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    names = {f"{n}-{run_prefix.replace('/', '-')}" for n in ("output", "rejected")}
    assert not names & {q.name for q in spark.streams.active}, "a refused start must start nothing"
    assert not fs.exists(cfg.s3_path(run_prefix, "checkpoint", "output", checkpoint.LOCK_FILE)), "lock left behind"


@pytest.mark.integration
def test_the_cell_run_twice_is_refused_in_the_same_session(cfg, spark, topic, run_prefix):
    first = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
    try:
        with pytest.raises(CheckpointInUse, match=r"already running in this session.*`pipeline\.stop\(\)`"):
            pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
        before = config.use_language("fr")  # a French notebook's kernel
        try:
            with pytest.raises(CheckpointInUse, match=r"déjà en cours d'exécution dans cette session.*`pipeline\.stop\(\)`"):
                pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
        finally:
            config.use_language(before)
        assert first.output.isActive and first.rejected.isActive, "the refused start must leave the first one alone"
        assert pipeline.stop() == 1  # the fix the message names: stops every pipeline of this session
        assert not first.output.isActive and not first.rejected.isActive
        again = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
        again.stop()
    finally:
        first.stop()


@pytest.mark.integration
@pytest.mark.slow
def test_a_second_process_on_a_running_checkpoint_is_refused(cfg, spark, topic, run_prefix):
    lock_path = cfg.s3_path(run_prefix, "checkpoint", "output", checkpoint.LOCK_FILE)
    fs = storage.filesystem(cfg)
    driver = lab("stream", "--prefix", run_prefix, "--trigger", "1", env={"KAFKA_TOPIC": topic},
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        holder = wait_until(lambda: fs.exists(lock_path) and json.loads(fs.cat_file(lock_path)), timeout=120,
                            what="the stream process to lock its checkpoint")
        assert holder["host"] == socket.gethostname() and holder["pid"] == driver.pid
        # From this process (a notebook, say) ...
        with pytest.raises(CheckpointInUse, match=rf"process {driver.pid} on this machine.*Stop that one first"):
            pipeline.start(spark, topic=topic, root=run_prefix, cfg=cfg)
        # ... and from another terminal: one line on stderr, exit 1.
        second = subprocess.run([sys.executable, "-m", "lab_utils", "stream", "--prefix", run_prefix], cwd=ROOT,
                                env={**os.environ, "KAFKA_TOPIC": topic}, capture_output=True, text=True, timeout=300)
        assert second.returncode == 1, second.stderr[-2000:]
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith("error: another query uses checkpoint") and "Stop that one first" in last, last
        assert driver.poll() is None, "the first driver must keep running"
    finally:
        driver.send_signal(signal.SIGINT)  # Ctrl-C: stops its queries, releases its locks
        out, err = driver.communicate(timeout=120)
    assert driver.returncode == 0, err[-2000:]
    assert not fs.exists(lock_path), "a clean stop releases the lock"


@pytest.mark.integration
def test_stale_locks_are_taken_over_and_live_ones_are_not(cfg, run_prefix):
    folder = cfg.s3a_path(run_prefix, "checkpoint", "output")
    fs = storage.filesystem(cfg)
    path = cfg.s3_path(run_prefix, "checkpoint", "output", checkpoint.LOCK_FILE)
    gone = subprocess.Popen(["true"])
    gone.wait()  # a PID that no longer runs: a driver killed with SIGKILL leaves such a lock
    cases = [
        ({"host": socket.gethostname(), "pid": gone.pid, "heartbeat": time.time()}, True),
        ({"host": "another-host", "pid": 1, "heartbeat": time.time() - checkpoint.LOCK_TTL_S - 5}, True),
        ({"host": "another-host", "pid": 1, "heartbeat": time.time()}, False),
        ({"host": socket.gethostname(), "pid": os.getppid(), "heartbeat": 0}, False),  # pytest's parent runs
    ]
    for stale, taken in cases:
        fs.pipe_file(path, json.dumps({"owner": "someone", "query": "output", **stale}).encode())
        lock = checkpoint.CheckpointLock(folder, "output", cfg)
        if taken:
            lock.acquire(lambda: True)
            assert lock.took_over["pid"] == stale["pid"]
            assert json.loads(fs.cat_file(path))["owner"] == lock.owner
            lock.release()
            assert not fs.exists(path)
        else:
            with pytest.raises(CheckpointInUse, match=r"another query uses checkpoint.*Stop that one first"):
                lock.acquire(lambda: True)
            assert json.loads(fs.cat_file(path))["owner"] == "someone", "a live lock must stay"
