"""The streaming queries (the seed's `consumer_spark.py` run for real): Kafka -> Spark -> Parquet on MinIO.

`start()` runs two queries over the same topic, one per sink, each with its own checkpoint:

    s3a://LAB_BUCKET/output/                 valid rows, partitioned by event_date
    s3a://LAB_BUCKET/rejected/               every other message, with its reason
    s3a://LAB_BUCKET/checkpoint/output/      checkpoint of the "output" query
    s3a://LAB_BUCKET/checkpoint/rejected/    checkpoint of the "rejected" query

Both apply the same deterministic transformations (lab_utils.pipeline.transform) to the same
Kafka offsets, so every message lands in exactly one of the two folders. With `score=True` the
output query also applies the newest fraud model (lab_utils.pipeline.scoring.score): the same
columns, with fraud_score and model_version filled in instead of null. Spark's file sink
commits each batch in `_spark_metadata` together with the checkpoint, so a crash and restart
writes nothing twice (readers must trust `_spark_metadata`: see lab_utils.clients.storage).
Before starting, the checkpoint guards (lab_utils.pipeline.checkpoint) refuse what would
break exactly-once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from .. import config as _config
from .. import i18n, messages
from ..clients import kafka, storage
from ..errors import LabError, NotSetUp
from . import checkpoint as _checkpoint
from . import models
from .failures import explain_failure
from .progress import attach_progress
from .scoring import score as apply_model
from .session import get_spark
from .transform import classify, to_output, to_rejected

OUTPUT_QUERY = "output"
REJECTED_QUERY = "rejected"
# Trigger interval of a running pipeline, in seconds, unless told otherwise.
DEFAULT_TRIGGER_S = 2.0
# Bound the work of one micro-batch (memory on a laptop); availableNow splits a backlog into
# batches of this size too.
MAX_OFFSETS_PER_TRIGGER = 250_000

_ = i18n.catalog(__name__, {
    "not_running": {
        "en": "query {name} is not running: start the pipeline again with pipeline.start()",
        "fr": "la requête {name} ne tourne pas : relancez le pipeline avec pipeline.start()",
    },
    "behind": {
        "en": "after {seconds} s the queries are still behind the topic by {behind} messages: look at the progress "
              "panel or the Spark UI (http://127.0.0.1:4040), or wait again with a longer timeout_s",
        "fr": "après {seconds} s, les requêtes ont encore {behind} messages de retard sur le topic : regardez le "
              "panneau de progression ou l'interface de Spark (http://127.0.0.1:4040), ou attendez de nouveau avec "
              "un timeout_s plus long",
    },
})


def kafka_source(spark, topic: str | None = None, cfg: _config.LabConfig | None = None,
                 starting_offsets: str = "earliest", max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER,
                 min_partitions: int | None = None):
    """The topic as a streaming DataFrame (Kafka's columns: key, value, topic, partition, offset, timestamp).

    `failOnDataLoss` stays on: if messages vanish from Kafka before the query read them
    (retention, a recreated topic), the query fails loudly instead of skipping them.
    """
    cfg = cfg or _config.load()
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", cfg.KAFKA_BOOTSTRAP_SERVERS)
              .option("subscribe", topic or cfg.KAFKA_TOPIC)
              .option("startingOffsets", starting_offsets)
              .option("failOnDataLoss", "true"))
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    if min_partitions:  # split each Kafka partition's range into several tasks (the lake's backlog)
        reader = reader.option("minPartitions", str(min_partitions))
    return reader.load()


@dataclass
class Pipeline:
    """The two running queries. `stop()` stops both; use it as a context manager in notebooks."""

    output: object
    rejected: object
    progress: object | None = None
    keepalive: object | None = field(default=None, repr=False)  # checkpoint.KeepAlive of its locks
    spark: object | None = field(default=None, repr=False)      # the SparkSession the queries run in
    model: object | None = None  # the models.FraudModel the output query scores with, if any

    @property
    def queries(self) -> list:
        return [self.output, self.rejected]

    def stop(self) -> None:
        for q in self.queries:
            if q.isActive:
                q.stop()
        if self.keepalive is not None:
            self.keepalive.close()  # releases the checkpoint locks
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.progress is not None:
            self.progress.catch_up(self.queries)
            self.progress.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for both queries to end (availableNow); True if they did within the timeout."""
        from pyspark.errors import StreamingQueryException

        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        try:
            for q in self.queries:
                if deadline is None:
                    q.awaitTermination()  # returns None, not a bool, without a timeout
                elif not q.awaitTermination(max(0.0, deadline - time.monotonic())):
                    return False
        except StreamingQueryException:
            pass  # a query failed: explained below, in the lab's words
        self._raise_failure()
        return True

    def wait_until_caught_up(self, timeout_s: float = 120.0, topic: str | None = None,
                             cfg: _config.LabConfig | None = None) -> dict[int, int]:
        """Wait until both queries have committed everything the topic held when called.

        Bounded: raises LabError after `timeout_s`, saying how far behind the queries are.
        Returns the offsets reached, per partition.
        """
        cfg = cfg or _config.load()
        target = kafka.end_offsets(topic, cfg)
        deadline = time.monotonic() + timeout_s
        while True:
            behind = {}
            for q in self.queries:
                if q.exception() is not None:  # in the lab's words, not Spark's trace
                    raise explain_failure(q, cfg) from q.exception()
                if not q.isActive:
                    raise LabError(_("not_running", name=q.name))
                done = committed_offsets(q)
                late = {p: end - done.get(p, 0) for p, end in target.items() if done.get(p, 0) < end}
                if late:
                    behind[q.name] = sum(late.values())
            if not behind:
                return target
            if time.monotonic() > deadline:
                raise LabError(_("behind", seconds=f"{timeout_s:.0f}", behind=behind))
            time.sleep(0.2)  # a poll interval, not a fixed wait: the loop ends as soon as they caught up

    def process_all_available(self) -> None:
        """Block until everything currently in Kafka has been processed by both queries."""
        from pyspark.errors import StreamingQueryException

        try:
            for q in self.queries:
                q.processAllAvailable()
        except StreamingQueryException:
            self._raise_failure()
            raise

    def _raise_failure(self) -> None:
        """Raise the first failed query's error, explained (errors.QueryFailed), if one failed."""
        for q in self.queries:
            failure = explain_failure(q)
            if failure is not None:
                raise failure from q.exception()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# Pipelines this process started and has not stopped: `stop()` finds them without a reference.
_RUNNING: list[Pipeline] = []


def track(run: Pipeline) -> Pipeline:
    """Remember a started pipeline so that `stop()` finds it (the lake's pipeline registers here too)."""
    _RUNNING.append(run)
    return run


def stop() -> int:
    """Stop every pipeline this session started (when the cell's `run` variable is lost). Returns how many."""
    running = list(_RUNNING)
    for run in running:
        run.stop()
    return len(running)


def start(spark=None, available_now: bool = False, trigger_s: float = DEFAULT_TRIGGER_S,
          topic: str | None = None, root: str = "", progress: bool | str = False,
          checkpoint_root: str | None = None, cfg: _config.LabConfig | None = None,
          max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER, app_name: str | None = None,
          score=False) -> Pipeline:
    """Start the pipeline: two queries (output/ and rejected/), each with its own checkpoint.

    available_now: process what Kafka holds, then stop (trigger availableNow); otherwise a
    micro-batch every `trigger_s` seconds until `stop()`.
    root: a folder inside the bucket to hold output/, rejected/ and checkpoint/ (tests use one).
    progress: show live progress (True: a panel in notebooks, one line per batch in terminals).
    checkpoint_root: put the checkpoints elsewhere (the benchmark compares a local disk);
    by default they live next to the data, in s3a://LAB_BUCKET/<root>/checkpoint/.
    max_offsets_per_trigger: at most this many Kafka messages per micro-batch.
    app_name: the Spark application's name when `spark` is None and a session must be created.
    score: True to add the newest fraud model's fraud_score and model_version to every valid row
    (models under `<root>/models/fraud/`; errors.ModelMissing, naming the fix, when there is none),
    or a loaded models.FraudModel. The columns are the same either way (null without a model), so
    one checkpoint may run with and without scoring. A batch replayed after a crash is scored by
    the model loaded at the restart, so its rows may name a newer version: still once each.

    Refuses, before any query (or, without `spark`, the session) starts, with one line naming the
    fix: a rates file with a bad line (errors.ConfigError), a topic that does not exist, a bucket
    the lab's key may not use (errors.NotSetUp), and what would break exactly-once
    (errors.PipelineRefused): a checkpoint out of step with its output folder, a checkpoint another
    running query uses (this session or another process), a checkpoint written for a since
    re-created topic. See lab_utils.pipeline.checkpoint.
    """
    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    # Checked before anything starts, so a mistake is one line, not a query that fails (or
    # commits half its batches) later: Spark would report a missing topic as
    # UnknownTopicOrPartitionException mid-query, a refused S3 key as a 403 inside a task.
    rates = messages.load_rates()
    current_topic_id = kafka.topic_id(cfg, topic)
    # No id also while a topic created a moment ago has no leader yet: only a missing name is refused.
    if current_topic_id is None and topic not in kafka.list_topics(cfg):
        raise NotSetUp(kafka.topic_missing_message(cfg, topic))
    storage.require_bucket(cfg)
    # Query names are unique per session; a test folder gets its own.
    names = {name: name if not root else f"{name}-{root.replace('/', '-')}" for name in (OUTPUT_QUERY, REJECTED_QUERY)}
    outputs = {name: cfg.s3a_path(root, name) for name in names}
    checkpoints = {name: f"{checkpoint_root.rstrip('/')}/{name}" if checkpoint_root
                   else cfg.s3a_path(root, "checkpoint", name) for name in names}
    started: dict = {}
    # Lock first (so a running twin is reported as such), then check the logs it cannot change.
    locks = []
    tracker = None
    try:
        for name in names:
            lock = _checkpoint.CheckpointLock(checkpoints[name], names[name], cfg)
            running = (lambda n: lambda: n not in started or started[n].isActive)(name)
            lock.acquire(running)
            locks.append((lock, running))
        for name in names:
            _checkpoint.check_in_step(outputs[name], checkpoints[name], cfg)
            _checkpoint.check_topic(checkpoints[name], topic, cfg, current_id=current_topic_id)
        spark = spark or get_spark(app_name=app_name, cfg=cfg)
        model = models.load(spark, root=root, cfg=cfg) if score is True else (score or None)
    except BaseException:
        for lock, _running in locks:
            lock.release()
        raise
    source = kafka_source(spark, topic, cfg, max_offsets_per_trigger=max_offsets_per_trigger)
    if not available_now and spark.sparkContext.master.startswith("local"):
        # A live micro-batch is small (2,000 rows at 1,000 events/s) and its tasks mostly wait
        # (Kafka fetch, S3 PUT): one task per query instead of one per Kafka partition lets the
        # two queries run side by side on 2 cores instead of in two waves, and writes one file
        # per batch instead of three. Measured (bench live run): a batch 1.8 s -> 1.2 s, latency
        # p50 3.0 s -> 2.4 s, files per 100k events 161 -> 54. A backlog (availableNow) keeps
        # one task per partition: there the parsing is the work, and it needs every core. So does
        # a cluster (SPARK_MASTER spark://...): there one task per query ran on the executor that
        # holds the Kafka consumers, and a worker that joined got no task (lesson 09).
        source = source.coalesce(1)
    checked = classify(source, rates)
    valid = to_output(checked, cfg.LAB_TIMEZONE)
    sinks = {
        OUTPUT_QUERY: observe_output(apply_model(valid, model) if model is not None else valid),
        REJECTED_QUERY: observe_rejected(to_rejected(checked)),
    }
    if progress:
        tracker = attach_progress(spark, list(names.values()), mode="auto" if progress is True else progress)
    try:
        for name, df in sinks.items():
            writer = (df.writeStream.format("parquet")
                      .queryName(names[name])
                      .option("path", outputs[name])
                      .option("checkpointLocation", checkpoints[name])
                      .outputMode("append"))
            if name == OUTPUT_QUERY:
                writer = writer.partitionBy("event_date")
            writer = writer.trigger(availableNow=True) if available_now else writer.trigger(
                processingTime=f"{trigger_s} seconds")
            started[name] = writer.start()
    except BaseException:
        for q in started.values():
            q.stop()
        for lock, _running in locks:
            lock.release()
        if tracker is not None:
            tracker.close()
        raise
    run = Pipeline(output=started[OUTPUT_QUERY], rejected=started[REJECTED_QUERY], progress=tracker,
                   keepalive=_checkpoint.KeepAlive(locks), spark=spark, model=model)
    _RUNNING.append(run)
    return run


def committed_offsets(query) -> dict[int, int]:
    """Per Kafka partition, the offset up to which the query's last batch is committed."""
    progress = query.lastProgress
    offsets: dict[int, int] = {}
    for source in (progress.sources if progress is not None else []):
        end = json.loads(source.endOffset) if isinstance(source.endOffset, str) else (source.endOffset or {})
        for partitions in end.values():
            for partition, offset in partitions.items():
                offsets[int(partition)] = int(offset)
    return offsets


def observe_output(df):
    """Count written rows per batch (shown by the live progress)."""
    from pyspark.sql import functions as F

    return df.observe("written", F.count(F.lit(1)).alias("rows"))


def observe_rejected(df):
    """Count rejected rows per reason per batch (shown by the live progress)."""
    from pyspark.sql import functions as F

    return df.observe("rejected", *[F.count_if(F.col("reason") == code).alias(code)
                                    for code in messages.REJECT_REASONS])
