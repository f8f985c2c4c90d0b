"""The lake (issue 18): one streaming query writes bronze, silver and gold Delta tables, exactly once.

Checked against the real stack (Kafka, MinIO, Spark with Delta's jars) and read back without
Spark (lab_utils.clients.lake, delta-rs), by Kafka (partition, offset): every message once in
bronze and once in exactly one of silver/transactions and silver/rejected; gold equals silver
summed; a replayed batch writes nothing; the checkpoint guards; OPTIMIZE, VACUUM and the
command line. The driver-kill test for the lake is in tests/test_reliability.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lab_utils import messages, pipeline, producer
from lab_utils.clients import lake, storage
from lab_utils.config import ROOT
from lab_utils.errors import CheckpointInUse, CheckpointMismatch, LabError
from lab_utils.generator import TransactionGenerator
from lab_utils.pipeline import checkpoint
from lab_utils.pipeline.lake import BatchWriter, checkpoint_path, table_paths

from ..helpers import assert_lake_exactly_once

OUTPUT_COLUMNS = {"transaction_id": "bigint", "montant": "double", "devise": "string", "taux_eur": "double",
                  "montant_eur": "double", "event_time": "timestamp", "timezone": "string",
                  "event_time_local": "timestamp_ntz", "event_date": "date", "kafka_partition": "int",
                  "kafka_offset": "bigint", "ingest_time": "timestamp", "card_id": "string",
                  "merchant_category": "string", "country": "string", "channel": "string", "fraud_score": "double",
                  "model_version": "string"}


# --------------------------------------------------------------------------- what the tables hold (no service)

def test_bronze_keeps_the_record_as_received(spark):
    raw = spark.createDataFrame([(b"7", b'{"x": 1}', "t", 2, 41, None)],
                                "key binary, value binary, topic string, partition int, offset long, timestamp timestamp")
    bronze = pipeline.to_bronze(raw)
    assert bronze.columns == ["kafka_key", "kafka_value", "kafka_topic", "kafka_partition", "kafka_offset",
                              "kafka_timestamp", "ingest_time"]
    row = bronze.first()
    assert (bytes(row.kafka_key), bytes(row.kafka_value), row.kafka_partition, row.kafka_offset) == (b"7", b'{"x": 1}', 2, 41)
    assert row.ingest_time is not None


def test_gold_adds_each_batch_to_the_totals_by_local_hour_and_currency(spark):
    from datetime import date, datetime

    schema = "event_date date, event_time_local timestamp_ntz, devise string, montant_eur double"
    first = spark.createDataFrame([(date(2026, 11, 27), datetime(2026, 11, 27, 23, 10), "USD", 0.1),
                                   (date(2026, 11, 27), datetime(2026, 11, 27, 23, 50), "USD", 0.2),
                                   (date(2026, 11, 28), datetime(2026, 11, 28, 0, 5), "USD", 1.0)], schema)
    second = spark.createDataFrame([(date(2026, 11, 27), datetime(2026, 11, 27, 23, 30), "USD", 0.7),
                                    (date(2026, 11, 27), datetime(2026, 11, 27, 23, 30), "EUR", 5.0)], schema)
    gold = pipeline.to_gold(first)
    gold = pipeline.add_to_gold(gold.limit(0), gold)
    gold = pipeline.add_to_gold(gold, pipeline.to_gold(second))
    got = {(str(r.event_date), r.hour, r.devise): (r.transactions, r.montant_eur) for r in gold.collect()}
    assert got == {("2026-11-27", 23, "USD"): (3, 1.0), ("2026-11-28", 0, "USD"): (1, 1.0),
                   ("2026-11-27", 23, "EUR"): (1, 5.0)}


def test_delta_runs_on_the_two_fetched_jars_and_deltalake_reads_what_spark_wrote(spark, tmp_path):
    """Delta's jars (delta-spark, delta-storage, nothing they pull in) with this pyspark: write, history,
    OPTIMIZE, time travel and VACUUM in Spark; then the same table read by delta-rs."""
    from deltalake import DeltaTable

    path = str(tmp_path / "table")
    for i in range(3):
        spark.range(i * 10, i * 10 + 10).write.format("delta").mode("append").save(path)
    spark.sql(f"OPTIMIZE delta.`{path}`").collect()
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version").collect()
    assert [h.operation for h in history] == ["WRITE", "WRITE", "WRITE", "OPTIMIZE"]
    assert spark.read.format("delta").option("versionAsOf", 1).load(path).count() == 20
    assert spark.sql(f"VACUUM delta.`{path}` RETAIN 168 HOURS DRY RUN").count() == 0
    table = DeltaTable(path)
    assert table.version() == 3 and len(table.to_pandas()) == 30
    assert len(DeltaTable(path, version=0).to_pandas()) == 10


# --------------------------------------------------------------------------- one pass, exactly once

def _produce(topic: str, seed: int, n: int, bad_ratio: float = 0.1, start_id: int = 1):
    records = TransactionGenerator(seed=seed, bad_ratio=bad_ratio, start_id=start_id).take(n)
    sent = producer.produce(records=records, count=n, topic=topic, progress=False, record_acks=True)
    assert sent.failed == 0, sent
    return records, sent


def _drain(spark, cfg, topic: str, root: str, **kwargs):
    run = pipeline.start_lake(spark, available_now=True, topic=topic, root=root, cfg=cfg, **kwargs)
    try:
        assert run.wait(timeout_s=600)
    finally:
        run.stop()
    return run


def test_one_pass_writes_bronze_silver_and_gold_exactly_once(cfg, spark, topic, run_prefix):
    records, sent = _produce(topic, seed=81, n=6000)
    run = _drain(spark, cfg, topic, run_prefix, max_offsets_per_trigger=2500)  # 3 micro-batches
    figures = assert_lake_exactly_once(cfg, run_prefix, sent.acks, records)
    batches = [p.batchId for p in run.query.recentProgress if p.numInputRows]
    assert len(batches) == 3, batches
    # One query read each message once: its input is the topic, not twice the topic.
    assert sum(p.numInputRows for p in run.query.recentProgress) == len(records)
    assert run.progress is None or run.progress.totals.written == figures["silver"]
    # Silver has output/'s columns and types; history shows the stream's commits, tagged with its batch.
    silver_schema = {f.name: f.dataType.simpleString() for f in spark.read.format("delta").load(
        table_paths(run_prefix, cfg)[lake.SILVER]).schema.fields}
    assert silver_schema == OUTPUT_COLUMNS
    app_id = checkpoint.query_id(checkpoint_path(run_prefix, cfg), cfg)
    for name in lake.TABLES:
        assert lake.stream_version(name, app_id, root=run_prefix, cfg=cfg) == max(batches), name
        tagged = [json.loads(h["userMetadata"])["batch"] for h in lake.history(name, root=run_prefix, cfg=cfg)
                  if h.get("userMetadata")]
        assert sorted(tagged) == batches, (name, tagged)
    # Run again with nothing new: no batch, no commit. Then new messages land once more, once.
    versions = {name: lake.table(name, root=run_prefix, cfg=cfg).version() for name in lake.TABLES}
    _drain(spark, cfg, topic, run_prefix)
    assert versions == {name: lake.table(name, root=run_prefix, cfg=cfg).version() for name in lake.TABLES}
    more, sent_more = _produce(topic, seed=82, n=1500, start_id=10_000)
    _drain(spark, cfg, topic, run_prefix)
    figures = assert_lake_exactly_once(cfg, run_prefix, sent.acks + sent_more.acks, records + more)
    print(f"\nlake, one pass: {figures}")


def test_a_replayed_batch_writes_nothing_twice(cfg, spark, topic, run_prefix):
    """What a restart does after a crash: Spark calls foreachBatch again with the same batch id and
    the same messages. Delta's txnAppId/txnVersion make every table skip what it already holds."""
    records, _ = _produce(topic, seed=83, n=800)
    fs = storage.filesystem(cfg)
    cp = checkpoint_path(run_prefix, cfg)
    # The query id Spark would have written at the query's first start.
    fs.pipe_file(cfg.s3_path(run_prefix, "checkpoint", pipeline.LAKE_QUERY, "metadata"),
                 json.dumps({"id": "0f0f0f0f-test-replay"}).encode())
    batch = pipeline.classify(spark.read.format("kafka").option("kafka.bootstrap.servers", cfg.KAFKA_BOOTSTRAP_SERVERS)
                              .option("subscribe", topic).load(), messages.load_rates())
    writer = BatchWriter(spark, table_paths(run_prefix, cfg), cp, cfg.LAB_TIMEZONE, cfg)
    writer(batch, 0)
    state = {name: (lake.table(name, root=run_prefix, cfg=cfg).version(), lake.row_count(name, root=run_prefix, cfg=cfg))
             for name in lake.TABLES}
    writer(batch, 0)  # the replay
    assert state == {name: (lake.table(name, root=run_prefix, cfg=cfg).version(),
                            lake.row_count(name, root=run_prefix, cfg=cfg)) for name in lake.TABLES}
    assert state[lake.BRONZE][1] == len(records)
    assert state[lake.SILVER][1] + state[lake.REJECTED][1] == len(records)
    assert lake.read(lake.GOLD, root=run_prefix, cfg=cfg).transactions.sum() == state[lake.SILVER][1]
    # An older batch id is a replay too; a new one is written.
    writer(batch, 1)
    writer(batch, 0)
    assert lake.row_count(lake.BRONZE, root=run_prefix, cfg=cfg) == 2 * len(records)
    assert lake.read(lake.GOLD, root=run_prefix, cfg=cfg).transactions.sum() == 2 * state[lake.SILVER][1]
    storage.clear(cfg, (f"{run_prefix}/lake", f"{run_prefix}/checkpoint/lake"))


# --------------------------------------------------------------------------- the guards

def test_start_refuses_tables_and_a_checkpoint_out_of_step(cfg, spark, topic, run_prefix):
    _produce(topic, seed=84, n=600)
    _drain(spark, cfg, topic, run_prefix)
    fs = storage.filesystem(cfg)
    name = f"{pipeline.LAKE_QUERY}-{run_prefix.replace('/', '-')}"
    # A table deleted by hand, its checkpoint kept: resuming would leave its rows out.
    fs.rm(lake.table_path(lake.REJECTED, run_prefix, cfg), recursive=True)
    with pytest.raises(CheckpointMismatch, match=r"finished batches up to 0 but table silver/rejected is missing.*stack reset"):
        pipeline.start_lake(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    # The checkpoint deleted, the tables kept: a new query id would write everything again.
    fs.rm(cfg.s3_path(run_prefix, "checkpoint", pipeline.LAKE_QUERY), recursive=True)
    with pytest.raises(CheckpointMismatch, match=r"holds tables.*checkpoint.*is missing.*twice.*stack reset"):
        pipeline.start_lake(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    assert name not in {q.name for q in spark.streams.active}, "a refused start must start nothing"
    # Tables of another checkpoint: another root's checkpoint moved next to these tables.
    other = f"{run_prefix}/other"
    _drain(spark, cfg, topic, other)
    fs.copy(cfg.s3_path(other, "checkpoint", pipeline.LAKE_QUERY), cfg.s3_path(run_prefix, "checkpoint",
                                                                              pipeline.LAKE_QUERY), recursive=True)
    fs.rm(lake.table_path(lake.BRONZE, run_prefix, cfg), recursive=True)
    with pytest.raises(CheckpointMismatch, match=r"not written by the query of checkpoint.*stack reset"):
        pipeline.start_lake(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg)
    assert not fs.exists(cfg.s3_path(run_prefix, "checkpoint", pipeline.LAKE_QUERY, checkpoint.LOCK_FILE)), \
        "a refused start releases its lock"


def test_the_lake_cell_run_twice_is_refused_and_maintenance_waits_for_the_stream(cfg, spark, topic, run_prefix):
    _produce(topic, seed=85, n=300)
    first = pipeline.start_lake(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
    try:
        with pytest.raises(CheckpointInUse, match=r"already running in this session.*`pipeline\.stop\(\)`"):
            pipeline.start_lake(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg)
        first.wait_until_caught_up(timeout_s=300, topic=topic, cfg=cfg)
        with pytest.raises(CheckpointInUse, match=r"lake's stream is running.*stop it first"):
            pipeline.lake.optimize(spark, root=run_prefix, cfg=cfg)
        assert first.query.isActive
        assert pipeline.stop() == 1
    finally:
        first.stop()
    assert pipeline.lake.optimize(spark, root=run_prefix, cfg=cfg)


# --------------------------------------------------------------------------- maintenance

@pytest.mark.slow  # notebook 07 runs OPTIMIZE, VACUUM and time travel in every CI run
def test_optimize_compacts_small_files_and_time_travel_still_reads_the_old_ones(cfg, spark, topic, run_prefix):
    _produce(topic, seed=86, n=4000)
    _drain(spark, cfg, topic, run_prefix, max_offsets_per_trigger=500)  # 8 small batches
    before = pipeline.lake.files_report(run_prefix, cfg)
    silver_path = table_paths(run_prefix, cfg)[lake.SILVER]
    old_version = before[lake.SILVER]["version"]
    result = {t.table: t for t in pipeline.lake.optimize(spark, root=run_prefix, cfg=cfg)}
    after = pipeline.lake.files_report(run_prefix, cfg)
    for name in (lake.BRONZE, lake.SILVER, lake.REJECTED):
        assert after[name]["files"] < before[name]["files"], (name, before[name], after[name])
        assert after[name]["rows"] == before[name]["rows"], name
        assert result[name].files_after == after[name]["files"]
    assert pipeline.lake.files_per_100k(after) < pipeline.lake.files_per_100k(before)
    old = spark.read.format("delta").option("versionAsOf", old_version).load(silver_path)
    assert old.count() == before[lake.SILVER]["rows"]
    assert lake.active_files(lake.SILVER, version=old_version, root=run_prefix, cfg=cfg) == before[lake.SILVER]["files"]
    # VACUUM keeps every file younger than the retention: nothing of today is deleted.
    assert pipeline.lake.vacuum(spark, dry_run=True, root=run_prefix, cfg=cfg) == {name: 0 for name in lake.TABLES}
    with pytest.raises(LabError, match=r"--retain-hours must be at least 168.*time travel"):
        pipeline.lake.vacuum(spark, retain_hours=1, root=run_prefix, cfg=cfg)
    print(f"\nfiles per 100k events: {pipeline.lake.files_per_100k(before):.0f} -> "
          f"{pipeline.lake.files_per_100k(after):.0f}")


@pytest.mark.slow  # the CI budget; `pytest -m slow` runs it
def test_the_command_line(cfg, topic, run_prefix):
    """`stream --sink delta --available-now`, `lake status | optimize | vacuum`, one line on error."""
    env = {**os.environ, "KAFKA_TOPIC": topic}

    def lab(*args):
        return subprocess.run([sys.executable, "-m", "lab_utils", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)

    empty = lab("lake", "status", "--prefix", run_prefix)
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1 and "--sink delta" in empty.stderr, empty.stderr
    _produce(topic, seed=87, n=2000, bad_ratio=0.05)
    streamed = lab("stream", "--sink", "delta", "--available-now", "--prefix", run_prefix,
                   "--max-offsets-per-trigger", "700")
    assert streamed.returncode == 0, streamed.stderr[-3000:]
    assert "lake/" in streamed.stdout and "to silver/transactions" in streamed.stdout, streamed.stdout
    status = lab("lake", "status", "--prefix", run_prefix)
    assert status.returncode == 0 and "silver/transactions" in status.stdout and "files per 100,000" in status.stdout
    optimized = lab("lake", "optimize", "--prefix", run_prefix)
    assert optimized.returncode == 0 and " -> " in optimized.stdout, optimized.stderr[-3000:]
    refused = lab("lake", "vacuum", "--retain-hours", "0", "--prefix", run_prefix)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "at least 168" in refused.stderr
    print(f"\n{optimized.stdout}")
