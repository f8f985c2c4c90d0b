"""The streaming pipeline (the seed's `consumer_spark.py`): Kafka -> Spark -> Parquet on MinIO.

The transformations are plain DataFrame functions, so they can be tried on a small batch
DataFrame in a notebook cell or a unit test, then used unchanged on the stream:

    raw = kafka_source(spark)               # key, value (bytes), partition, offset, ...
    checked = classify(raw)                 # + parsed fields and `reason` (null when valid)
    valid = to_output(checked)              # the output/ columns (CONTRACT.md)
    rejected = to_rejected(checked)         # the rejected/ columns: raw_value + reason

`start()` runs two queries over the same topic, one per sink, each with its own checkpoint:

    s3a://LAB_BUCKET/output/                 valid rows, partitioned by event_date
    s3a://LAB_BUCKET/rejected/               every other message, with its reason
    s3a://LAB_BUCKET/checkpoint/output/      checkpoint of the "output" query
    s3a://LAB_BUCKET/checkpoint/rejected/    checkpoint of the "rejected" query

Both apply the same deterministic `classify()` to the same Kafka offsets, so every message
lands in exactly one of the two folders. Spark's file sink commits each batch in
`_spark_metadata` together with the checkpoint, so a crash and restart writes nothing twice
(readers must trust `_spark_metadata`: see lab_utils.storage).

The reject reasons, in the order they are checked, are `lab_utils.messages.REJECT_REASONS`;
`lab_utils.messages.verdict()` is the plain-Python reference the tests compare against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import checkpoint as _checkpoint
from . import config as _config
from . import messages
from .errors import DataLoss, QueryFailed

OUTPUT_QUERY = "output"
REJECTED_QUERY = "rejected"
# Trigger interval of a running pipeline, in seconds, unless told otherwise.
DEFAULT_TRIGGER_S = 2.0
# Bound the work of one micro-batch (memory on a laptop); availableNow splits a backlog into
# batches of this size too.
MAX_OFFSETS_PER_TRIGGER = 250_000

# JSON parsing options shared by every parse. Spark's defaults accept single quotes; the
# contract's messages are strict JSON, so a single-quoted message is malformed_json.
# Jackson's limits are pinned, not left to a Spark upgrade, because messages.verdict() applies
# the same ones; the depth gets one more level for the "[...]" that classify() wraps around.
JSON_OPTIONS = {"allowSingleQuotes": "false", "mode": "PERMISSIVE",
                "maxNestingDepth": str(messages.MAX_NESTING_DEPTH + 1),
                "maxNumLen": str(messages.MAX_NUMBER_DIGITS)}
# The instants a valid timestamp may name (messages.MIN_INSTANT / MAX_INSTANT), as UTC literals.
MIN_EVENT_TIME = messages.MIN_INSTANT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
MAX_EVENT_TIME = messages.MAX_INSTANT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

_BOM = b"\xef\xbb\xbf"


def kafka_source(spark, topic: str | None = None, cfg: _config.LabConfig | None = None,
                 starting_offsets: str = "earliest", max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER):
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
    return reader.load()


def rates_map(rates: dict[str, float] | None = None):
    """data/exchange_rates.csv as a literal Spark map column: devise -> taux_eur."""
    from pyspark.sql import functions as F

    rates = rates if rates is not None else messages.load_rates()
    return F.create_map(*[x for code, rate in sorted(rates.items()) for x in (F.lit(code), F.lit(float(rate)))])


def classify(raw, rates: dict[str, float] | None = None):
    """Parse and validate Kafka records: adds the typed fields and `reason` (null = valid).

    Input: a DataFrame with Kafka's `value` (binary), `partition` and `offset` columns.
    Each row gets exactly one reason, the first of messages.REJECT_REASONS that applies:
    the same rules as messages.verdict().
    """
    from pyspark.sql import functions as F

    fields = messages.FIELDS
    text = F.col("value").cast("string")
    df = raw.withColumn("_text", text)
    # 1. One parse to a map tells what is present (missing vs null, duplicated) and whether
    #    the value is a JSON object at all. The value is parsed inside "[...]" because
    #    Spark's JSON reader stops after the first object and would accept `{...} trailing`.
    wrapped = F.from_json(F.concat(F.lit("["), F.col("_text"), F.lit("]")), "array<map<string,string>>",
                          JSON_OPTIONS)
    # ... but the reader also stops at the first "]" that closes the wrapper, so `{...}] junk`
    # would pass as one object. A second wrapper with one more element tells them apart: only a
    # text that is exactly one JSON value gives 1 element in "[text]" AND 2 in "[text,0]"; a text
    # that closes the wrapper early gives the same count in both.
    # That second parse is the costliest of all (it turns the object back into text), and only a
    # text holding a "]" can close the wrapper early: without one, the wrapper's own "]" is the
    # first, so the first parse alone is exact (the CASE skips the second).
    sentinel = F.from_json(F.concat(F.lit("["), F.col("_text"), F.lit(",0]")), "array<string>", JSON_OPTIONS)
    one_value = F.when(~F.col("_text").contains("]"), F.lit(True)).otherwise(F.size(sentinel) == 2)
    # Each parse is its own column, so Spark evaluates it once per row, not once per use.
    df = df.withColumn("_wrapped", wrapped)
    df = df.withColumn("_fields", F.when((F.size("_wrapped") == 1) & one_value,
                                         F.try_element_at("_wrapped", F.lit(1))))
    # 2. One typed parse: a field whose JSON type is wrong (12.0 or "12" for a long, "100"
    #    for a double) comes back null on its own, the other fields still parse
    #    (spark.sql.json.enablePartialResults).
    df = df.withColumn("_typed", F.from_json(
        "_text", "transaction_id LONG, montant DOUBLE, devise STRING, timestamp STRING", JSON_OPTIONS))

    present = F.map_keys("_fields")
    missing = F.lit(False)
    null_field = F.lit(False)
    for name in fields:
        missing = missing | ~F.array_contains(present, name)
        null_field = null_field | F.try_element_at("_fields", F.lit(name)).isNull()

    transaction_id = F.col("_typed.transaction_id")
    montant = F.col("_typed.montant")
    devise = F.upper(F.trim(F.col("_typed.devise")))
    taux = F.try_element_at(rates_map(rates), devise)
    ts_text = F.col("_typed.timestamp")
    # Strict ISO 8601 shape first (Spark's cast alone also takes "2026-11-27" or "2026-11-27T22"),
    # then try_cast to name a real instant: 2026-02-30 or hour 25 become null, not an error.
    ts_shape = ts_text.rlike(f"^(?:{messages.TIMESTAMP_PATTERN})\\z")
    df = df.withColumn("_event_time", F.expr("try_cast(regexp_replace(_typed.timestamp, '^(.{10}) ', '$1T') AS TIMESTAMP)"))
    event_time = F.col("_event_time")

    reason = (
        F.when(F.col("value").isNull(), "null_message")
        .when(F.length("value") == 0, "empty_message")
        .when(~F.expr("is_valid_utf8(_text)"), "not_utf8")
        .when(F.col("value").startswith(F.lit(_BOM)) | F.col("_fields").isNull(), "malformed_json")
        # Spark's JSON map keeps both copies of a duplicated key (and returns the first).
        .when(F.size(present) != F.size(F.array_distinct(present)), "duplicate_field")
        .when(missing, "missing_field")
        .when(null_field, "null_field")
        .when(transaction_id.isNull() | (transaction_id <= 0), "invalid_transaction_id")
        .when(montant.isNull() | F.isnan(montant) | (F.abs(montant) == float("inf")) | (montant <= 0),
              "invalid_montant")
        .when(taux.isNull(), "unknown_currency")
        .when(~ts_shape | event_time.isNull()
              | (event_time < F.lit(MIN_EVENT_TIME).cast("timestamp"))
              | (event_time > F.lit(MAX_EVENT_TIME).cast("timestamp")), "invalid_timestamp")
    )
    return (df.withColumn("reason", reason)
              .withColumn("transaction_id", transaction_id)
              .withColumn("montant", montant)
              .withColumn("devise", devise)
              .withColumn("taux_eur", taux)
              .withColumn("event_time", event_time))


def to_output(checked, timezone: str | None = None):
    """Valid rows with the output/ columns of CONTRACT.md: EUR amount, instant, local time, date."""
    from pyspark.sql import functions as F

    tz = timezone or _config.load().LAB_TIMEZONE
    # montant * taux in decimal, then half-up to cents: doubles would round 1.005 EUR down.
    # decimal(38,12) holds amounts below 10^26; a valid larger one (CONTRACT: any finite number
    # > 0) is converted in doubles, where cents mean nothing, instead of failing the query
    # (ANSI casts raise on overflow, and one such message would stop the stream for good).
    exact = F.try_multiply(F.expr("try_cast(montant AS decimal(38,12))"), F.expr("try_cast(taux_eur AS decimal(38,12))"))
    montant_eur = F.coalesce(F.round(exact, 2).cast("double"), F.round(F.col("montant") * F.col("taux_eur"), 2))
    # The wall clock in `tz`: shift the instant, then drop the zone (the session zone is UTC).
    local = F.from_utc_timestamp("event_time", tz).cast("timestamp_ntz")
    return (checked.where(F.col("reason").isNull())
            .select(
                F.col("transaction_id").cast("long"),
                "montant",
                "devise",
                "taux_eur",
                montant_eur.alias("montant_eur"),
                "event_time",
                F.lit(tz).alias("timezone"),
                local.alias("event_time_local"),
                F.to_date(local).alias("event_date"),
                F.col("partition").cast("int").alias("kafka_partition"),
                F.col("offset").cast("long").alias("kafka_offset"),
                _ingest_time().alias("ingest_time"),
            ))


def _ingest_time():
    """The moment Spark reads each row (CONTRACT: ingest_time), in milliseconds.

    Not `current_timestamp()`: a stream replaces it with each batch's time as a constant, which
    Spark writes into the generated Java code, so every micro-batch compiled the whole query's
    code again (and the JVM never got to optimise it). Reading the clock per row keeps the code
    identical from batch to batch.
    """
    from pyspark.sql import functions as F

    return F.expr("timestamp_millis(cast(reflect('java.lang.System', 'currentTimeMillis') AS BIGINT))")


def to_rejected(checked):
    """Rejected rows: the message as received (text; the exact bytes too), its reason, its origin."""
    from pyspark.sql import functions as F

    return (checked.where(F.col("reason").isNotNull())
            .select(
                F.expr("make_valid_utf8(_text)").alias("raw_value"),
                "reason",
                F.col("partition").cast("int").alias("kafka_partition"),
                F.col("offset").cast("long").alias("kafka_offset"),
                _ingest_time().alias("ingest_time"),
                F.col("key").cast("string").alias("kafka_key"),
                F.col("value").alias("raw_bytes"),
            ))


@dataclass
class Pipeline:
    """The two running queries. `stop()` stops both; use it as a context manager in notebooks."""

    output: object
    rejected: object
    progress: object | None = None
    keepalive: object | None = field(default=None, repr=False)  # checkpoint.KeepAlive of its locks

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
        import time

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
        import time

        from .errors import LabError
        from .producer import end_offsets

        cfg = cfg or _config.load()
        target = end_offsets(topic, cfg)
        deadline = time.monotonic() + timeout_s
        while True:
            behind = {}
            for q in self.queries:
                if q.exception() is not None:
                    raise q.exception()
                if not q.isActive:
                    raise LabError(f"query {q.name} is not running: start the pipeline again with pipeline.start()")
                done = committed_offsets(q)
                late = {p: end - done.get(p, 0) for p, end in target.items() if done.get(p, 0) < end}
                if late:
                    behind[q.name] = sum(late.values())
            if not behind:
                return target
            if time.monotonic() > deadline:
                raise LabError(f"after {timeout_s:.0f} s the queries are still behind the topic by {behind} "
                               "messages: look at the progress panel or the Spark UI (http://127.0.0.1:4040), "
                               "or wait again with a longer timeout_s")
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


def stop() -> int:
    """Stop every pipeline this session started (when the cell's `run` variable is lost). Returns how many."""
    running = list(_RUNNING)
    for run in running:
        run.stop()
    return len(running)


def start(spark=None, available_now: bool = False, trigger_s: float = DEFAULT_TRIGGER_S,
          topic: str | None = None, root: str = "", progress: bool | str = False,
          checkpoint_root: str | None = None, cfg: _config.LabConfig | None = None,
          max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER) -> Pipeline:
    """Start the pipeline: two queries (output/ and rejected/), each with its own checkpoint.

    available_now: process what Kafka holds, then stop (trigger availableNow); otherwise a
    micro-batch every `trigger_s` seconds until `stop()`.
    root: a folder inside the bucket to hold output/, rejected/ and checkpoint/ (tests use one).
    progress: show live progress (True: a panel in notebooks, one line per batch in terminals).
    checkpoint_root: put the checkpoints elsewhere (the benchmark compares a local disk);
    by default they live next to the data, in s3a://LAB_BUCKET/<root>/checkpoint/.
    max_offsets_per_trigger: at most this many Kafka messages per micro-batch.

    Refuses (errors.PipelineRefused, naming the fix) to start what would break exactly-once:
    a checkpoint out of step with its output folder, a checkpoint another running query uses
    (this session or another process), a checkpoint written for a since re-created topic.
    See lab_utils.checkpoint.
    """
    from .session import get_spark
    from .progress import attach_progress

    cfg = cfg or _config.load()
    spark = spark or get_spark(cfg=cfg)
    topic = topic or cfg.KAFKA_TOPIC
    source = kafka_source(spark, topic, cfg, max_offsets_per_trigger=max_offsets_per_trigger)
    if not available_now:
        # A live micro-batch is small (2,000 rows at 1,000 events/s) and its tasks mostly wait
        # (Kafka fetch, S3 PUT): one task per query instead of one per Kafka partition lets the
        # two queries run side by side on 2 cores instead of in two waves, and writes one file
        # per batch instead of three. Measured (bench live run): a batch 1.8 s -> 1.2 s, latency
        # p50 3.0 s -> 2.4 s, files per 100k events 161 -> 54. A backlog (availableNow) keeps
        # one task per partition: there the parsing is the work, and it needs every core.
        source = source.coalesce(1)
    checked = classify(source)
    sinks = {
        OUTPUT_QUERY: observe_output(to_output(checked, cfg.LAB_TIMEZONE)),
        REJECTED_QUERY: observe_rejected(to_rejected(checked)),
    }
    # Query names are unique per session; a test folder gets its own.
    names = {name: name if not root else f"{name}-{root.replace('/', '-')}" for name in sinks}
    outputs = {name: cfg.s3a_path(root, name) for name in sinks}
    checkpoints = {name: f"{checkpoint_root.rstrip('/')}/{name}" if checkpoint_root
                   else cfg.s3a_path(root, "checkpoint", name) for name in sinks}
    started: dict = {}
    # Lock first (so a running twin is reported as such), then check the logs it cannot change.
    locks = []
    tracker = None
    try:
        for name in sinks:
            lock = _checkpoint.CheckpointLock(checkpoints[name], names[name], cfg)
            running = (lambda n: lambda: n not in started or started[n].isActive)(name)
            lock.acquire(running)
            locks.append((lock, running))
        current_topic_id = _checkpoint.topic_id(cfg, topic)
        for name in sinks:
            _checkpoint.check_in_step(outputs[name], checkpoints[name], cfg)
            _checkpoint.check_topic(checkpoints[name], topic, cfg, current_id=current_topic_id)
    except BaseException:
        for lock, _ in locks:
            lock.release()
        raise
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
        for lock, _ in locks:
            lock.release()
        if tracker is not None:
            tracker.close()
        raise
    run = Pipeline(output=started[OUTPUT_QUERY], rejected=started[REJECTED_QUERY], progress=tracker,
                   keepalive=_checkpoint.KeepAlive(locks))
    _RUNNING.append(run)
    return run


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "===", "Traceback")):
            return line[:500]
    return text.strip()[:500]


def explain_failure(query, cfg: _config.LabConfig | None = None) -> QueryFailed | None:
    """The error of a stopped query in the lab's words, naming the fix; None if it did not fail.

    Spark's own messages are long JVM traces; a student reads the last line, so it must say
    what happened to the stack and what to run.
    """
    exc = query.exception()
    return None if exc is None else explain_error(exc, query.name or "query", cfg)


def explain_error(exc: BaseException, name: str = "query", cfg: _config.LabConfig | None = None) -> QueryFailed:
    """Spark's error `exc` from query `name`, in the lab's words (see explain_failure)."""
    cfg = cfg or _config.load()
    spark_said = _first_line(str(exc))
    text = _error_text(exc)
    if re.search(r"failOnDataLoss|data may have been lost|some data may have been missed|OffsetOutOfRangeException",
                 text, re.I):
        return DataLoss(
            f"query {name} stopped: Kafka no longer holds messages it had not read yet (the topic was deleted "
            f"and created again, or retention removed them), so exactly-once cannot hold. Nothing was skipped: "
            f"{_checkpoint.FIX_RESET}. (Spark said: {spark_said})")
    host, port = cfg.s3_host_port
    # One line must name both the S3 side and the network failure: a Kafka timeout inside a task
    # that writes to s3a:// is not MinIO's fault.
    s3_down = re.compile(rf"({re.escape(host)}:{port}|AmazonS3|AWSClientIOException|SdkClientException)"
                         r".*(refused|Unable to execute HTTP request|timed out|UnknownHost|Service Unavailable)", re.I)
    if s3_down.search(text):
        return QueryFailed(
            f"query {name} stopped: MinIO is not reachable at {cfg.AWS_ENDPOINT_URL}: start it "
            f"(`python -m lab_utils stack up`), then start the pipeline again; it resumes from its checkpoint "
            f"and writes nothing twice. (Spark said: {spark_said})")
    if re.search(r"kafka.*(Timeout|timed out|not available|disconnected)", text, re.I):
        return QueryFailed(
            f"query {name} stopped: Kafka did not answer at {cfg.KAFKA_BOOTSTRAP_SERVERS}: check "
            f"`python -m lab_utils stack status`, then start the pipeline again; it resumes from its checkpoint. "
            f"(Spark said: {spark_said})")
    return QueryFailed(f"query {name} failed: {spark_said} (the Spark UI and the driver's log have the details; "
                       "the pipeline resumes from its checkpoint when started again)")


def _error_text(exc) -> str:
    """The messages of a Spark error and of all its causes, one per line, to search.

    A write that fails inside a task can reach the driver as just [TASK_WRITE_FAILED]; what went
    wrong (MinIO refused the connection) is only in a cause. PySpark keeps the JVM cause chain as
    `_cause` (CapturedException has no public accessor in 4.2); a Python error uses __cause__.
    """
    messages, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        messages.append(str(exc))
        exc = getattr(exc, "_cause", None) or exc.__cause__
    return "\n".join(messages)


def committed_offsets(query) -> dict[int, int]:
    """Per Kafka partition, the offset up to which the query's last batch is committed."""
    import json

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
