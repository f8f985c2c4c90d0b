"""Exactly-once, proved against the real stack (issue 7): kill the driver mid-batch, restart the
broker while producing, restart MinIO while the query writes, kill the producer, lose data in
the topic. Every check compares what Kafka acknowledged with what `_spark_metadata` commits
(lab_utils.clients.storage.read_committed), by (kafka_partition, kafka_offset) and by transaction_id.

Each test prints its figures (pytest -s shows them). Tests that stop a service start it again
in `finally` (the `stack_restored` fixture), so the suite goes on with a healthy stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from lab_utils import config, pipeline, producer, services
from lab_utils.clients import kafka, lake, storage
from lab_utils.pipeline import checkpoint
from lab_utils.config import ROOT
from lab_utils.errors import DataLoss, QueryFailed, TopicRecreated
from lab_utils.generator import TransactionGenerator

from .helpers import Feeder, assert_lake_exactly_once, kill_group, lab, quick_model, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_restored(cfg):
    """Yields nothing; afterwards (even on failure) starts whatever service a test stopped
    (`services.up()`, idempotent) and checks that Kafka and MinIO answer again."""
    yield
    services.up(say=lambda _: None)
    services.require_services(cfg)


def assert_exactly_once(cfg, root: str, acks, records) -> dict:
    """output/ + rejected/ hold each acknowledged message exactly once, where the generator said.

    acks: (key, partition, offset) that Kafka acknowledged. Returns the figures.
    """
    by_key = {r.key: r for r in records}
    acked = {(p, o): key for key, p, o in acks}
    assert len(acked) == len(acks), "Kafka acknowledged two messages at one offset"
    out = storage.read_committed(f"{root}/output", cfg=cfg)
    rej = storage.read_committed(f"{root}/rejected", cfg=cfg)
    landed = Counter(zip(out.kafka_partition, out.kafka_offset)) + Counter(zip(rej.kafka_partition, rej.kafka_offset))
    lost = set(acked) - set(landed)
    duplicated = sum(n - 1 for n in landed.values())
    unacknowledged = set(landed) - set(acked)
    figures = {"acknowledged": len(acked), "output": len(out), "rejected": len(rej), "lost": len(lost),
               "duplicated": duplicated, "landed_unacknowledged": len(unacknowledged)}
    assert not lost and duplicated == 0, figures
    assert not unacknowledged, figures  # every test here counts only acknowledged messages
    # By transaction_id: each accepted one once, and nothing else in output/.
    accepted_ids = {by_key[acked[po]].transaction_id for po in acked if by_key[acked[po]].expected == "accept"}
    assert out.transaction_id.is_unique and set(out.transaction_id) == accepted_ids, figures
    # Each rejected one with the reason the generator gave it.
    got = {(p, o): reason for p, o, reason in zip(rej.kafka_partition, rej.kafka_offset, rej.reason)}
    assert got == {po: by_key[acked[po]].expected for po in acked if by_key[acked[po]].expected != "accept"}
    return figures


def uncommitted_files(cfg, root: str, sink: str) -> int:
    """Parquet files in the sink folder that no `_spark_metadata` entry names (a killed batch's leftovers)."""
    fs = storage.filesystem(cfg)
    listed = {p for p in fs.find(cfg.s3_path(root, sink)) if p.endswith(".parquet")}
    return len(listed - set(storage.committed_files(f"{root}/{sink}", fs=fs, cfg=cfg)))


# --------------------------------------------------------------------------- 1. the driver

DRIVER_MESSAGES = 100_000
DRIVER_KILLS = 5


# The lake's and the scoring's runs are slow-marked (`pytest -m slow`) to keep a cold CI run within its
# budget: each is a 5-kill run of several minutes; the Parquet run stays in every CI run.
@pytest.mark.parametrize("sink, score", [("parquet", False),
                                         pytest.param("delta", False, marks=pytest.mark.slow),
                                         pytest.param("parquet", True, marks=pytest.mark.slow)],
                         ids=["parquet", "delta", "parquet-scoring"])
def test_kill_the_driver_mid_batch_five_times_loses_and_duplicates_nothing(cfg, topic, run_prefix, tmp_path, sink,
                                                                           score, request):
    """100,000 messages (5 % bad) produced at 2,500/s while `python -m lab_utils stream` runs;
    the driver (Python and its JVM) is SIGKILLed mid-batch 5 times and restarted each time.
    parquet: the two queries into output/ and rejected/; delta: the lake's one query into its
    four Delta tables (`--sink delta`), where a batch in flight may have written some tables
    and not others when it dies. With scoring: card payments (2 % fraud) and `stream --score`,
    each life loading the model."""
    t0 = time.monotonic()
    version = quick_model(request.getfixturevalue("spark"), cfg, run_prefix) if score else None
    records = TransactionGenerator(seed=71, bad_ratio=0.05, fraud_ratio=0.02 if score else 0.0).take(DRIVER_MESSAGES)
    feeder = Feeder(records, topic, rate=2500)
    if sink == "parquet":
        queries = [(cfg.s3a_path(run_prefix, "output"), cfg.s3a_path(run_prefix, "checkpoint", "output")),
                   (cfg.s3a_path(run_prefix, "rejected"), cfg.s3a_path(run_prefix, "checkpoint", "rejected"))]
    else:  # the lake's one checkpoint; its tables have no _spark_metadata (Delta's log says what is written)
        queries = [(cfg.s3a_path(run_prefix, "lake"), cfg.s3a_path(run_prefix, "checkpoint", "lake"))]

    def in_flight():
        """Progress of the queries if a batch is planned but not committed in one of them."""
        progress = [checkpoint.progress(*q, cfg) for q in queries]
        return progress if any(p.planned is not None and p.planned != p.committed for p in progress) else None

    kills = []
    log = open(tmp_path / "driver.log", "w")
    try:
        for life in range(3 * DRIVER_KILLS):
            if sum(k["mid_batch"] for k in kills) >= DRIVER_KILLS:
                break
            before = checkpoint.progress(*queries[0], cfg).committed
            driver = lab("stream", "--sink", sink, "--prefix", run_prefix, "--trigger", "0.5",
                         "--max-offsets-per-trigger", "2000", *(["--score"] if score else []),
                         env={"KAFKA_TOPIC": topic}, stdout=log,
                         stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: (checkpoint.progress(*queries[0], cfg).committed or -1) > (before or -1),
                           timeout=600, what=f"driver life {life} to commit a batch")
                # Then catch it mid-batch: offsets/N written, commits/N not yet.
                try:
                    wait_until(in_flight, timeout=20, interval=0.05, what="a batch in flight")
                except AssertionError:
                    pass  # caught up with the producer: this life ends between batches
            finally:
                kill_group(driver)
            after = [checkpoint.progress(*q, cfg) for q in queries]
            mid_batch = any(p.planned != p.committed for p in after)  # what the dead driver left
            kills.append({"life": life, "at_s": round(time.monotonic() - t0), "mid_batch": mid_batch,
                          **{q[1].rsplit("/", 1)[-1]: p for q, p in zip(queries, after)}})
            if sink == "delta" and mid_batch:  # which tables the dead batch had reached
                kills[-1]["tables_written"] = checkpoint.check_lake_in_step(queries[0][1], run_prefix, cfg).written
        sent = feeder.join(timeout=120)
        # The last run: whatever is left, then exit 0.
        last = subprocess.run([sys.executable, "-m", "lab_utils", "stream", "--sink", sink, "--available-now",
                               "--prefix", run_prefix, "--max-offsets-per-trigger", "50000",
                               *(["--score"] if score else [])], cwd=ROOT,
                              env={**os.environ, "KAFKA_TOPIC": topic}, capture_output=True, text=True, timeout=600)
        assert last.returncode == 0, last.stderr[-3000:]
    finally:
        log.close()
    mid = sum(k["mid_batch"] for k in kills)
    assert sent.failed == 0 and sent.sent == DRIVER_MESSAGES, sent
    assert mid >= DRIVER_KILLS, f"only {mid} of {len(kills)} kills caught a batch in flight: {kills}"
    if sink == "parquet":
        figures = assert_exactly_once(cfg, run_prefix, sent.acks, records)
        leftovers = uncommitted_files(cfg, run_prefix, "output") + uncommitted_files(cfg, run_prefix, "rejected")
        out = storage.read_committed(f"{run_prefix}/output", columns=["card_id", "fraud_score", "model_version"],
                                     cfg=cfg)
        if score:  # every valid row scored, by the one model there is, replays included
            assert out.card_id.notna().all() and out.fraud_score.between(0, 1).all(), out.describe()
            assert set(out.model_version) == {version}
            figures["top_scores"] = [round(s, 3) for s in out.fraud_score.nlargest(3)]
        else:
            assert out.fraud_score.isna().all() and out.model_version.isna().all() and out.card_id.isna().all()
    else:
        figures = assert_lake_exactly_once(cfg, run_prefix, sent.acks, records)
        leftovers = uncommitted_lake_files(cfg, run_prefix)
    print(f"\ndriver kills ({sink}{', scoring' if score else ''}): {len(kills)} ({mid} mid-batch), {figures}, data "
          f"files left by the killed batches (no commit names them, readers ignore them): {leftovers}, "
          f"{time.monotonic() - t0:.0f} s; kills: {kills}")


def uncommitted_lake_files(cfg, root: str) -> int:
    """Parquet files in the lake's table folders that no commit of the table adds (a killed batch's)."""
    from urllib.parse import unquote

    fs = storage.filesystem(cfg)
    left = 0
    for name in lake.TABLES:
        folder = lake.table_path(name, root, cfg)
        commits = [p for p in fs.find(f"{folder}/_delta_log") if p.endswith(".json")]
        added = {unquote(json.loads(line)["add"]["path"]) for text in fs.cat(commits).values()
                 for line in text.decode().splitlines() if line.strip() and '"add"' in line and "add" in json.loads(line)}
        listed = {p[len(folder) + 1:] for p in fs.find(folder) if p.endswith(".parquet") and "/_delta_log/" not in p}
        left += len(listed - added)
    return left


# --------------------------------------------------------------------------- 2. the broker

@pytest.mark.slow
def test_broker_killed_while_producing_keeps_every_acknowledged_message(cfg, spark, topic, run_prefix, stack_restored):
    """30,000 messages at 3,000/s; Kafka is SIGKILLed after 5,000 and started again while the
    producer keeps sending and the pipeline keeps reading."""
    t0 = time.monotonic()
    records = TransactionGenerator(seed=72, bad_ratio=0.05).take(30_000)
    run = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
    try:
        feeder = Feeder(records, topic, rate=3000)
        wait_until(lambda: sum(producer.topic_size(topic, cfg).values()) >= 5000, timeout=60,
                   what="5,000 messages in the topic")
        assert services.stop_service("kafka", kill=True)
        down_at = time.monotonic()
        services.up(say=lambda _: None)
        outage = time.monotonic() - down_at
        sent = feeder.join(timeout=180)
        survived = run.output.isActive and run.rejected.isActive
        if survived:
            run.process_all_available()
        failure = [str(pipeline.explain_failure(q, cfg)) for q in run.queries if not q.isActive]
    finally:
        run.stop()
    # Whatever the running query did, a restart finishes the topic exactly once.
    again = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert again.wait(timeout_s=300)
    finally:
        again.stop()
    assert sent.failed == 0, f"the idempotent producer retries through a {outage:.0f} s outage: {sent}"
    figures = assert_exactly_once(cfg, run_prefix, sent.acks, records)
    print(f"\nbroker SIGKILL + restart ({outage:.1f} s down) while producing: sent {sent.sent}, failed {sent.failed}, "
          f"{figures}; running query survived: {survived} {failure}, {time.monotonic() - t0:.0f} s")


# --------------------------------------------------------------------------- 3. MinIO

@pytest.mark.slow
def test_minio_killed_while_the_query_writes_fails_clearly_then_resumes_exactly_once(cfg, spark, topic, run_prefix,
                                                                                      stack_restored):
    t0 = time.monotonic()
    records = TransactionGenerator(seed=73, bad_ratio=0.1).take(20_000)
    sent = producer.produce(records=records, count=len(records), topic=topic, progress=False, record_acks=True)
    assert sent.failed == 0
    run = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=0.2, max_offsets_per_trigger=1000, cfg=cfg)
    try:
        output = (cfg.s3a_path(run_prefix, "output"), cfg.s3a_path(run_prefix, "checkpoint", "output"))
        wait_until(lambda: (checkpoint.progress(*output, cfg).committed or -1) >= 2, timeout=120,
                   what="the query to commit 3 batches")
        assert services.stop_service("minio", kill=True)
        killed_at = time.monotonic()
        # Either it fails, or it retries and goes on; wait (bounded) to see which.
        try:
            wait_until(lambda: not (run.output.isActive and run.rejected.isActive), timeout=120,
                       what="a query to stop after MinIO died")
        except AssertionError:
            pass
        failed_after = time.monotonic() - killed_at
        failures = [pipeline.explain_failure(q, cfg) for q in run.queries if not q.isActive]
    finally:
        services.up(say=lambda _: None)
        run.stop()
    assert failures, "with MinIO gone for 2 minutes the queries should have failed"
    for failure in failures:
        assert isinstance(failure, QueryFailed)
        assert "MinIO is not reachable" in str(failure) and "stack up" in str(failure), str(failure)
    before = config.use_language("fr")  # the same failures, as a French notebook's kernel reads them
    try:
        french = [str(pipeline.explain_failure(q, cfg)) for q in run.queries if q.exception() is not None]
    finally:
        config.use_language(before)
    assert french and all("MinIO ne répond pas" in f and "stack up" in f for f in french), french
    again = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert again.wait(timeout_s=300)
    finally:
        again.stop()
    figures = assert_exactly_once(cfg, run_prefix, sent.acks, records)
    print(f"\nMinIO SIGKILL mid-write: query failed after {failed_after:.1f} s with: {failures[0]}; after restart "
          f"{figures}, {time.monotonic() - t0:.0f} s")


# --------------------------------------------------------------------------- 4. the producer

@pytest.mark.slow
def test_producer_killed_and_run_again_reuses_no_transaction_id(cfg, spark, topic, run_prefix):
    """`produce` resumes after the highest id in the topic: a killed run leaves a gap of ids
    (messages sent but not written when it died), never a duplicate."""
    t0 = time.monotonic()
    first = lab("produce", "--count", "200000", "--rate", "5000", "--bad-ratio", "0.05", "--seed", "7",
                env={"KAFKA_TOPIC": topic}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sum(producer.topic_size(topic, cfg).values()) >= 20_000, timeout=120,
                   what="20,000 messages in the topic")
    finally:
        kill_group(first)
    in_topic = sum(producer.topic_size(topic, cfg).values())
    highest = producer.last_transaction_id(topic, cfg)
    assert 20_000 <= in_topic < 200_000 and highest >= in_topic
    second = subprocess.run([sys.executable, "-m", "lab_utils", "produce", "--count", "10000", "--bad-ratio", "0.05",
                             "--seed", "8"], cwd=ROOT, env={**os.environ, "KAFKA_TOPIC": topic},
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert f"ids {highest + 1}..{highest + 10000}" in second.stdout, second.stdout
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        assert run.wait(timeout_s=300)
    finally:
        run.stop()
    out = storage.read_committed(f"{run_prefix}/output", cfg=cfg)
    rej = storage.read_committed(f"{run_prefix}/rejected", cfg=cfg)
    keys = list(out.transaction_id) + [int(k) for k in rej.kafka_key]  # every message is keyed by its id
    assert len(out) + len(rej) == in_topic + 10_000
    assert out.transaction_id.is_unique and len(set(keys)) == len(keys), "a transaction_id was used twice"
    first_ids = {k for k in keys if k <= highest}
    print(f"\nproducer SIGKILL after {in_topic} messages (highest id {highest}, ids missing below it: "
          f"{highest - len(first_ids)}); rerun sent ids {highest + 1}..{highest + 10000}; output {len(out)}, "
          f"rejected {len(rej)}, duplicate ids 0, {time.monotonic() - t0:.0f} s")


# --------------------------------------------------------------------------- 5. data lost in the topic

def produce_and_drain(cfg, spark, topic, root, seed: int, n: int):
    records = TransactionGenerator(seed=seed, bad_ratio=0.1).take(n)
    sent = producer.produce(records=records, count=n, topic=topic, progress=False)
    assert sent.failed == 0
    run = pipeline.start(spark, available_now=True, topic=topic, root=root, cfg=cfg)
    try:
        assert run.wait(timeout_s=300)
    finally:
        run.stop()


def test_messages_deleted_before_the_query_read_them_fail_loudly(cfg, spark, topic, run_prefix):
    """Retention (here: Kafka's delete-records, what retention does) removes messages the
    stopped query had not read: the restart fails with DataLoss naming `stack reset`."""
    from kafka import TopicPartition

    produce_and_drain(cfg, spark, topic, run_prefix, seed=74, n=3000)
    producer.produce(records=TransactionGenerator(seed=75).take(1500), count=1500, topic=topic, progress=False)
    ends = producer.topic_size(topic, cfg)  # starts at 0, so sizes are end offsets
    with kafka.admin(cfg) as admin:
        admin.delete_records({TopicPartition(topic, p): end for p, end in ends.items()})
    assert sum(producer.topic_size(topic, cfg).values()) == 0
    run = pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    try:
        with pytest.raises(DataLoss, match=r"Kafka no longer holds messages.*stack reset") as lost:
            run.wait(timeout_s=300)
    finally:
        run.stop()
    # A French notebook's kernel reads the same failure in French.
    before = config.use_language("fr")
    try:
        french = str(pipeline.explain_error(lost.value.__cause__, "output", cfg))
    finally:
        config.use_language(before)
    assert "Kafka ne contient plus certains messages" in french and "stack reset" in french, french
    # The student's view: the stream command, one line naming the fix.
    cli = subprocess.run([sys.executable, "-m", "lab_utils", "stream", "--available-now", "--prefix", run_prefix],
                         cwd=ROOT, env={**os.environ, "KAFKA_TOPIC": topic}, capture_output=True, text=True, timeout=300)
    last = cli.stderr.strip().splitlines()[-1]
    assert cli.returncode == 1 and last.startswith("error: query ") and "stack reset" in last, cli.stderr[-2000:]
    print(f"\nretention: the student sees: {last[:300]}")


@pytest.mark.slow
@pytest.mark.parametrize("new_messages", [300, 6000], ids=["fewer-than-read", "more-than-read"])
def test_a_recreated_topic_is_refused_before_spark_skips_anything(cfg, spark, topic, run_prefix, new_messages):
    """Deleted and created again, the topic restarts at offset 0. With more messages than the
    checkpoint had read, Spark alone would skip the first ones without a word."""
    produce_and_drain(cfg, spark, topic, run_prefix, seed=76, n=3000)
    kafka.delete_topics(cfg, [topic], wait_s=60)
    wait_until(lambda: _recreate(cfg, topic), timeout=60, what="the topic to be created again")
    producer.produce(records=TransactionGenerator(seed=77).take(new_messages), count=new_messages, topic=topic,
                     progress=False)
    with pytest.raises(TopicRecreated, match=rf"topic {topic} was deleted and created again.*stack reset"):
        pipeline.start(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    # A fresh folder (what `stack reset` gives) reads the new topic from its start.
    fresh = f"{run_prefix}/after-reset"
    run = pipeline.start(spark, available_now=True, topic=topic, root=fresh, cfg=cfg)
    try:
        assert run.wait(timeout_s=300)
    finally:
        run.stop()
    out = storage.read_committed(f"{fresh}/output", cfg=cfg)
    rej = storage.read_committed(f"{fresh}/rejected", cfg=cfg)
    assert len(out) + len(rej) == new_messages


def _recreate(cfg, topic: str) -> bool:
    from kafka.errors import KafkaError

    try:
        kafka.ensure_topic(cfg, topic)
        return True
    except KafkaError:
        return False
