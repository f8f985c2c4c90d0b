"""Checks for the notebooks: the environment table, the preflight, and the exercises' checks.

    lab_utils.checks.environment()     # notebook 00: every component, ✅/❌, and the fix for each ❌
    lab_utils.checks.preflight()       # first code cell of each notebook: one line, or the fix

An exercise check returns a `Verdict`: it shows ✅ or ❌ with a hint and is truthy when the
answer is right. A check does not raise on a wrong answer (the student reads the hint and tries
again); the notebooks run it on their solution with `assert`, so CI proves the solution passes.
"""

from __future__ import annotations

import html
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

from . import config as _config
from . import stack as _stack
from .errors import ServiceDown

OK, FAIL, OPTIONAL = "✅", "❌", "➖"


# --------------------------------------------------------------------------- exercise verdicts

@dataclass
class Verdict:
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"{OK if self.ok else FAIL} {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.ok else "#cf222e"
        return f"<p style='color:{color};font-weight:bold'>{html.escape(str(self))}</p>"


def not_done(answer) -> bool:
    """True while the exercise cell still holds its placeholder (`...` or None)."""
    return answer is Ellipsis or answer is None


def verdict(ok: bool, good: str, bad: str) -> Verdict:
    return Verdict(bool(ok), good if ok else bad)


def placeholder() -> Verdict:
    return Verdict(False, "not done yet: replace the `...` in the exercise cell, run it, then run this check again")


# --------------------------------------------------------------------------- the environment

@dataclass
class Component:
    component: str
    status: str
    found: str
    fix: str = ""


def _java() -> Component:
    java = shutil.which("java")
    major = _stack.java_major(java) if java else 0
    ok = major >= 17
    return Component("Java (JDK 17+)", OK if ok else FAIL, f"Java {major}" if major else "no `java` on PATH",
                     "" if ok else "install OpenJDK 17 (`apt-get install openjdk-17-jdk-headless`) and put it on PATH")


def _pyspark() -> Component:
    want = _stack.versions().get("spark", "?")
    try:
        import pyspark
        have = pyspark.__version__
    except ImportError:
        have = "not installed"
    ok = have == want
    return Component("PySpark", OK if ok else FAIL, have,
                     "" if ok else f"the lab pins Spark {want}: run `make lab` (it installs the pinned packages)")


def _spark_jars() -> Component:
    jars = sorted(p.name for p in _stack.SPARK_JARS.glob("*.jar"))
    needed = ("spark-sql-kafka-0-10", "hadoop-aws")
    missing = [n for n in needed if not any(j.startswith(n) for j in jars)]
    return Component("Spark connectors (Kafka, S3A)", FAIL if missing else OK,
                     f"{len(jars)} jars in .lab/jars/spark" if not missing else f"missing {', '.join(missing)}",
                     "run `python -m lab_utils stack up` (fetches them once with Maven)" if missing else "")


def _kafka(cfg: _config.LabConfig) -> list[Component]:
    version = _stack.versions()["kafka"]
    if not _stack.kafka_ready(cfg):
        return [Component("Kafka broker", FAIL, f"nothing answers at {cfg.KAFKA_BOOTSTRAP_SERVERS}",
                          "run `make lab` or `python -m lab_utils stack up` (or `docker compose up -d`)"),
                Component(f"Kafka topic {cfg.KAFKA_TOPIC}", FAIL, "broker down", "start the broker first")]
    topics = _stack.list_topics(cfg)
    has_topic = cfg.KAFKA_TOPIC in topics
    return [Component("Kafka broker", OK, f"Apache Kafka {version} at {cfg.KAFKA_BOOTSTRAP_SERVERS}"),
            Component(f"Kafka topic {cfg.KAFKA_TOPIC}", OK if has_topic else FAIL,
                      "exists" if has_topic else "missing",
                      "" if has_topic else "run `python -m lab_utils stack up` (it creates the topic)")]


def _minio(cfg: _config.LabConfig) -> list[Component]:
    if not _stack.minio_ready(cfg):
        return [Component("MinIO (S3)", FAIL, f"nothing answers at {cfg.AWS_ENDPOINT_URL}",
                          "run `make lab` or `python -m lab_utils stack up` (or `docker compose up -d`)"),
                Component(f"bucket {cfg.LAB_BUCKET}", FAIL, "MinIO down", "start MinIO first")]
    from . import storage

    try:
        storage.filesystem(cfg).ls(cfg.LAB_BUCKET, refresh=True)
        bucket = Component(f"bucket {cfg.LAB_BUCKET}", OK, f"readable with the lab's key {cfg.AWS_ACCESS_KEY_ID}")
    except Exception as e:  # noqa: BLE001 - shown in the table with its fix
        bucket = Component(f"bucket {cfg.LAB_BUCKET}", FAIL, f"{type(e).__name__}: {e}"[:120],
                           "run `python -m lab_utils stack up` (it creates the bucket and the lab's key)")
    return [Component("MinIO (S3)", OK, f"MinIO {_stack.versions()['minio']} at {cfg.AWS_ENDPOINT_URL}"), bucket]


def _docker() -> Component:
    docker = shutil.which("docker")
    if not docker:
        return Component("Docker (optional)", OPTIONAL, "not installed",
                         "not needed: the native stack runs without it")
    try:
        engine = subprocess.run([docker, "ps"], capture_output=True, text=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        engine = False
    if engine:
        return Component("Docker (optional)", OK, "`docker ps` answers")
    return Component("Docker (optional)", OPTIONAL, "client only, no engine answers `docker ps`",
                     "not needed: use the native stack (`python -m lab_utils stack up`)")


def environment(cfg: _config.LabConfig | None = None):
    """Every component the lab needs, as a pandas DataFrame: component, status, found, fix."""
    import pandas as pd

    cfg = cfg or _config.load()
    py_ok = sys.version_info[:2] >= (3, 10)
    rows = [Component("Python", OK if py_ok else FAIL, platform.python_version(),
                      "" if py_ok else "the lab needs Python 3.10 or newer (3.11 recommended)"),
            _java(), _pyspark(), _spark_jars(), *_kafka(cfg), *_minio(cfg), _docker()]
    return pd.DataFrame([vars(c) for c in rows]).rename(columns=str.capitalize)


# --------------------------------------------------------------------------- preflight

def preflight(cfg: _config.LabConfig | None = None) -> Verdict:
    """Check that Kafka, its topic and MinIO answer; raise ServiceDown naming the fix if not.

    Returns a one-line ✅ saying what was found (shown as the first cell's output).
    """
    cfg = _stack.require_services(cfg)
    if cfg.KAFKA_TOPIC not in _stack.list_topics(cfg):
        raise ServiceDown(f"topic {cfg.KAFKA_TOPIC} does not exist: run `python -m lab_utils stack up` (it creates it)")
    import pyspark

    return Verdict(True, f"Kafka {cfg.KAFKA_BOOTSTRAP_SERVERS} (topic {cfg.KAFKA_TOPIC}), "
                         f"MinIO {cfg.AWS_ENDPOINT_URL} (bucket {cfg.LAB_BUCKET}), PySpark {pyspark.__version__}")


# --------------------------------------------------------------------------- the exercises' checks

def s3_endpoint(answer) -> Verdict:
    """Notebook 00: the S3 endpoint Spark's S3A connector talks to."""
    if not_done(answer):
        return placeholder()
    want = _config.load().AWS_ENDPOINT_URL
    return verdict(str(answer).rstrip("/") == want.rstrip("/"),
                   f"right: Spark reaches MinIO at {want}, the same AWS_ENDPOINT_URL every tool of the lab uses",
                   f"{answer!r} is not it: look for the key spark.hadoop.fs.s3a.endpoint in spark.conf")


def topic_total(answer) -> Verdict:
    """Notebook 01: how many messages the topic holds, summed over its partitions."""
    if not_done(answer):
        return placeholder()
    from .producer import topic_size

    want = sum(topic_size().values())
    return verdict(answer == want, f"right: {want:,} messages (end offset minus start offset, summed over partitions)",
                   f"{answer!r} is not it: per partition, subtract the beginning offset from the end offset, then add up")


def my_transaction(sent, transaction_id) -> Verdict:
    """Notebook 02: `sent` is the RecordMetadata of the student's message; read it back from Kafka."""
    if not_done(sent):
        return placeholder()
    from kafka import KafkaConsumer, TopicPartition

    from .messages import verdict as reason_for

    if not hasattr(sent, "partition") or not hasattr(sent, "offset"):
        return Verdict(False, "`sent` should be what `future.get(timeout=...)` returns (a RecordMetadata)")
    cfg = _config.load()
    consumer = KafkaConsumer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, enable_auto_commit=False,
                             consumer_timeout_ms=10_000)
    try:
        tp = TopicPartition(sent.topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        message = next(iter(consumer), None)
    finally:
        consumer.close()
    if message is None or message.offset != sent.offset:
        return Verdict(False, f"no message at partition {sent.partition}, offset {sent.offset}: was it acknowledged?")
    reason = reason_for(message.value)
    if reason != "accept":
        return Verdict(False, f"Kafka has it, but the pipeline would reject it ({reason}): {message.value[:120]!r}")
    if message.key != str(transaction_id).encode():
        return Verdict(False, f"the key should be the transaction_id as text ({str(transaction_id)!r}), "
                              f"got {message.key!r}")
    return Verdict(True, f"Kafka holds your transaction {transaction_id} in partition {sent.partition} at offset "
                         f"{sent.offset}, and the pipeline will accept it")


def montant_eur(to_eur, spark) -> Verdict:
    """Notebook 03: `to_eur(df)` must add montant_eur = montant * taux_eur, rounded to cents."""
    if not_done(to_eur):
        return placeholder()
    rows = [(1, 100.0, 0.8621), (2, 19.99, 1.139), (3, 1500.0, 0.0061), (4, 42.5, 1.0), (5, 0.01, 0.0015)]
    df = spark.createDataFrame(rows, "transaction_id long, montant double, taux_eur double")
    try:
        result = to_eur(df)
    except Exception as e:  # noqa: BLE001 - shown to the student
        return Verdict(False, f"to_eur raised {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    if result is None or result is Ellipsis or "montant_eur" not in getattr(result, "columns", []):
        return Verdict(False, "to_eur should return a DataFrame with a column montant_eur (use df.withColumn)")
    got = {r.transaction_id: r.montant_eur for r in result.select("transaction_id", "montant_eur").collect()}
    want = {1: 86.21, 2: 22.77, 3: 9.15, 4: 42.5, 5: 0.0}
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) is None or abs(float(got[k]) - v) > 0.005}
    return verdict(not wrong, "right: every amount converted and rounded to cents",
                   "these ids are off (got, expected): " + ", ".join(f"{k}: {g} vs {w}" for k, (g, w) in wrong.items())
                   + " (multiply montant by taux_eur, then round to 2 decimals with F.round)")


def busiest_currency(answer, output) -> Verdict:
    """Notebook 04: the currency with the largest total in EUR, from the committed output."""
    if not_done(answer):
        return placeholder()
    totals = output.groupby("devise")["montant_eur"].sum()
    want = totals.idxmax()
    return verdict(str(answer).strip().upper() == want,
                   f"right: {want}, {totals.max():,.2f} EUR in all",
                   f"{answer!r} is not it: group by devise, sum montant_eur, and take the largest")


def busiest_minute(answer, spark, table: str = "per_minute") -> Verdict:
    """Notebook 05: the start of the one-minute window with the most transactions in `table`."""
    if not_done(answer):
        return placeholder()
    best = spark.table(table).orderBy("transactions", ascending=False).first()
    if best is None:
        return Verdict(False, f"the table {table} is empty: run the windowed query first")
    want = best["minute"]["start"]
    got = getattr(answer, "to_pydatetime", lambda: answer)()
    return verdict(got == want, f"right: the minute starting at {want} had {best['transactions']:,} transactions",
                   f"{answer!r} is not it: order the table by transactions, descending, and take minute.start "
                   "of the first row")
