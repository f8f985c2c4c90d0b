"""The pipeline's transformations on small batch DataFrames (lab_utils.pipeline), no Kafka needed.

Each message is classified by Spark and by the plain-Python reference `messages.verdict()`;
they must agree, and the output columns must be the contract's (docs/contract.md)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from lab_utils import messages, pipeline
from lab_utils.generator import TransactionGenerator

RATES = messages.load_rates()
TIMEZONE = "Europe/Paris"


def msg(**fields) -> bytes:
    base = {"transaction_id": 1, "montant": 100.0, "devise": "USD", "timestamp": "2026-11-27T22:40:31.123+00:00"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


def run(spark, values, timezone="Europe/Paris"):
    rows = [(str(i).encode(), v, 0, i) for i, v in enumerate(values)]
    raw = spark.createDataFrame(rows, "key binary, value binary, partition int, offset long")
    checked = pipeline.classify(raw, RATES).cache()
    reasons = [r.reason or "accept" for r in checked.orderBy("offset").select("reason").collect()]
    out = {r.kafka_offset: r for r in pipeline.to_output(checked, timezone).collect()}
    return reasons, out


CASES = {
    # accepted, after normalisation
    "lower-case currency": (msg(devise="usd"), "accept"),
    "padded currency": (msg(devise="  gbp "), "accept"),
    "no offset (UTC)": (msg(timestamp="2026-11-27T22:40:31"), "accept"),
    "Z offset": (msg(timestamp="2026-11-27T22:40:31Z"), "accept"),
    "space instead of T": (msg(timestamp="2026-11-27 22:40:31.5+01:00"), "accept"),
    "integer amount": (msg(montant=100), "accept"),
    "extra fields ignored": (msg(country="FR", nested={"a": [1, 2]}), "accept"),
    # every reject reason
    "tombstone": (None, "null_message"),
    "empty": (b"", "empty_message"),
    "latin-1": ('{"devise": "é"}'.encode("latin-1"), "not_utf8"),
    "truncated": (msg()[:-5], "malformed_json"),
    "trailing text": (msg() + b" trailing", "malformed_json"),
    "single quotes": (msg().replace(b'"', b"'"), "malformed_json"),
    "an array": (b"[" + msg() + b"]", "malformed_json"),
    "a number": (b"42", "malformed_json"),
    "utf-8 BOM": (b"\xef\xbb\xbf" + msg(), "malformed_json"),
    "duplicate key": (msg()[:-1] + b', "montant": -5}', "duplicate_field"),
    "missing montant": (msg(montant=...), "missing_field"),
    "missing timestamp": (msg(timestamp=...), "missing_field"),
    "null devise": (msg(devise=None), "null_field"),
    "id as float": (msg(transaction_id=12.0), "invalid_transaction_id"),
    "id as string": (msg(transaction_id="12"), "invalid_transaction_id"),
    "id zero": (msg(transaction_id=0), "invalid_transaction_id"),
    "id beyond long": (msg(transaction_id=2**63), "invalid_transaction_id"),
    "amount as string": (msg(montant="100.0"), "invalid_montant"),
    "amount zero": (msg(montant=0), "invalid_montant"),
    "amount negative": (msg(montant=-3.5), "invalid_montant"),
    "amount NaN": (msg(montant=float("nan")), "invalid_montant"),
    "amount Infinity": (msg(montant=float("inf")), "invalid_montant"),
    "amount 1e999": (msg()[:-1].replace(b'"montant": 100.0', b'"montant": 1e999') + b"}", "invalid_montant"),
    "amount true": (msg(montant=True), "invalid_montant"),
    "unknown currency": (msg(devise="BTC"), "unknown_currency"),
    "currency as number": (msg(devise=978), "unknown_currency"),
    "date only": (msg(timestamp="2026-11-27"), "invalid_timestamp"),
    "impossible date": (msg(timestamp="2026-02-30T10:00:00Z"), "invalid_timestamp"),
    "hour 25": (msg(timestamp="2026-11-27T25:00:00Z"), "invalid_timestamp"),
    "french format": (msg(timestamp="27/11/2026 22:40"), "invalid_timestamp"),
}


def test_every_case_gets_the_reference_verdict(spark):
    names = list(CASES)
    reasons, _ = run(spark, [CASES[n][0] for n in names])
    for name, got in zip(names, reasons):
        value, expected = CASES[name]
        assert messages.verdict(value) == expected, f"reference disagrees with the test table: {name}"
        assert got == expected, f"{name}: Spark said {got}, expected {expected}"
    assert {e for _, e in CASES.values()} == {"accept", *messages.REJECT_REASONS}, "a reason is not covered"


def test_a_generated_corpus_matches_the_reference(spark):
    records = TransactionGenerator(seed=8, bad_ratio=0.5, clock="simulated").take(3000)
    reasons, _ = run(spark, [r.value for r in records])
    mismatches = [(r.kind, r.expected, got) for r, got in zip(records, reasons) if got != r.expected]
    assert not mismatches, mismatches[:10]


def test_currency_is_normalised_and_converted_half_up_to_cents(spark):
    values = [msg(devise=" usd ", montant=100.0), msg(devise="EUR", montant=1.005), msg(devise="JPY", montant=1000),
              msg(devise="EUR", montant=2.675)]
    _, out = run(spark, values)
    rates = messages.load_rates()
    assert out[0].devise == "USD" and out[0].taux_eur == rates["USD"]
    assert out[0].montant_eur == round(100.0 * rates["USD"], 2)
    assert out[1].montant_eur == 1.01, "1.005 EUR rounds half up to 1.01 (a double product would give 1.0)"
    assert out[3].montant_eur == 2.68
    assert out[2].montant_eur == pytest.approx(1000 * rates["JPY"], abs=0.005)


@pytest.mark.parametrize("utc,local,offset_h", [
    # Europe/Paris, spring forward on 2026-03-29 at 01:00 UTC (02:00 CET -> 03:00 CEST)
    ("2026-03-29T00:30:00Z", datetime(2026, 3, 29, 1, 30), 1),
    ("2026-03-29T01:30:00Z", datetime(2026, 3, 29, 3, 30), 2),
    # fall back on 2026-10-25 at 01:00 UTC (03:00 CEST -> 02:00 CET): 02:30 happens twice
    ("2026-10-25T00:30:00Z", datetime(2026, 10, 25, 2, 30), 2),
    ("2026-10-25T01:30:00Z", datetime(2026, 10, 25, 2, 30), 1),
])
def test_local_time_across_daylight_saving_edges(spark, utc, local, offset_h):
    _, out = run(spark, [msg(timestamp=utc)])
    row = out[0]
    assert row.timezone == "Europe/Paris"
    assert row.event_time_local == local
    assert row.event_date == local.date()
    # event_time is the instant (the session zone is UTC, so it prints as UTC)
    assert row.event_time == datetime.fromisoformat(utc.replace("Z", "")), row.event_time


def test_offsets_name_the_same_instant_and_no_offset_means_utc(spark):
    same = ["2026-11-27T22:40:31Z", "2026-11-27T23:40:31+01:00", "2026-11-27T17:40:31-05:00", "2026-11-27T22:40:31"]
    _, out = run(spark, [msg(timestamp=t) for t in same])
    assert {r.event_time for r in out.values()} == {datetime(2026, 11, 27, 22, 40, 31)}
    assert {r.event_date for r in out.values()} == {date(2026, 11, 27)}


def test_output_has_the_contract_columns_and_types(spark):
    raw = spark.createDataFrame([(b"1", msg(), 2, 7)], "key binary, value binary, partition int, offset long")
    out = pipeline.to_output(pipeline.classify(raw, RATES), TIMEZONE)
    assert [(f.name, f.dataType.simpleString()) for f in out.schema.fields] == [
        ("transaction_id", "bigint"), ("montant", "double"), ("devise", "string"), ("taux_eur", "double"),
        ("montant_eur", "double"), ("event_time", "timestamp"), ("timezone", "string"),
        ("event_time_local", "timestamp_ntz"), ("event_date", "date"), ("kafka_partition", "int"),
        ("kafka_offset", "bigint"), ("ingest_time", "timestamp"), ("card_id", "string"),
        ("merchant_category", "string"), ("country", "string"), ("channel", "string"), ("fraud_score", "double"),
        ("model_version", "string")]
    row = out.collect()[0]
    assert (row.kafka_partition, row.kafka_offset) == (2, 7)
    # msg() has no details: the columns are there, null; scores are null until a model scores
    assert (row.card_id, row.merchant_category, row.country, row.channel) == (None, None, None, None)
    assert (row.fraud_score, row.model_version) == (None, None)


def test_output_keeps_the_details_of_the_message_as_text(spark):
    values = [msg(card_id="C00042", merchant_category="grocery", country="FR", channel="online"),
              msg(card_id=42, country={"a": 1}),  # not strings: kept as their JSON text
              msg(channel=None)]
    raw = spark.createDataFrame([(b"1", v, 0, i) for i, v in enumerate(values)],
                                "key binary, value binary, partition int, offset long")
    rows = {r.kafka_offset: r for r in pipeline.to_output(pipeline.classify(raw, RATES), TIMEZONE).collect()}
    assert len(rows) == 3  # the details never make a message invalid
    assert (rows[0].card_id, rows[0].merchant_category, rows[0].country, rows[0].channel) == (
        "C00042", "grocery", "FR", "online")
    assert (rows[1].card_id, rows[1].country) == ("42", '{"a":1}')
    assert rows[2].channel is None


def test_rejected_keeps_the_message_as_received(spark):
    values = [b'{"devise": "\xe9"}', b"", None, b"not json"]
    raw = spark.createDataFrame([(b"9", v, 1, i) for i, v in enumerate(values)],
                                "key binary, value binary, partition int, offset long")
    rej = {r.kafka_offset: r for r in pipeline.to_rejected(pipeline.classify(raw, RATES)).collect()}
    assert [f.name for f in pipeline.to_rejected(pipeline.classify(raw, RATES)).schema.fields][:5] == [
        "raw_value", "reason", "kafka_partition", "kafka_offset", "ingest_time"]
    assert rej[0].reason == "not_utf8" and bytes(rej[0].raw_bytes) == values[0] and "\ufffd" in rej[0].raw_value
    assert rej[1].reason == "empty_message" and rej[1].raw_value == ""
    assert rej[2].reason == "null_message" and rej[2].raw_value is None
    assert rej[3].raw_value == "not json" and rej[3].kafka_key == "9"


# What Spark raised when MinIO died under a running query (tests/test_reliability.py, MinIO), cut down:
# the write fails inside a task, so the top message names only the task; the cause names MinIO.
TASK_WRITE_FAILED = ("[TASK_WRITE_FAILED] Task failed while writing rows to "
                     "s3a://transactions/test-runs/224b686b35/rejected. SQLSTATE: 58030")
MINIO_REFUSED = ("java.net.ConnectException: Writing Object on test-runs/224b686b35/rejected/part-00000.snappy.parquet: "
                 "software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP request: "
                 "Connect to 127.0.0.1:9000 [/127.0.0.1] failed: Connection refused (SDK Attempt Count: 4)")
S3_DENIED = ("java.nio.file.AccessDeniedException: s3a://elsewhere/output/_spark_metadata: getFileStatus on "
             "s3a://elsewhere/output/_spark_metadata: software.amazon.awssdk.services.s3.model.S3Exception: Access "
             "Denied. (Service: S3, Status Code: 403, Request ID: 187D): AccessDenied")
S3_SIGNATURE = ("org.apache.hadoop.fs.s3a.AWSBadRequestException: PUT 0-byte object on output: "
                "software.amazon.awssdk.services.s3.model.S3Exception: The request signature we calculated does not "
                "match the signature you provided. (Service: S3, Status Code: 403): SignatureDoesNotMatch")
UNKNOWN_TOPIC = ("org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this "
                 "topic-partition.")
KAFKA_TIMEOUT = ("org.apache.kafka.common.errors.TimeoutException: Timed out waiting for a node assignment. "
                 "Call: describeTopics")


def chained(*messages_outermost_first: str) -> Exception:
    error = None
    for text in reversed(messages_outermost_first):
        outer = RuntimeError(text)
        outer.__cause__ = error
        error = outer
    return error


@pytest.mark.parametrize("error, says", [
    (chained(TASK_WRITE_FAILED, MINIO_REFUSED), "MinIO is not reachable"),
    (chained(MINIO_REFUSED), "MinIO is not reachable"),
    # a Kafka timeout while a task writes to s3a:// is Kafka's, not MinIO's
    (chained(TASK_WRITE_FAILED, KAFKA_TIMEOUT), "Kafka did not answer"),
    (chained(TASK_WRITE_FAILED, "java.lang.ArithmeticException: / by zero"), "failed: [TASK_WRITE_FAILED]"),
    # MinIO answers but refuses: the setting to check and `stack up`, not "resumes from its checkpoint"
    (chained(TASK_WRITE_FAILED, S3_DENIED), "(LAB_BUCKET, "),
    (chained(TASK_WRITE_FAILED, S3_SIGNATURE), "AWS_SECRET_ACCESS_KEY ("),
    (chained(UNKNOWN_TOPIC), "(KAFKA_TOPIC, "),
])
def test_a_failure_is_explained_by_its_causes_not_only_its_first_line(error, says):
    from lab_utils import config

    explained = str(pipeline.explain_error(error, "output", config.load()))
    assert says in explained, explained
    assert str(error)[:80] in explained, "the student still sees what Spark said first"


def test_the_cause_is_found_where_pyspark_keeps_it(spark):
    """The same JVM chain, converted by PySpark as query.exception() converts it."""
    from pyspark.errors.exceptions.captured import convert_exception

    from lab_utils import config

    jvm = spark.sparkContext._jvm
    refused = jvm.java.net.ConnectException(MINIO_REFUSED.split(": ", 1)[1])
    error = convert_exception(jvm.org.apache.spark.SparkException(TASK_WRITE_FAILED, refused))
    assert "127.0.0.1:9000" not in str(error), "the first message alone must not name MinIO"
    explained = str(pipeline.explain_error(error, "output", config.load()))
    assert "MinIO is not reachable" in explained, explained
    before = config.use_language("fr")  # a French notebook's kernel
    try:
        explained = str(pipeline.explain_error(error, "output", config.load()))
    finally:
        config.use_language(before)
    assert "la requête output s'est arrêtée\u00a0: MinIO ne répond pas" in explained and "stack up" in explained, explained
