"""The lake's pipeline: ONE streaming query that reads each Kafka message once, classifies it once,
and writes the bronze, silver and gold Delta tables in the same micro-batch, exactly once.

    s3a://LAB_BUCKET/lake/bronze/transactions            every Kafka record as received
    s3a://LAB_BUCKET/lake/silver/transactions            the valid rows (the columns of output/)
    s3a://LAB_BUCKET/lake/silver/rejected                the other messages, with their reason
    s3a://LAB_BUCKET/lake/gold/eur_by_currency_hour      EUR totals per local date, hour and currency
    s3a://LAB_BUCKET/checkpoint/lake/                    the query's checkpoint

`start_lake()` runs it (`python -m lab_utils stream --sink delta`). Each micro-batch goes to
`foreachBatch`, which keeps the batch in memory and writes the four tables from it, one Delta
commit each. Every write carries `txnAppId` = the query's id (kept in its checkpoint) and
`txnVersion` = the batch id: when a crash makes Spark run batch N again, Delta sees that this
query already committed N to a table and writes nothing to it, so a table is never written
twice and never misses a batch. The guards of lab_utils.pipeline.checkpoint refuse what would
break that (a checkpoint without its tables or the reverse, two queries on one checkpoint).

Gold is small (one row per local date, hour and currency), so each batch rewrites it whole:
the previous version plus the batch's totals (medallion.add_to_gold). A MERGE would touch fewer
rows but costs several Spark jobs per batch; see issue 18's note.

Maintenance: `optimize()` compacts the small files that short batches leave (Delta's OPTIMIZE),
`vacuum()` deletes the files no version within the retention needs (Delta's VACUUM).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from .. import config as _config
from .. import i18n, messages
from ..clients import lake
from ..errors import CheckpointInUse, LabError
from . import checkpoint as _checkpoint
from .medallion import add_to_gold, to_bronze, to_gold
from .progress import attach_progress
from .queries import DEFAULT_TRIGGER_S, MAX_OFFSETS_PER_TRIGGER, Pipeline, kafka_source, track
from .session import get_spark
from .transform import classify, to_output, to_rejected

LAKE_QUERY = "lake"
# Delta's own default for how long removed files stay (delta.deletedFileRetentionDuration): time
# travel to a version needs its files, and so does a reader still reading one. VACUUM keeps its
# check on: a shorter retention is refused (docs/contract.md, "The lake").
MIN_RETAIN_HOURS = 168
# The columns of a classified batch that the four tables need; the parse's own columns are dropped
# before the batch is kept in memory.
_KEPT = ("key", "value", "topic", "partition", "offset", "timestamp", "reason",
         "transaction_id", "montant", "devise", "taux_eur", "event_time",
         "_fields")  # every field as text, from the one parse: silver takes the message's details from it

_ = i18n.catalog(__name__, {
    "retention": {
        "en": "--retain-hours must be at least {minimum} (Delta's default retention, 7 days), got {hours}: VACUUM "
              "deletes the files of older versions, so time travel to them and readers still using them would "
              "fail",
        "fr": "--retain-hours doit valoir au moins {minimum} (la rétention par défaut de Delta, 7 jours), reçu "
              "{hours} : VACUUM supprime les fichiers des versions plus anciennes, si bien que le voyage dans le "
              "temps vers elles et les lecteurs qui les utilisent encore échoueraient",
    },
    "stream_running": {
        "en": "the lake's stream is running ({who}): stop it first (Ctrl-C in its terminal, or `pipeline.stop()` "
              "in its notebook), then run {what} again; one writer at a time keeps Delta's log safe on S3",
        "fr": "le flux du lac de données tourne ({who}) : arrêtez-le d'abord (Ctrl-C dans son terminal, ou "
              "`pipeline.stop()` dans son notebook), puis relancez {what} ; un seul écrivain à la fois garde le "
              "journal de transactions de Delta sûr sur S3",
    },
})


def table_paths(root: str = "", cfg: _config.LabConfig | None = None) -> dict[str, str]:
    """Each table's s3a:// path for Spark, by name (lab_utils.clients.lake.TABLES)."""
    cfg = cfg or _config.load()
    return {name: cfg.s3a_path(root, lake.LAKE, name) for name in lake.TABLES}


def checkpoint_path(root: str = "", cfg: _config.LabConfig | None = None) -> str:
    cfg = cfg or _config.load()
    return cfg.s3a_path(root, "checkpoint", LAKE_QUERY)


class BatchWriter:
    """The `foreachBatch` function: one micro-batch into the four tables, each write idempotent."""

    def __init__(self, spark, tables: dict[str, str], checkpoint_uri: str, timezone: str,
                 cfg: _config.LabConfig):
        self.spark = spark
        self.tables = tables
        self.checkpoint_uri = checkpoint_uri
        self.timezone = timezone
        self.cfg = cfg
        self._app_id: str | None = None

    @property
    def app_id(self) -> str:
        """The query's id, from its checkpoint: Spark writes it there before the first batch."""
        if self._app_id is None:
            self._app_id = _checkpoint.query_id(self.checkpoint_uri, self.cfg)
            if self._app_id is None:
                raise LabError(f"no query id in {self.checkpoint_uri}/metadata: start the lake's pipeline with "
                               "pipeline.start_lake(), which writes its checkpoint first")
        return self._app_id

    def _write(self, df, name: str, batch_id: int, mode: str = "append", partition_by: str | None = None) -> None:
        writer = (df.write.format("delta").mode(mode)
                  # Idempotent writes: Delta skips this write if the query already committed batch_id here.
                  .option("txnAppId", self.app_id).option("txnVersion", str(batch_id))
                  # Shown by DESCRIBE HISTORY: which stream wrote which batch.
                  .option("userMetadata", json.dumps({"stream": LAKE_QUERY, "batch": batch_id})))
        if partition_by:
            writer = writer.partitionBy(partition_by)
        writer.save(self.tables[name])

    def __call__(self, checked, batch_id: int) -> None:
        try:
            self._write_batch(checked, batch_id)
        except Exception as e:
            # Spark reads the error of a foreachBatch function with a regular expression that recurses
            # once per character ("(.|\n)*", to tell a stop from a failure): a Spark error quoting the
            # whole plan overflowed the stream thread's stack, and the query hung instead of stopping.
            # So the error that leaves here is short, and keeps the Java exception's name.
            raise RuntimeError(_short(e)) from None

    def _write_batch(self, checked, batch_id: int) -> None:
        from pyspark import StorageLevel

        # Kept in memory: the four writes read the batch once from Kafka and parse it once.
        batch = checked.select(*_KEPT).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            batch.count()  # reads and classifies the batch, here, once
            silver = to_output(batch, self.timezone)
            writes = [lambda: self._write(to_bronze(batch), lake.BRONZE, batch_id),
                      lambda: self._write(silver, lake.SILVER, batch_id, partition_by="event_date"),
                      # to_rejected reads the message as text, as classify() made it; rebuilt here for
                      # the few rejected rows rather than kept in memory for all of them.
                      lambda: self._write(to_rejected(batch.withColumn("_text", batch["value"].cast("string"))),
                                          lake.REJECTED, batch_id),
                      lambda: self._write_gold(to_gold(silver), batch_id)]
            self._run(writes)
        finally:
            batch.unpersist()

    # The four writes run side by side: each is a small Spark job followed by a Delta commit (a few
    # round trips to MinIO), so one's commit overlaps another's job. False: one after the other.
    parallel = True

    def _run(self, writes: list[Callable[[], None]]) -> None:
        if not self.parallel:
            for write in writes:
                write()
            return
        from concurrent.futures import ThreadPoolExecutor

        from pyspark import inheritable_thread_target

        # inheritable_thread_target: the writes' jobs belong to the query (its job group, which stop() cancels).
        with ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="lab-lake-write") as pool:
            futures = [pool.submit(inheritable_thread_target(self.spark)(write)) for write in writes]
        for future in futures:
            future.result()  # the first failure fails the batch; a restart replays it, the done tables skip it

    def _write_gold(self, batch_gold, batch_id: int) -> None:
        from pyspark.errors import AnalysisException

        path = self.tables[lake.GOLD]
        try:
            previous = self.spark.read.format("delta").load(path)
        except AnalysisException as e:  # the first batch: no gold table yet
            if e.getCondition() not in ("PATH_NOT_FOUND", "DELTA_MISSING_DELTA_TABLE"):
                raise
            previous = batch_gold.limit(0)
        # A few hundred rows: one file per version, not one per shuffle partition.
        self._write(add_to_gold(previous, batch_gold).coalesce(1), lake.GOLD, batch_id, mode="overwrite")


def _short(error: BaseException, limit: int = 600) -> str:
    """An error in a few hundred characters: its first lines, and the Java exception it names."""
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("at ")]
    head = " | ".join(lines)[:limit]
    if "Py4JJavaError" in type(error).__name__ or "java." in text:
        head = f"py4j.protocol.Py4JJavaError: An error occurred while calling the lake's writes: {head}"
    return f"{type(error).__name__}: {head}"


@dataclass
class LakePipeline(Pipeline):
    """The lake's one running query (`query`); `stop()`, `wait()`, ... as the Parquet pipeline's."""

    rejected: object | None = None
    tables: dict = field(default_factory=dict)

    @property
    def query(self):
        return self.output

    @property
    def queries(self) -> list:
        return [self.output]


def start_lake(spark=None, available_now: bool = False, trigger_s: float = DEFAULT_TRIGGER_S,
               topic: str | None = None, root: str = "", progress: bool | str = False,
               cfg: _config.LabConfig | None = None,
               max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER) -> LakePipeline:
    """Start the lake's pipeline: one query, Kafka -> bronze, silver (transactions, rejected), gold.

    The same arguments as `pipeline.start()`: available_now processes what Kafka holds and
    stops; otherwise a micro-batch every `trigger_s` seconds until `stop()`. root: a folder of
    the bucket to hold lake/ and checkpoint/lake/ (tests use one).

    Refuses (errors.PipelineRefused, naming the fix) a checkpoint out of step with its tables,
    a checkpoint another running query uses, a checkpoint written for a since re-created topic.
    """
    cfg = cfg or _config.load()
    spark = spark or get_spark(cfg=cfg)
    topic = topic or cfg.KAFKA_TOPIC
    tables = table_paths(root, cfg)
    checkpoint_uri = checkpoint_path(root, cfg)
    name = LAKE_QUERY if not root else f"{LAKE_QUERY}-{root.replace('/', '-')}"
    # A backlog: one query has the machine to itself (the Parquet pipeline runs two side by side), so
    # each Kafka partition's range is split in as many tasks as there are cores, and the waves of
    # tasks keep every core busy (3 partitions on 2 cores would leave one idle half the time).
    cores = spark.sparkContext.defaultParallelism
    source = kafka_source(spark, topic, cfg, max_offsets_per_trigger=max_offsets_per_trigger,
                          min_partitions=3 * cores if available_now else None)
    if not available_now:
        # As the Parquet pipeline: a live batch is small, one task writes it (one file per table).
        source = source.coalesce(1)
    checked = _observed(classify(source, messages.load_rates()))
    started: dict = {}
    lock = _checkpoint.CheckpointLock(checkpoint_uri, name, cfg)
    running = lambda: "q" not in started or started["q"].isActive  # noqa: E731
    lock.acquire(running)
    try:
        _checkpoint.check_lake_in_step(checkpoint_uri, root, cfg)
        _checkpoint.check_topic(checkpoint_uri, topic, cfg)
    except BaseException:
        lock.release()
        raise
    tracker = attach_progress(spark, [name], mode="auto" if progress is True else progress) if progress else None
    try:
        writer = (checked.writeStream.queryName(name)
                  .foreachBatch(BatchWriter(spark, tables, checkpoint_uri, cfg.LAB_TIMEZONE, cfg))
                  .option("checkpointLocation", checkpoint_uri))
        writer = writer.trigger(availableNow=True) if available_now else writer.trigger(
            processingTime=f"{trigger_s} seconds")
        started["q"] = writer.start()
    except BaseException:
        lock.release()
        if tracker is not None:
            tracker.close()
        raise
    return track(LakePipeline(output=started["q"], progress=tracker,
                              keepalive=_checkpoint.KeepAlive([(lock, running)]), tables=tables))


def _observed(checked):
    """The counts the progress panel shows, observed on the classified stream as the Parquet
    pipeline's two queries observe them (same names): valid rows, and rejected rows per reason."""
    from pyspark.sql import functions as F

    return (checked
            .observe("written", F.count_if(F.col("reason").isNull()).alias("rows"))
            .observe("rejected", *[F.count_if(F.col("reason") == code).alias(code)
                                   for code in messages.REJECT_REASONS]))


# --------------------------------------------------------------------------- maintenance

@dataclass
class TableFiles:
    """One table before and after a maintenance command."""

    table: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    rows: int


def _maintenance_lock(name: str, root: str, cfg: _config.LabConfig) -> _checkpoint.CheckpointLock:
    """Take the lake's lock (the stream's own), so that maintenance and the stream never write together."""
    lock = _checkpoint.CheckpointLock(checkpoint_path(root, cfg), name, cfg)
    held = lock.running_holder()
    if held:
        raise CheckpointInUse(_("stream_running", who=held[0], what=f"`{name}`"))
    lock.acquire(lambda: True)
    return lock


def files_report(root: str = "", cfg: _config.LabConfig | None = None) -> dict[str, dict]:
    """Per table: version, active files and rows, read from the logs (no Spark)."""
    cfg = cfg or _config.load()
    out = {}
    for name in lake.TABLES:
        if lake.exists(name, root, cfg):
            t = lake.table(name, root=root, cfg=cfg)
            out[name] = {"version": t.version(), "files": t.get_add_actions().num_rows, "rows": t.count()}
    return out


def optimize(spark=None, root: str = "", cfg: _config.LabConfig | None = None,
             say: Callable[[str], None] = lambda _line: None) -> list[TableFiles]:
    """Compact each table's small files (Delta's OPTIMIZE). Returns the files before and after.

    OPTIMIZE writes bigger files and commits a version that reads them instead of the small
    ones; the small ones stay in the bucket (older versions still read them) until `vacuum()`.
    Refused while the lake's stream runs (one writer at a time).
    """
    cfg = cfg or _config.load()
    spark = spark or get_spark(cfg=cfg)
    lock = _maintenance_lock("lake optimize", root, cfg)
    try:
        lake.table(lake.BRONZE, root=root, cfg=cfg)  # LabError naming the fix when the lake is empty
        before = files_report(root, cfg)
        for name, path in table_paths(root, cfg).items():
            if name in before:
                say(f"OPTIMIZE {name} ...")
                spark.sql(f"OPTIMIZE delta.`{path}`").collect()
        after = files_report(root, cfg)
    finally:
        lock.release()
    return [TableFiles(name, b["version"], after[name]["version"], b["files"], after[name]["files"], after[name]["rows"])
            for name, b in before.items()]


def check_retention(retain_hours: float) -> None:
    """LabError naming the minimum when `retain_hours` is below MIN_RETAIN_HOURS (time travel and readers
    still using older versions would fail)."""
    if retain_hours < MIN_RETAIN_HOURS:
        raise LabError(_("retention", minimum=MIN_RETAIN_HOURS, hours=f"{retain_hours:g}"))


def vacuum(spark=None, retain_hours: float = MIN_RETAIN_HOURS, dry_run: bool = False, root: str = "",
           cfg: _config.LabConfig | None = None, say: Callable[[str], None] = lambda _line: None) -> dict[str, int]:
    """Delete the files that no version younger than `retain_hours` reads (Delta's VACUUM).

    Returns, per table, how many files it deleted (or would delete, with dry_run). Time travel
    to a version older than the retention fails afterwards: its files are gone. A retention
    below MIN_RETAIN_HOURS is refused, and so is running while the lake's stream runs.
    """
    cfg = cfg or _config.load()
    check_retention(retain_hours)
    spark = spark or get_spark(cfg=cfg)
    lock = _maintenance_lock("lake vacuum", root, cfg)
    deleted = {}
    try:
        for name, path in table_paths(root, cfg).items():
            if not lake.exists(name, root, cfg):
                continue
            # Delta 4.4 takes the retention from the table (delta.deletedFileRetentionDuration, 7 days
            # by default) and ignores VACUUM's own RETAIN clause: a longer one is set on the table.
            wanted = f"interval {retain_hours:g} hours"
            current = lake.table(name, root=root, cfg=cfg).metadata().configuration.get(
                "delta.deletedFileRetentionDuration", f"interval {MIN_RETAIN_HOURS} hours")
            if current != wanted:
                spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES "
                          f"('delta.deletedFileRetentionDuration' = '{wanted}')")
            say(f"VACUUM {name}{' (dry run)' if dry_run else ''} ...")
            rows = spark.sql(f"VACUUM delta.`{path}`" + (" DRY RUN" if dry_run else "")).collect()
            deleted[name] = len(rows) if dry_run else _vacuumed(spark, path)
    finally:
        lock.release()
    return deleted


def _vacuumed(spark, path: str) -> int:
    """Files the last VACUUM of the table deleted (its VACUUM END commit's metrics)."""
    for row in spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 3").collect():
        if row["operation"] == "VACUUM END":
            return int((row["operationMetrics"] or {}).get("numDeletedFiles", 0))
    return 0


def files_per_100k(report: dict[str, dict]) -> float | None:
    """Active files of all tables per 100,000 events (the events: bronze's rows, every message once)."""
    events = report.get(lake.BRONZE, {}).get("rows", 0)
    return sum(t["files"] for t in report.values()) * 100_000 / events if events else None


def format_files(after: dict[str, dict], before: dict[str, dict] | None = None) -> str:
    """The lake's tables in a few lines: version, files (before -> after) and rows, then files per 100k events."""
    lines = []
    for name, t in after.items():
        b = (before or {}).get(name)
        files = f"{b['files']:>6,} -> {t['files']:,}" if b else f"{t['files']:>6,}"
        lines.append(f"{name:<28} version {t['version']:>5}  files {files:<16} rows {t['rows']:>12,}")
    per = files_per_100k(after)
    if per is not None:
        was = files_per_100k(before) if before else None
        lines.append("files per 100,000 events      " + (f"{was:,.1f} -> " if was is not None else "") + f"{per:,.1f}")
    return "\n".join(lines)
