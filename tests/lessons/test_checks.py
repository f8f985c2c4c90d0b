"""lab_utils.checks: the environment table, the preflight, and the exercises' checks.

Each exercise check must say ❌ to a wrong answer and to the untouched placeholder, and ✅ to
the right one: a check that cannot fail would teach nothing.
"""

from __future__ import annotations

import dataclasses

import pytest

from lab_utils import checks, producer
from lab_utils.errors import ServiceDown


def test_environment_all_green_on_the_live_stack(cfg):
    table = checks.environment(cfg)
    assert list(table.columns) == ["Component", "Status", "Found", "Fix"]
    required = table[~table.Component.str.contains("optional")]
    assert (required.Status == checks.OK).all(), required.to_string()
    assert {"Java (JDK 17+)", "PySpark", "Kafka broker", "MinIO (S3)"} <= set(table.Component)


def test_environment_names_the_fix_when_services_are_down(cfg):
    down = dataclasses.replace(cfg, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", AWS_ENDPOINT_URL="http://127.0.0.1:1")
    table = checks.environment(down).set_index("Component")
    for row in ("Kafka broker", "MinIO (S3)"):
        assert table.loc[row, "Status"] == checks.FAIL
        assert "stack up" in table.loc[row, "Fix"]


def test_preflight(cfg):
    assert checks.preflight(cfg)
    with pytest.raises(ServiceDown, match="stack up"):
        checks.preflight(dataclasses.replace(cfg, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"))


def test_placeholder_is_never_accepted(spark):
    for verdict in (checks.s3_endpoint(...), checks.topic_total(...), checks.my_transaction(..., 1),
                    checks.montant_eur(..., spark)):
        assert not verdict and "not done yet" in str(verdict)


def test_s3_endpoint(cfg):
    assert checks.s3_endpoint(cfg.AWS_ENDPOINT_URL)
    assert not checks.s3_endpoint("http://example.org:9000")


def test_topic_total(cfg):
    total = sum(producer.topic_size().values())
    assert checks.topic_total(total)
    assert not checks.topic_total(total + 1)


def test_my_transaction(cfg, topic):
    kafka = producer.make_producer()
    try:
        my_id = 12345
        good = (b'{"transaction_id": %d, "montant": 42.5, "devise": "USD", '
                b'"timestamp": "2026-11-28T10:00:00+00:00"}' % my_id)
        sent = kafka.send(topic, key=str(my_id).encode(), value=good).get(timeout=30)
        assert checks.my_transaction(sent, my_id)
        wrong_key = kafka.send(topic, key=b"x", value=good).get(timeout=30)
        assert not checks.my_transaction(wrong_key, my_id)
        bad = kafka.send(topic, key=str(my_id).encode(), value=b'{"montant": 1}').get(timeout=30)
        verdict = checks.my_transaction(bad, my_id)
        assert not verdict and "missing_field" in str(verdict)
    finally:
        kafka.close()


def test_montant_eur(spark):
    from pyspark.sql import functions as F

    assert checks.montant_eur(lambda df: df.withColumn("montant_eur", F.round(F.col("montant") * F.col("taux_eur"), 2)),
                              spark)
    assert not checks.montant_eur(lambda df: df.withColumn("montant_eur", F.col("montant")), spark)
    assert not checks.montant_eur(lambda df: df, spark)
    assert not checks.montant_eur(lambda df: df.withColumn("montant_eur", F.col("nope")), spark)


def test_carry_on_uses_the_answer_only_when_it_passes(capsys):
    right = checks.Verdict(True, "right")
    wrong = checks.Verdict(False, "off by one")
    assert checks.carry_on(..., "solution", lambda a: right) == "solution"
    assert "not ready yet" in capsys.readouterr().out
    assert checks.carry_on("mine", "solution", lambda a: wrong) == "solution"
    assert "off by one" in capsys.readouterr().out
    assert checks.carry_on("mine", "solution", lambda a: right) == "mine"
    assert "your answer" in capsys.readouterr().out
