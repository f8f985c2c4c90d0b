"""The exercises' checks: each runs the student's answer and says ✅ or ❌ with a hint (a Verdict)."""

from __future__ import annotations

from .. import config as _config
from .. import messages
from ..clients import kafka
from .verdict import Verdict, not_done, placeholder, verdict


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
    want = sum(kafka.topic_size().values())
    return verdict(answer == want, f"right: {want:,} messages (end offset minus start offset, summed over partitions)",
                   f"{answer!r} is not it: per partition, subtract the beginning offset from the end offset, then add up")


def my_transaction(sent, transaction_id) -> Verdict:
    """Notebook 02: `sent` is the RecordMetadata of the student's message; read it back from Kafka."""
    if not_done(sent):
        return placeholder()
    from kafka import TopicPartition

    if not hasattr(sent, "partition") or not hasattr(sent, "offset"):
        return Verdict(False, "`sent` should be what `future.get(timeout=...)` returns (a RecordMetadata)")
    cfg = _config.load()
    consumer = kafka.reader(cfg, "lab-check", consumer_timeout_ms=10_000)
    try:
        tp = TopicPartition(sent.topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        message = next(iter(consumer), None)
    finally:
        consumer.close()
    if message is None or message.offset != sent.offset:
        return Verdict(False, f"no message at partition {sent.partition}, offset {sent.offset}: was it acknowledged?")
    reason = messages.verdict(message.value)
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
