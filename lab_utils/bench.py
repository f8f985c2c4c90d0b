"""Measurements behind the lab's performance figures (the `bench` command builds on these).

Figures, not pass/fail: tests never assert a speed. The machine is shared and noisy, so each
figure is the median of several runs, reported with its spread (min..max), and the producers
compared are measured in the same run, interleaved.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

from . import config as _config
from . import messages, pipeline, services
from . import producer as _producer
from . import training
from .clients import kafka, storage
from .generator import TransactionGenerator
from .pipeline import models
from .pipeline.session import class_archive, get_spark, spark_conf
from .services.kafka_broker import KAFKA_HEAP


def _spread(values: list[float], digits: int | None = None) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": [round(v, digits) for v in values]}


def generator_rate(runs: int = 3, n: int = 100_000) -> dict:
    """Records/s the generator makes (10 % bad), median of `runs`: it must not be what limits the
    bulk producer (about 50,000 msg/s and more)."""
    rates = []
    for _ in range(runs):
        gen = TransactionGenerator(seed=0, bad_ratio=0.1)
        started = time.perf_counter()
        gen.take(n)
        rates.append(n / (time.perf_counter() - started))
    return _spread(rates)


def producer_rates(runs: int = 5, n: int = 200_000, naive_n: int = 2_000,
                   cfg: _config.LabConfig | None = None) -> dict:
    """Messages/s from one process at full speed, median of `runs`, in one run:

    - bulk: `produce()` (confluent-kafka, generation included), the CLI's path;
    - kafka_python_tuned: `produce(engine="kafka-python")`, the lessons' client, tuned settings;
    - kafka_python_naive: a kafka-python loop that sends and flushes each message (default settings).
    Each run writes to a fresh topic, deleted afterwards.
    """
    cfg = cfg or _config.load()
    records = TransactionGenerator(seed=1, start_id=1).take(n)
    results = {"bulk": [], "kafka_python_tuned": [], "kafka_python_naive": []}
    topics = []
    try:
        for _ in range(runs):
            topic = f"bench-{uuid.uuid4().hex[:8]}"
            topics.append(topic)
            kafka.ensure_topic(cfg, topic)
            s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg)
            results["bulk"].append(s.acknowledged / s.seconds)
            s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg,
                                  engine="kafka-python")
            results["kafka_python_tuned"].append(s.acknowledged / s.seconds)
            naive = kafka.kafka_python_producer(cfg)  # kafka-python's defaults
            t0 = time.monotonic()
            for r in records[:naive_n]:
                naive.send(topic, key=r.key, value=r.value).get(timeout=30)
                naive.flush()
            results["kafka_python_naive"].append(naive_n / (time.monotonic() - t0))
            naive.close()
    finally:
        kafka.delete_topics(cfg, topics)
    return {name: _spread(values) for name, values in results.items()} | {
        "settings": {"bulk": _producer.BULK_SETTINGS, "kafka_python_tuned": _producer.TUNED_SETTINGS},
        "messages_per_run": {"bulk": n, "kafka_python_tuned": n, "kafka_python_naive": naive_n}}


def _fresh_topic_with(cfg, n: int, bad_ratio: float, seed: int = 1) -> tuple[str, list]:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    kafka.ensure_topic(cfg, topic)
    records = TransactionGenerator(seed=seed, bad_ratio=bad_ratio, start_id=1).take(n)
    s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg)
    if s.failed:
        raise RuntimeError(f"benchmark data not fully produced: {s}")
    return topic, records


def drain(spark, topic: str, cfg, checkpoint_root: str | None = None) -> dict:
    """Time `pipeline.start(available_now=True)` from start until both queries committed everything."""
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


def drain_lake(spark, topic: str, cfg) -> dict:
    """Time `pipeline.start_lake(available_now=True)` (the lake's one query, `--sink delta`) from start
    until it committed everything: bronze, silver, rejected and gold."""
    root = f"bench-runs/{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    run = pipeline.start_lake(spark, available_now=True, topic=topic, root=root, cfg=cfg)
    try:
        run.wait()
    finally:
        run.stop()
    seconds = time.monotonic() - t0
    files = pipeline.lake.files_report(root, cfg)
    storage.clear(cfg, (root,))
    return {"seconds": seconds, "batches": len(run.query.recentProgress), "tables": files}


def lake_files(n: int = 100_000, batch: int = 2_000, cfg: _config.LabConfig | None = None) -> dict:
    """The lake's active files per 100,000 events before and after OPTIMIZE, when it is fed in batches of
    `batch` messages (what a 2 s trigger makes at 1,000 events/s), without waiting for a live producer."""
    cfg = cfg or _config.load()
    spark = get_spark(app_name="lab-bench", cfg=cfg)
    topic, _ = _fresh_topic_with(cfg, n, 0.01, seed=3)
    root = f"bench-runs/{uuid.uuid4().hex[:8]}"
    try:
        run = pipeline.start_lake(spark, available_now=True, topic=topic, root=root, cfg=cfg,
                                  max_offsets_per_trigger=batch)
        try:
            run.wait()
        finally:
            run.stop()
        before = pipeline.lake.files_report(root, cfg)
        t0 = time.monotonic()
        pipeline.lake.optimize(spark, root=root, cfg=cfg)
        optimize_s = time.monotonic() - t0
        after = pipeline.lake.files_report(root, cfg)
    finally:
        storage.clear(cfg, (root,))
        kafka.delete_topics(cfg, [topic])
    return {"events": n, "batch": batch, "files_before": before, "files_after": after, "optimize_s": optimize_s,
            "files_per_100k_before": pipeline.lake.files_per_100k(before),
            "files_per_100k_after": pipeline.lake.files_per_100k(after)}


def limit(spark, records: list, out_dir: str) -> float:
    """The same transformations on the same messages, from memory to local Parquet: seconds."""
    import pandas as pd

    pdf = pd.DataFrame({"key": [r.key for r in records], "value": [r.value for r in records],
                        "partition": [int(r.key) % 3 for r in records], "offset": range(len(records))})
    raw = spark.createDataFrame(pdf, "key binary, value binary, partition int, offset long").cache()
    raw.count()  # materialise in memory first: the limit excludes reading the input
    try:
        t0 = time.monotonic()
        checked = pipeline.classify(raw, messages.load_rates())
        pipeline.to_output(checked, _config.load().LAB_TIMEZONE).write.mode("overwrite").partitionBy("event_date").parquet(f"{out_dir}/output")
        pipeline.to_rejected(checked).write.mode("overwrite").parquet(f"{out_dir}/rejected")
        return time.monotonic() - t0
    finally:
        raw.unpersist()


def drain_vs_limit(n: int = 1_000_000, runs: int = 1, bad_ratio: float = 0.01,
                   local_checkpoint_too: bool = True, lake_too: bool = True,
                   cfg: _config.LabConfig | None = None) -> dict:
    """Drain n messages Kafka -> output/ (checkpoints on MinIO, and on local disk), the same messages into
    the lake (one query, four Delta tables), and the in-memory limit on the same data, in one run: the
    two pipelines alternate, so the machine's load weighs on both alike."""
    import shutil
    import tempfile

    cfg = cfg or _config.load()
    spark = get_spark(app_name="lab-bench", cfg=cfg)
    # Warm-up: the first query of a session pays for class loading and JIT; measure after it.
    warm_topic, warm_records = _fresh_topic_with(cfg, 20_000, bad_ratio, seed=2)
    try:
        drain(spark, warm_topic, cfg)
        if lake_too:
            drain_lake(spark, warm_topic, cfg)
    finally:
        kafka.delete_topics(cfg, [warm_topic])
    topic, records = _fresh_topic_with(cfg, n, bad_ratio)
    result = {"messages": n, "bad_ratio": bad_ratio, "drain_s": [], "drain_local_checkpoint_s": [], "limit_s": [],
              "drain_lake_s": []}
    tmp = tempfile.mkdtemp(prefix="lab-bench-")
    try:
        for _ in range(runs):
            d = drain(spark, topic, cfg)
            result["drain_s"].append(d["seconds"])
            result.setdefault("drain_details", []).append(d)
            if lake_too:
                d = drain_lake(spark, topic, cfg)
                result["drain_lake_s"].append(d["seconds"])
                result.setdefault("drain_lake_details", []).append(d)
            if local_checkpoint_too:
                local = drain(spark, topic, cfg, checkpoint_root=f"file://{tmp}/cp-{uuid.uuid4().hex[:6]}")
                result["drain_local_checkpoint_s"].append(local["seconds"])
            result["limit_s"].append(limit(spark, records, f"file://{tmp}/limit"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        kafka.delete_topics(cfg, [topic])
    med = statistics.median
    result["drain_events_per_s"] = n / med(result["drain_s"])
    result["limit_events_per_s"] = n / med(result["limit_s"])
    if result["drain_local_checkpoint_s"]:
        result["drain_local_checkpoint_events_per_s"] = n / med(result["drain_local_checkpoint_s"])
    result["drain_over_limit"] = result["drain_events_per_s"] / result["limit_events_per_s"]
    if result["drain_lake_s"]:
        result["drain_lake_events_per_s"] = n / med(result["drain_lake_s"])
        # Per run, then the median: each ratio compares two drains that ran back to back.
        result["lake_over_parquet"] = med([p / q for p, q in zip(result["drain_s"], result["drain_lake_s"])])
    return result


class _CommitWatcher:
    """Polls `_spark_metadata` of an output folder and notes, for each committed row, how long
    after its event time (the moment the generator stamped it, just before sending) it became
    readable. Polling every 0.2 s adds up to 0.2 s to each figure."""

    def __init__(self, cfg, path: str, interval_s: float = 0.2):
        import threading

        self._cfg, self._path, self._interval = cfg, path, interval_s
        self._fs = storage.filesystem(cfg)
        self._seen: set[str] = set()
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import pyarrow.parquet as pq

        while not self._stop.wait(self._interval):
            try:
                files = storage.committed_files(self._path, fs=self._fs, cfg=self._cfg)
            except FileNotFoundError:
                continue
            now = time.time()
            for f in files:
                if f in self._seen:
                    continue
                self._seen.add(f)
                times = pq.read_table(f, filesystem=self._fs, columns=["event_time"]).column(0).to_pylist()
                # Parquet timestamps may come back naive; they are UTC instants either way.
                self.latencies.extend(now - (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
                                      for t in times)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def live_run(rate: float = 1000, seconds: float = 60, cfg: _config.LabConfig | None = None) -> dict:
    """The pipeline at its default trigger while a producer sends `rate` events/s for `seconds`:
    the first-batch latency (start() to the first committed output batch, with data waiting),
    the end-to-end latency (produced -> readable in committed output/, p50 and p99), and the
    Parquet files written to output/ per 100,000 events."""
    import threading

    from pyspark.sql.streaming import StreamingQueryListener

    cfg = cfg or _config.load()
    spark = get_spark(app_name="lab-bench", cfg=cfg)
    topic, _ = _fresh_topic_with(cfg, 1000, 0.0)  # data waiting when the query starts
    root = f"bench-runs/{uuid.uuid4().hex[:8]}"
    output_name = f"output-{root.replace('/', '-')}"
    first_commit = threading.Event()
    first_at: list[float] = []

    class _FirstBatch(StreamingQueryListener):
        def onQueryStarted(self, e): pass
        def onQueryIdle(self, e): pass
        def onQueryTerminated(self, e): pass

        def onQueryProgress(self, e):
            if e.progress.name == output_name and e.progress.numInputRows and not first_at:
                first_at.append(time.monotonic())
                first_commit.set()

    listener = _FirstBatch()
    spark.streams.addListener(listener)
    t0 = time.monotonic()
    run = pipeline.start(spark, topic=topic, root=root, cfg=cfg)
    watcher = None
    try:
        if not first_commit.wait(120):
            raise RuntimeError("no output batch committed within 120 s")
        watcher = _CommitWatcher(cfg, f"{root}/output")
        # The 1,000 rows that were waiting are committed; let the watcher count them (bounded),
        # so that only the rows produced below are measured.
        deadline = time.monotonic() + 30
        while len(watcher.latencies) < 1000 and time.monotonic() < deadline:
            time.sleep(0.1)
        skip = len(watcher.latencies)
        sent = _producer.produce(duration=seconds, rate=rate, topic=topic, progress=False, cfg=cfg)
        run.process_all_available()
        deadline = time.monotonic() + 30
        while len(watcher.latencies) - skip < sent.acknowledged and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if watcher is not None:
            watcher.stop()
        run.stop()
        spark.streams.removeListener(listener)
    measured = watcher.latencies[skip:]
    fs = storage.filesystem(cfg)
    files = [p for p in fs.find(cfg.s3_path(root, "output")) if p.endswith(".parquet")]
    events = 1000 + sent.acknowledged
    result = {"first_batch_s": first_at[0] - t0, "events": events, "output_files": len(files),
              "files_per_100k_events": len(files) * 100_000 / events,
              "output_batches": len(run.output.recentProgress), "trigger_s": pipeline.DEFAULT_TRIGGER_S,
              "rate": rate, "seconds": seconds, "latency_rows": len(measured),
              "latency_p50_s": _percentile(measured, 0.50) if measured else None,
              "latency_p99_s": _percentile(measured, 0.99) if measured else None}
    storage.clear(cfg, (root,))
    kafka.delete_topics(cfg, [topic])
    return result


def _timed_start(spark, model, topic: str, root: str, cfg, rate: float, seconds: float, on_poll=None,
                 until_batches: int = 0, max_seconds: float = 180) -> list:
    """Start the pipeline (scoring with `model`, or not when None), feed it `rate` payments/s with
    card_id (2 % fraud) for `seconds`, then (with `until_batches`) two triggers more at a time until
    the output query has made that many batches with input (at most `max_seconds` of feeding in
    all); wait until it caught up, stop it. Returns the output query's batches that had input, in
    order: (triggerExecution s, rows, durationMs)."""
    run = pipeline.start(spark, topic=topic, root=root, cfg=cfg, score=model if model is not None else False)

    def with_input() -> list:
        return [p for p in run.output.recentProgress if p.numInputRows]

    try:
        fed, chunk = 0.0, seconds
        while True:
            feeder = _producer.produce_in_background(duration=chunk, rate=rate, topic=topic, fraud_ratio=0.02,
                                                     cfg=cfg)
            while feeder.running:  # a poll, bounded by the producer's duration
                if on_poll is not None:
                    on_poll()
                time.sleep(0.5)
            feeder.wait()
            fed += chunk
            chunk = 2 * pipeline.DEFAULT_TRIGGER_S
            if len(with_input()) >= until_batches or fed + chunk > max_seconds:
                break
        run.process_all_available()
    finally:
        run.stop()
    return [(p.durationMs["triggerExecution"] / 1000, p.numInputRows, dict(p.durationMs)) for p in with_input()]


def scoring_overhead(rate: float = 1000, batches: int = 24, rounds: int = 3, skip: int = 2, warmup: int = 8,
                     cfg: _config.LabConfig | None = None) -> dict:
    """A live micro-batch's duration without and with the fraud model, in the same run, in steady state.

    One topic, one pipeline folder (one checkpoint: the columns are the same with and without
    scoring). First one untimed warm-up start in each mode (plain, then scored), each fed until it
    made `warmup` + `skip` batches (a slow first batch makes the next ones fewer and bigger): the
    session's first queries pay for class loading, JIT and code generation, and the first scored
    one also for the model's code paths; a student sees that cost once, so it is reported apart
    (`warmup`), not mixed into the steady state. Then `rounds` timed
    starts in each mode, alternating (plain, scored, plain, scored ...), so that a drift of the
    shared machine falls on both. Each time, a producer sends payments with card_id (2 % fraud) at
    `rate` events/s until the start made `batches / rounds + skip` batches; the output query's
    batches are timed (triggerExecution), the first `skip` of each start left out (the start
    itself), and as many batches are taken from both starts of a round: both modes time the same
    number of batches (`batches`). The model: a
    small one trained here, on 6,000 generated payments (the score costs the same whatever the
    model learned). While scoring, the stack's resident memory is sampled: Kafka, MinIO, the Spark
    driver's JVM and this Python process.
    """
    cfg = cfg or _config.load()
    spark = get_spark(app_name="lab-bench", cfg=cfg)
    root = f"bench-runs/{uuid.uuid4().hex[:8]}"
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    kafka.ensure_topic(cfg, topic)
    span = timedelta(weeks=2)
    records = TransactionGenerator(seed=1, fraud_ratio=0.05, clock="simulated",
                                   start=datetime.now(timezone.utc) - span,
                                   events_per_second=6000 / span.total_seconds()).take(6000)
    history = training.with_labels(training.frame_from_records(spark, records, cfg.LAB_TIMEZONE),
                                   training.labels_from_records(spark, records)).cache()
    try:
        version = training.train(spark, root=root, cfg=cfg, history=history, max_iter=10).version
    finally:
        history.unpersist()
    t0 = time.monotonic()
    model = models.load(spark, version, root=root, cfg=cfg)
    model_load_s = time.monotonic() - t0
    driver_pid = spark._jvm.java.lang.ProcessHandle.current().pid()
    procs = services.status(cfg)["services"]
    pids = {"kafka": procs["kafka"]["pid"], "minio": procs["minio"]["pid"], "spark_driver": driver_pid,
            "python": os.getpid()}
    peak_rss: dict = {"total": 0.0}

    def sample_rss() -> None:
        nonlocal peak_rss
        rss = {k: _rss_mib(pid, "VmRSS") for k, pid in pids.items() if pid}
        total = sum(rss.values())
        if total > peak_rss["total"]:
            peak_rss = {**rss, "total": total}

    per_start = max(1, -(-batches // rounds))
    trigger = pipeline.DEFAULT_TRIGGER_S
    timed: dict[str, list] = {"plain": [], "scored": []}
    warm: dict[str, list] = {}
    try:
        for mode in ("plain", "scored"):
            got = _timed_start(spark, model if mode == "scored" else None, topic, root, cfg, rate,
                               (warmup + skip) * trigger + 1, sample_rss if mode == "scored" else None,
                               until_batches=warmup + skip)
            warm[mode] = [d for d, _rows, _ms in got]
        for _round in range(rounds):
            got = {mode: _timed_start(spark, model if mode == "scored" else None, topic, root, cfg, rate,
                                      (per_start + skip) * trigger + 1, sample_rss if mode == "scored" else None,
                                      until_batches=per_start + skip)[skip:skip + per_start]
                   for mode in ("plain", "scored")}
            n = min(len(got["plain"]), len(got["scored"]))  # the same number from both modes
            for mode in got:
                timed[mode].extend(got[mode][:n])
    finally:
        storage.clear(cfg, (root,))
        kafka.delete_topics(cfg, [topic, cfg.chargebacks_topic(topic)])
    med = statistics.median
    durations = {m: [d for d, _rows, _ms in v] for m, v in timed.items()}
    plain, scored = (med(durations[m]) for m in ("plain", "scored"))
    # Where a batch's time goes (Spark's durationMs), median per part, per mode.
    parts = {m: {k: med([ms.get(k, 0) for _d, _r, ms in v]) / 1000 for k in ("queryPlanning", "addBatch",
                                                                             "walCommit", "commitOffsets")}
             for m, v in timed.items()}
    return {"rate": rate, "rounds": rounds, "skipped_per_start": skip,
            "batches": {m: len(v) for m, v in durations.items()},
            "plain_batch_s": plain, "scored_batch_s": scored, "scoring_over_plain": scored / plain,
            "scoring_overhead": scored / plain - 1,
            "plain_spread": _spread(durations["plain"], digits=2), "scored_spread": _spread(durations["scored"], digits=2),
            "rows_per_batch": {m: med([r for _d, r, _ms in v]) for m, v in timed.items()},
            "parts_s": parts,
            # The one-off cost a student sees: the session's first start in each mode, batch by batch
            # (its first `skip` included), and how much longer its batches took in all than as many
            # batches of the steady state (the first plain start also pays for the session's queries).
            "warmup": {"model_load_s": model_load_s, "plain_batches_s": [round(d, 2) for d in warm["plain"]],
                       "scored_batches_s": [round(d, 2) for d in warm["scored"]],
                       "plain_extra_s": sum(warm["plain"]) - plain * len(warm["plain"]),
                       "scored_extra_s": sum(warm["scored"]) - scored * len(warm["scored"])},
            "rss_while_scoring_mib": peak_rss}


# --------------------------------------------------------------------------- scaling out (issue 20)

def producer_rf3_vs_rf1(runs: int = 5, n: int = 200_000, say=print) -> dict:
    """The bulk producer's rate (acks=all) into a topic with 3 replicas (min.insync.replicas=2) and
    into one with 1 replica, on the same three brokers, interleaved, median of `runs` each. The lab
    runs three brokers for the time of the measure (services.scale_out), then its configuration again."""
    records = TransactionGenerator(seed=1, start_id=1).take(n)
    results: dict[str, list[float]] = {"rf3": [], "rf1": []}
    services.scale_out(kafka_brokers=3, spark_workers=0, say=say)
    try:
        cfg = _config.load()
        topics = []
        try:
            for _ in range(runs):
                for name, factor in (("rf3", 3), ("rf1", 1)):
                    topic = f"bench-{name}-{uuid.uuid4().hex[:8]}"
                    topics.append(topic)
                    kafka.ensure_topic(cfg, topic, replication_factor=factor)
                    s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg)
                    if s.failed:
                        raise RuntimeError(f"benchmark data not fully produced: {s}")
                    results[name].append(s.acknowledged / s.seconds)
        finally:
            kafka.delete_topics(cfg, topics)
    finally:
        services.scale_back(say=say)
    return {name: _spread(values) for name, values in results.items()} | {"messages_per_run": n, "brokers": 3}


_CLUSTER_DRAIN = """
import json, sys
from lab_utils import bench
print(json.dumps(bench.cluster_drains(*json.loads(sys.argv[1]))), flush=True)
"""


def cluster_drains(topic: str, runs: int) -> dict:
    """In a process of its own (a JVM holds one SparkContext: the benchmark's is local): a session
    on the lab's standalone cluster drains `topic` with one worker, then with two, `runs` times,
    alternating. Returns the seconds of each drain and the tasks each executor ran."""
    cfg = _config.load()
    services.scale_out(spark_workers=1, say=lambda _line: None)
    spark = get_spark(app_name="lab-bench-cluster")
    result: dict = {"1": [], "2": [], "tasks": {"1": [], "2": []}}
    try:
        pipeline.wait_for_executors(spark, 1, master_ui=cfg.spark_master_ui)
        warm_topic, _ = _fresh_topic_with(cfg, 20_000, 0.01, seed=2)
        try:
            drain(spark, warm_topic, cfg)  # class loading and JIT, on the driver and the executor
        finally:
            kafka.delete_topics(cfg, [warm_topic])
        for _ in range(runs):
            for workers in (1, 2):
                services.scale_out(spark_workers=workers, say=lambda _line: None)
                pipeline.wait_for_executors(spark, workers, master_ui=cfg.spark_master_ui, exactly=True)
                before = {e["executor"]: e["completed_tasks"] for e in pipeline.executors(spark)}
                result[str(workers)].append(drain(spark, topic, cfg)["seconds"])
                result["tasks"][str(workers)].append(
                    {e["executor"]: e["completed_tasks"] - before.get(e["executor"], 0) for e in pipeline.executors(spark)})
    finally:
        spark.stop()
        services.scale_out(spark_workers=0, say=lambda _line: None)
    return result


def drain_one_vs_two_workers(n: int = 500_000, runs: int = 3, bad_ratio: float = 0.01,
                             cfg: _config.LabConfig | None = None) -> dict:
    """Drain n messages Kafka -> output/ on the standalone cluster with one worker, then two
    (1 core each), `runs` times alternating; events/s (median) and how the tasks split."""
    import json
    import subprocess
    import sys

    cfg = cfg or _config.load()
    topic, _ = _fresh_topic_with(cfg, n, bad_ratio)
    try:
        out = subprocess.run([sys.executable, "-c", _CLUSTER_DRAIN, json.dumps([topic, runs])], capture_output=True,
                             text=True, timeout=3600, cwd=_config.ROOT)
        if out.returncode:
            raise RuntimeError(f"the cluster drain failed: {out.stderr.strip()[-2000:]}")
        drains = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        kafka.delete_topics(cfg, [topic])
        services.up(say=lambda _line: None)  # the configured lab: no cluster unless LAB_SPARK_WORKERS says so
    return {"messages": n, "runs": runs, "seconds": {"1": drains["1"], "2": drains["2"]},
            "events_per_s": {w: _spread([n / s for s in drains[w]]) for w in ("1", "2")},
            "tasks_per_executor": drains["tasks"]}


def _rss_mib(pid: int, field: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of a process, in MiB."""
    from pathlib import Path

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _get_spark_seconds() -> float:
    """The first get_spark() in a fresh Python process."""
    import subprocess
    import sys

    code = ("import time; t = time.monotonic(); import lab_utils; s = lab_utils.get_spark(); "
            "print(time.monotonic() - t); s.stop()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=_config.ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def _stack_up_seconds(restart: bool) -> float:
    """`stack up` as a command: with restart, from stopped services (artifacts present); else already up."""
    import subprocess
    import sys

    if restart:
        subprocess.run([sys.executable, "-m", "lab_utils", "stack", "down"], capture_output=True, timeout=120,
                       cwd=_config.ROOT)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "lab_utils", "stack", "up"], capture_output=True, text=True,
                         timeout=600, cwd=_config.ROOT)
    if out.returncode:
        raise RuntimeError(out.stderr.strip())
    return time.monotonic() - t0


def run(quick: bool = False, say=print) -> dict:
    """Every figure of the benchmark (issue 8's keys), with the machine, versions and settings.

    quick: a small version that only proves the benchmark works (CI); its figures mean little.
    """
    import os
    import platform

    import pyspark

    cfg = services.require_services()
    report: dict = {"quick": quick, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    mem_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    report["machine"] = {"cores": os.cpu_count(), "memory_gib": round(mem_total, 1),
                         "platform": platform.platform(), "python": platform.python_version()}
    report["versions"] = {**services.versions(), "pyspark": pyspark.__version__}

    say("stack up (restart, then already up) ...")
    report["stack_up_s"] = _stack_up_seconds(restart=not quick)
    report["stack_up_already_up_s"] = _stack_up_seconds(restart=False)
    say("first get_spark() in a fresh process ...")
    report["get_spark_s"] = _get_spark_seconds()

    say("generator ...")
    report["generator_records_per_s"] = generator_rate(runs=1 if quick else 3, n=20_000 if quick else 100_000)["median"]
    say("producers ...")
    rates = producer_rates(runs=1 if quick else 5, n=20_000 if quick else 200_000,
                           naive_n=200 if quick else 2_000, cfg=cfg)
    report["producer_msgs_per_s"] = rates["bulk"]["median"]
    report["producer_naive_msgs_per_s"] = rates["kafka_python_naive"]["median"]
    report["producer_kafka_python_tuned_msgs_per_s"] = rates["kafka_python_tuned"]["median"]
    report["producer_detail"] = rates

    say("drain vs limit ...")
    n = 20_000 if quick else 1_000_000
    drained = drain_vs_limit(n=n, runs=1, local_checkpoint_too=not quick, cfg=cfg)
    report["drain_events_per_s"] = drained["drain_events_per_s"]
    report["limit_events_per_s"] = drained["limit_events_per_s"]
    report["drain_lake_events_per_s"] = drained["drain_lake_events_per_s"]
    report["lake_over_parquet"] = drained["lake_over_parquet"]
    report["drain_detail"] = drained

    say("the lake's files per 100k events, before and after OPTIMIZE ...")
    files = lake_files(n=10_000 if quick else 100_000, batch=500 if quick else 2_000, cfg=cfg)
    report["lake_files_per_100k_before"] = files["files_per_100k_before"]
    report["lake_files_per_100k_after"] = files["files_per_100k_after"]
    report["lake_files_detail"] = files

    say("latency at the default trigger ...")
    live = live_run(rate=200 if quick else 1000, seconds=8 if quick else 60, cfg=cfg)
    report["latency_p50_s"], report["latency_p99_s"] = live["latency_p50_s"], live["latency_p99_s"]
    report["first_batch_s"] = live["first_batch_s"]
    report["files_per_100k_events"] = live["files_per_100k_events"]
    report["live_detail"] = live

    say("a live micro-batch with and without the fraud model ...")
    scored = scoring_overhead(rate=200 if quick else 1000, batches=2 if quick else 24, warmup=2 if quick else 8,
                              rounds=1 if quick else 3, cfg=cfg)
    report["plain_batch_s"], report["scored_batch_s"] = scored["plain_batch_s"], scored["scored_batch_s"]
    report["scoring_over_plain"] = scored["scoring_over_plain"]
    report["scoring_detail"] = scored
    say("scaling out: producer RF3 vs RF1 on three brokers; drain on one Spark worker vs two ...")
    rf = producer_rf3_vs_rf1(runs=1 if quick else 5, n=20_000 if quick else 200_000, say=lambda _line: None)
    report["producer_rf3_msgs_per_s"] = rf["rf3"]["median"]
    report["producer_rf1_msgs_per_s"] = rf["rf1"]["median"]
    report["producer_replication_detail"] = rf
    if quick:  # see NOT_IN_QUICK
        report["drain_1_worker_events_per_s"] = report["drain_2_workers_events_per_s"] = None
    else:
        workers = drain_one_vs_two_workers(n=500_000, runs=3, cfg=cfg)
        report["drain_1_worker_events_per_s"] = workers["events_per_s"]["1"]["median"]
        report["drain_2_workers_events_per_s"] = workers["events_per_s"]["2"]["median"]
        report["drain_workers_detail"] = workers

    spark = get_spark(cfg=cfg)
    driver_pid = spark._jvm.java.lang.ProcessHandle.current().pid()
    procs = services.status(cfg)["services"]
    rss = {"kafka": _rss_mib(procs["kafka"]["pid"]) if procs["kafka"]["pid"] else None,
           "minio": _rss_mib(procs["minio"]["pid"]) if procs["minio"]["pid"] else None,
           "spark_driver": _rss_mib(driver_pid)}
    report["stack_rss_mib"] = {**rss, "total": sum(v for v in rss.values() if v)}
    archive = class_archive()
    report["settings"] = {"trigger_s": pipeline.DEFAULT_TRIGGER_S,
                          "max_offsets_per_trigger": pipeline.MAX_OFFSETS_PER_TRIGGER,
                          "spark": {k: v for k, v in spark_conf(cfg).items()
                                    if k.startswith(("spark.sql", "spark.driver.memory", "spark.master"))},
                          "kafka_heap": KAFKA_HEAP,
                          "driver_class_archive": str(archive) if archive and archive.exists() else None,
                          "producer_bulk": _producer.BULK_SETTINGS}
    return report


KEYS = ("generator_records_per_s", "producer_msgs_per_s", "producer_naive_msgs_per_s", "drain_events_per_s",
        "drain_lake_events_per_s", "lake_over_parquet", "lake_files_per_100k_before", "lake_files_per_100k_after",
        "limit_events_per_s",
        "latency_p50_s", "latency_p99_s", "get_spark_s", "stack_up_s", "first_batch_s", "stack_rss_mib",
        "files_per_100k_events", "plain_batch_s", "scored_batch_s", "scoring_over_plain",
        "producer_rf3_msgs_per_s", "producer_rf1_msgs_per_s", "drain_1_worker_events_per_s", "drain_2_workers_events_per_s")
# Left out of --quick (None there): the drain on one worker and on two is a cluster's start, two workers'
# and a second Spark session, minutes of CI that would prove nothing tests/services/test_scale_out.py
# does not (the pipeline on a two-worker cluster); the full bench measures it.
NOT_IN_QUICK = ("drain_1_worker_events_per_s", "drain_2_workers_events_per_s")


def format_report(r: dict) -> str:
    rss = r["stack_rss_mib"]
    lines = [
        f"machine: {r['machine']['cores']} cores, {r['machine']['memory_gib']} GiB; "
        f"Kafka {r['versions']['kafka']}, Spark {r['versions']['pyspark']}, MinIO {r['versions']['minio']}"
        + ("   (--quick: proves the benchmark runs; figures are not meaningful)" if r["quick"] else ""),
        f"generator (10 % bad)               {r['generator_records_per_s']:>12,.0f} records/s",
        f"producer (bulk, confluent-kafka)   {r['producer_msgs_per_s']:>12,.0f} msg/s",
        f"producer (kafka-python, tuned)     {r['producer_kafka_python_tuned_msgs_per_s']:>12,.0f} msg/s",
        f"producer (naive send+flush)        {r['producer_naive_msgs_per_s']:>12,.0f} msg/s",
        f"drain Kafka -> output/ (available) {r['drain_events_per_s']:>12,.0f} events/s",
        f"drain Kafka -> lake (--sink delta) {r['drain_lake_events_per_s']:>12,.0f} events/s"
        f"   lake/parquet {r['lake_over_parquet']:.2f} (same run)",
        f"lake files per 100k events         {r['lake_files_per_100k_before']:>12,.0f} -> "
        f"{r['lake_files_per_100k_after']:,.0f} after OPTIMIZE",
        f"limit (memory -> local Parquet)    {r['limit_events_per_s']:>12,.0f} events/s"
        f"   drain/limit {r['drain_events_per_s'] / r['limit_events_per_s']:.2f}",
        f"latency produce -> committed       p50 {r['latency_p50_s']:.2f} s, p99 {r['latency_p99_s']:.2f} s",
        f"first batch                        {r['first_batch_s']:>12.1f} s",
        f"get_spark() in a fresh process     {r['get_spark_s']:>12.1f} s",
        f"stack up                           {r['stack_up_s']:>12.1f} s (already up: {r['stack_up_already_up_s']:.1f} s)",
        f"peak RSS                           {rss['total']:>12,.0f} MiB (Kafka {rss['kafka'] or 0:,.0f}, "
        f"MinIO {rss['minio'] or 0:,.0f}, Spark driver {rss['spark_driver']:,.0f})",
        f"Parquet files per 100k events      {r['files_per_100k_events']:>12,.0f}",
        f"live batch, without / with --score {r['plain_batch_s']:>8.2f} s / {r['scored_batch_s']:.2f} s"
        f"   scored/plain {r['scoring_over_plain']:.2f} (same run, median per batch, "
        f"{r['scoring_detail']['batches']['scored']} batches each, after a warm-up start)",
        f"first scored start (warm-up)       {r['scoring_detail']['warmup']['scored_extra_s']:>+12.1f} s over the "
        f"steady state, model load {r['scoring_detail']['warmup']['model_load_s']:.1f} s",
        f"producer, 3 brokers, RF3 / RF1     {r['producer_rf3_msgs_per_s']:>12,.0f} / "
        f"{r['producer_rf1_msgs_per_s']:,.0f} msg/s (acks=all, min.insync.replicas 2 / 1)",
        (f"drain on 1 worker / 2 workers      {r['drain_1_worker_events_per_s']:>12,.0f} / "
         f"{r['drain_2_workers_events_per_s']:,.0f} events/s (1 core each; tasks per executor "
         f"{r['drain_workers_detail']['tasks_per_executor']['2'][-1]})"
         if r["drain_1_worker_events_per_s"] is not None else
         "drain on 1 worker / 2 workers      not measured by --quick (the full bench does)"),
    ]
    return "\n".join(lines)
