"""The streaming pipeline on the real stack: Kafka -> two Spark queries -> output/ and rejected/
on MinIO, compared record by record with what the generator says."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from lab_utils import pipeline, producer
from lab_utils.clients import storage
from lab_utils.generator import TransactionGenerator

pytestmark = pytest.mark.integration


def read_results(cfg, root):
    out = storage.read_committed(f"{root}/output", cfg=cfg)
    rej = storage.read_committed(f"{root}/rejected", cfg=cfg)
    return out, rej


def assert_exactly_once(out, rej, records):
    """Every produced record is in exactly one folder, with the verdict the generator gave it."""
    expected = {int(r.key): r.expected for r in records}
    assert len(out) + len(rej) == len(records), (len(out), len(rej), len(records))
    where = Counter(zip(out.kafka_partition, out.kafka_offset)) + Counter(zip(rej.kafka_partition, rej.kafka_offset))
    assert max(where.values()) == 1, "a Kafka message was written twice"
    accepted = {i for i, e in expected.items() if e == "accept"}
    assert set(out.transaction_id) == accepted and len(out) == len(accepted)
    got = dict(zip(rej.kafka_key.astype(int), rej.reason))
    assert got == {i: e for i, e in expected.items() if e != "accept"}


def test_available_now_matches_the_generator_exactly(cfg, spark, topic, run_prefix):
    records = TransactionGenerator(seed=21, bad_ratio=0.3).take(4000)
    sent = producer.produce(records=records, count=len(records), topic=topic, progress=False)
    assert sent.failed == 0
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, progress="lines", cfg=cfg)
    try:
        assert run.wait(timeout_s=600), "availableNow did not finish in 10 minutes"
    finally:
        run.stop()
    out, rej = read_results(cfg, run_prefix)
    assert_exactly_once(out, rej, records)
    # The live progress counted the same rows, from Spark's own observed metrics.
    assert run.progress.totals.written == len(out)
    assert run.progress.totals.rejected == Counter(rej.reason)
    # Output columns and types are the contract's (docs/contract.md).
    assert str(out.event_time.dtype).startswith("datetime64") and str(out.event_date.dtype) in ("object", "date32[day][pyarrow]")
    assert set(out.timezone) == {cfg.LAB_TIMEZONE}
    assert (out.montant_eur - (out.montant * out.taux_eur).round(2)).abs().max() <= 0.011


def test_stop_mid_stream_and_resume_loses_and_duplicates_nothing(cfg, spark, topic, run_prefix):
    gen = TransactionGenerator(seed=22, bad_ratio=0.1)
    first = gen.take(3000)
    producer.produce(records=first, count=len(first), topic=topic, progress=False)
    run = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=0.5, cfg=cfg)
    more = gen.take(6000)
    feeding = threading.Thread(target=producer.produce, kwargs=dict(
        records=more, count=len(more), rate=3000, topic=topic, progress=False))
    try:
        run.process_all_available()  # the first 3,000 are in; the feeder is still sending
        feeding.start()
        run.output.awaitTermination(1.0)  # let a batch or two of the feeder's data in, then stop mid-stream
    finally:
        run.stop()
    feeding.join(timeout=60)
    assert not feeding.is_alive()
    out, rej = read_results(cfg, run_prefix)
    assert len(out) + len(rej) < len(first) + len(more), "the stop should have come before the end"
    resumed = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert resumed.wait(timeout_s=600)
    finally:
        resumed.stop()
    out, rej = read_results(cfg, run_prefix)
    assert_exactly_once(out, rej, first + more)


def cli(*args, env_extra=None, timeout=600):
    import os
    import subprocess
    import sys

    from lab_utils.config import ROOT

    return subprocess.run([sys.executable, "-m", "lab_utils", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env_extra or {})})


def test_cli_stream_available_now_after_cli_produce(cfg, topic, run_prefix):
    env = {"KAFKA_TOPIC": topic}
    made = cli("produce", "--count", "3000", "--bad-ratio", "0.1", "--seed", "4", env_extra=env)
    assert made.returncode == 0, made.stderr
    streamed = cli("stream", "--available-now", "--prefix", run_prefix, env_extra=env)
    assert streamed.returncode == 0, streamed.stderr[-2000:]
    assert "[output] batch 0" in streamed.stdout.replace(f"output-{run_prefix.replace('/', '-')}", "output")
    records = TransactionGenerator(seed=4, bad_ratio=0.1).take(3000)  # what `produce --seed 4` sent
    out, rej = read_results(cfg, run_prefix)
    assert_exactly_once(out, rej, records)
    assert f"written {len(out):,} rows" in streamed.stdout


def test_cli_stream_without_kafka_is_one_line():
    out = cli("stream", "--available-now", env_extra={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, timeout=60)
    assert out.returncode == 1 and out.stderr.strip().count("\n") == 0 and "stack up" in out.stderr, out.stderr


def test_wait_without_timeout_waits_for_both_queries(cfg, spark, topic, run_prefix):
    producer.produce(records=TransactionGenerator(seed=23, bad_ratio=0.5).take(500), count=500, topic=topic,
                     progress=False)
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert run.wait() is True
        assert not run.output.isActive and not run.rejected.isActive
    finally:
        run.stop()
    out, rej = read_results(cfg, run_prefix)
    assert len(out) + len(rej) == 500


def test_wait_until_caught_up_reaches_the_end_of_the_topic(cfg, spark, topic, run_prefix):
    """The notebooks' bounded wait: returns once both queries committed the topic's end offsets."""
    with pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=0.5, cfg=cfg) as run:
        producer.produce_in_background(count=3000, rate=1500, topic=topic, bad_ratio=0.1).wait(timeout_s=60)
        reached = run.wait_until_caught_up(timeout_s=300, topic=topic, cfg=cfg)
        assert sum(reached.values()) == 3000
        assert pipeline.committed_offsets(run.output) == reached == pipeline.committed_offsets(run.rejected)
    out, rej = read_results(cfg, run_prefix)
    assert len(out) + len(rej) == 3000


def test_wait_until_caught_up_is_bounded(cfg, spark, topic, run_prefix):
    from lab_utils.errors import LabError

    producer.produce(count=50_000, topic=topic, progress=False)
    with pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=0.5, cfg=cfg) as run:
        with pytest.raises(LabError, match="still behind the topic"):
            run.wait_until_caught_up(timeout_s=0.5, topic=topic, cfg=cfg)


def test_micro_batches_reuse_the_generated_code(cfg, spark, topic, run_prefix):
    """Spark compiles the query's Java code once, not once per micro-batch (a batch-time constant
    in the code, e.g. current_timestamp(), would make every batch compile it again: issue 8)."""
    compilations = spark._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    gen = TransactionGenerator(seed=23, bad_ratio=0.2)
    run = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=0.2, cfg=cfg)
    try:
        # Two rounds to warm up (the first batches compile the code), then five measured ones.
        for _ in range(2):
            producer.produce(records=gen.take(200), count=200, topic=topic, progress=False)
            run.wait_until_caught_up(timeout_s=120, topic=topic, cfg=cfg)
        before, batches_before = compilations.getCount(), len(run.output.recentProgress)
        for _ in range(5):
            producer.produce(records=gen.take(200), count=200, topic=topic, progress=False)
            run.wait_until_caught_up(timeout_s=120, topic=topic, cfg=cfg)
        compiled, batches = compilations.getCount() - before, len(run.output.recentProgress) - batches_before
    finally:
        run.stop()
    assert batches >= 5, f"only {batches} output batches ran"
    assert compiled <= 1, f"{compiled} code compilations in {batches} micro-batches: the code changes per batch"
