"""Measurements behind the lab's performance figures (the `bench` command builds on these).

Figures, not pass/fail: tests never assert a speed. The machine is shared and noisy, so each
figure is the median of several runs, reported with its spread (min..max), and the producers
compared are measured in the same run, interleaved.
"""

from __future__ import annotations

import statistics
import time
import uuid

from . import config as _config
from . import producer as _producer
from . import stack as _stack
from .generator import TransactionGenerator


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": [round(v) for v in values]}


def producer_rates(runs: int = 5, n: int = 200_000, naive_n: int = 2_000,
                   cfg: _config.LabConfig | None = None) -> dict:
    """Messages/s from one process at full speed, median of `runs`, in one run:

    - bulk: `produce()` (confluent-kafka, generation included), the CLI's path;
    - kafka_python_tuned: `produce(engine="kafka-python")`, the lessons' client, tuned settings;
    - kafka_python_naive: a kafka-python loop that sends and flushes each message (default settings).
    Each run writes to a fresh topic, deleted afterwards.
    """
    from kafka import KafkaProducer

    cfg = cfg or _config.load()
    records = TransactionGenerator(seed=1, start_id=1).take(n)
    results = {"bulk": [], "kafka_python_tuned": [], "kafka_python_naive": []}
    topics = []
    try:
        for _ in range(runs):
            topic = f"bench-{uuid.uuid4().hex[:8]}"
            topics.append(topic)
            _stack.ensure_topic(cfg, topic)
            s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg)
            results["bulk"].append(s.acknowledged / s.seconds)
            s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg,
                                  engine="kafka-python")
            results["kafka_python_tuned"].append(s.acknowledged / s.seconds)
            naive = KafkaProducer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS)
            t0 = time.monotonic()
            for r in records[:naive_n]:
                naive.send(topic, key=r.key, value=r.value).get(timeout=30)
                naive.flush()
            results["kafka_python_naive"].append(naive_n / (time.monotonic() - t0))
            naive.close()
    finally:
        admin = _stack._kafka_admin(cfg)
        try:
            admin.delete_topics(topics, timeout_ms=30_000)
        finally:
            admin.close()
    return {name: _spread(values) for name, values in results.items()} | {
        "settings": {"bulk": _producer.BULK_SETTINGS, "kafka_python_tuned": _producer.TUNED_SETTINGS},
        "messages_per_run": {"bulk": n, "kafka_python_tuned": n, "kafka_python_naive": naive_n}}


def _fresh_topic_with(cfg, n: int, bad_ratio: float, seed: int = 1) -> tuple[str, list]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    _stack.ensure_topic(cfg, topic)
    records = TransactionGenerator(seed=seed, bad_ratio=bad_ratio, start_id=1).take(n)
    s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg)
    if s.failed:
        raise RuntimeError(f"benchmark data not fully produced: {s}")
    return topic, records


def _delete_topic(cfg, topic: str) -> None:
    admin = _stack._kafka_admin(cfg)
    try:
        admin.delete_topics([topic], timeout_ms=30_000)
    finally:
        admin.close()


def drain(spark, topic: str, cfg, checkpoint_root: str | None = None) -> dict:
    """Time `pipeline.start(available_now=True)` from start until both queries committed everything."""
    from . import pipeline, storage

    root = f"bench-runs/{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    run = pipeline.start(spark, available_now=True, topic=topic, root=root, checkpoint_root=checkpoint_root,
                         cfg=cfg)
    try:
        run.wait()
    finally:
        run.stop()
    seconds = time.monotonic() - t0
    batches = [p for p in run.output.recentProgress]
    fs = storage.filesystem(cfg)
    files = [p for p in fs.find(cfg.s3_path(root, "output")) if p.endswith(".parquet")]
    first = min((p.timestamp for p in batches), default=None)
    storage.clear(cfg, (root,))
    return {"seconds": seconds, "batches": len(batches), "output_files": len(files), "first_batch_at": first}


def limit(spark, records: list, out_dir: str) -> float:
    """The same transformations on the same messages, from memory to local Parquet: seconds."""
    import pandas as pd

    from . import pipeline

    pdf = pd.DataFrame({"key": [r.key for r in records], "value": [r.value for r in records],
                        "partition": [int(r.key) % 3 for r in records], "offset": range(len(records))})
    raw = spark.createDataFrame(pdf, "key binary, value binary, partition int, offset long").cache()
    raw.count()  # materialise in memory first: the limit excludes reading the input
    try:
        t0 = time.monotonic()
        checked = pipeline.classify(raw)
        pipeline.to_output(checked).write.mode("overwrite").partitionBy("event_date").parquet(f"{out_dir}/output")
        pipeline.to_rejected(checked).write.mode("overwrite").parquet(f"{out_dir}/rejected")
        return time.monotonic() - t0
    finally:
        raw.unpersist()


def drain_vs_limit(n: int = 1_000_000, runs: int = 1, bad_ratio: float = 0.01,
                   local_checkpoint_too: bool = True, cfg: _config.LabConfig | None = None) -> dict:
    """Drain n messages Kafka -> output/ (checkpoints on MinIO, and on local disk), and the in-memory
    limit on the same data, in one run."""
    import shutil
    import tempfile

    from .session import get_spark

    cfg = cfg or _config.load()
    spark = get_spark(app_name="lab-bench", cfg=cfg)
    # Warm-up: the first query of a session pays for class loading and JIT; measure after it.
    warm_topic, warm_records = _fresh_topic_with(cfg, 20_000, bad_ratio, seed=2)
    try:
        drain(spark, warm_topic, cfg)
    finally:
        _delete_topic(cfg, warm_topic)
    topic, records = _fresh_topic_with(cfg, n, bad_ratio)
    result = {"messages": n, "bad_ratio": bad_ratio, "drain_s": [], "drain_local_checkpoint_s": [], "limit_s": []}
    tmp = tempfile.mkdtemp(prefix="lab-bench-")
    try:
        for _ in range(runs):
            d = drain(spark, topic, cfg)
            result["drain_s"].append(d["seconds"])
            result.setdefault("drain_details", []).append(d)
            if local_checkpoint_too:
                local = drain(spark, topic, cfg, checkpoint_root=f"file://{tmp}/cp-{uuid.uuid4().hex[:6]}")
                result["drain_local_checkpoint_s"].append(local["seconds"])
            result["limit_s"].append(limit(spark, records, f"file://{tmp}/limit"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _delete_topic(cfg, topic)
    med = statistics.median
    result["drain_events_per_s"] = n / med(result["drain_s"])
    result["limit_events_per_s"] = n / med(result["limit_s"])
    if result["drain_local_checkpoint_s"]:
        result["drain_local_checkpoint_events_per_s"] = n / med(result["drain_local_checkpoint_s"])
    result["drain_over_limit"] = result["drain_events_per_s"] / result["limit_events_per_s"]
    return result


def live_run(rate: float = 1000, seconds: float = 30, cfg: _config.LabConfig | None = None) -> dict:
    """The pipeline at its default trigger while a producer sends `rate` events/s for `seconds`:
    the first-batch latency (start() to the first committed output batch, with data waiting)
    and the Parquet files written to output/ per 100,000 events."""
    import threading

    from . import pipeline, storage
    from .session import get_spark

    cfg = cfg or _config.load()
    spark = get_spark(app_name="lab-bench", cfg=cfg)
    topic, _ = _fresh_topic_with(cfg, 1000, 0.0)  # data waiting when the query starts
    root = f"bench-runs/{uuid.uuid4().hex[:8]}"
    first_commit = threading.Event()

    class _First:
        def __init__(self):
            self.at = None

    first = _First()
    from pyspark.sql.streaming import StreamingQueryListener

    class _L(StreamingQueryListener):
        def onQueryStarted(self, e): pass
        def onQueryIdle(self, e): pass
        def onQueryTerminated(self, e): pass

        def onQueryProgress(self, e):
            if e.progress.name == f"output-{root.replace('/', '-')}" and e.progress.numInputRows and first.at is None:
                first.at = time.monotonic()
                first_commit.set()

    listener = _L()
    spark.streams.addListener(listener)
    t0 = time.monotonic()
    run = pipeline.start(spark, topic=topic, root=root, cfg=cfg)
    try:
        if not first_commit.wait(120):
            raise RuntimeError("no output batch committed within 120 s")
        first_batch_s = first.at - t0
        sent = _producer.produce(duration=seconds, rate=rate, topic=topic, progress=False, cfg=cfg)
        run.process_all_available()
    finally:
        run.stop()
        spark.streams.removeListener(listener)
    fs = storage.filesystem(cfg)
    files = [p for p in fs.find(cfg.s3_path(root, "output")) if p.endswith(".parquet")]
    events = 1000 + sent.acknowledged
    batches = len(run.output.recentProgress)
    storage.clear(cfg, (root,))
    _delete_topic(cfg, topic)
    return {"first_batch_s": first_batch_s, "events": events, "output_files": len(files),
            "files_per_100k_events": len(files) * 100_000 / events, "output_batches": batches,
            "trigger_s": pipeline.DEFAULT_TRIGGER_S, "rate": rate, "seconds": seconds}
