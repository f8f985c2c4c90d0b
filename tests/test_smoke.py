"""End to end on the real services: kafka-python -> Kafka -> Spark Structured Streaming
(Kafka source, S3A Parquet sink, checkpoint on S3A, availableNow) -> MinIO -> pyarrow + s3fs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from lab_utils.clients import storage

N = 1000


def send_seed_messages(cfg, topic: str, n: int) -> set[int]:
    """The seed's message format, keyed by transaction_id; every send is acknowledged."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, acks="all", linger_ms=5)
    start = datetime(2026, 11, 27, 22, 40, tzinfo=timezone.utc)
    try:
        futures = [
            producer.send(topic, key=str(i).encode(), value=json.dumps({
                "transaction_id": i, "montant": round(10 + i * 0.5, 2), "devise": ["USD", "EUR", "GBP"][i % 3],
                "timestamp": (start + timedelta(seconds=i)).isoformat(timespec="milliseconds")}).encode())
            for i in range(1, n + 1)
        ]
        for f in futures:
            f.get(timeout=30)  # raises if the broker did not acknowledge
    finally:
        producer.close(timeout=30)
    return set(range(1, n + 1))


@pytest.mark.integration
def test_kafka_to_parquet_on_minio(cfg, spark, topic, run_prefix):
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    sent = send_seed_messages(cfg, topic, N)

    schema = StructType([StructField("transaction_id", LongType()), StructField("montant", DoubleType()),
                         StructField("devise", StringType()), StructField("timestamp", StringType())])
    source = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", cfg.KAFKA_BOOTSTRAP_SERVERS)
              .option("subscribe", topic)
              .option("startingOffsets", "earliest")
              .option("failOnDataLoss", "true")
              .load())
    rows = source.select(F.from_json(F.col("value").cast("string"), schema).alias("t"), "partition", "offset") \
                 .select("t.*", F.col("partition").alias("kafka_partition"), F.col("offset").alias("kafka_offset"))
    query = (rows.writeStream.format("parquet")
             .option("path", cfg.s3a_path(run_prefix, "output"))
             .option("checkpointLocation", cfg.s3a_path(run_prefix, "checkpoint", "smoke"))
             .queryName("smoke")
             .trigger(availableNow=True)
             .start())
    try:
        finished = query.awaitTermination(timeout=300)
        assert finished, "the availableNow query did not finish within 300 s"
        assert query.exception() is None, query.exception()
    finally:
        query.stop()

    df = storage.read_committed(f"{run_prefix}/output", cfg=cfg)
    assert len(df) == N, f"expected {N} rows, read {len(df)}"
    assert set(df["transaction_id"]) == sent
    assert sorted(df["kafka_partition"].unique()) == [0, 1, 2], "keys should spread over the 3 partitions"

    # The checkpoint is on S3A, where the query name says.
    fs = storage.filesystem(cfg)
    checkpoint_files = fs.find(cfg.s3_path(run_prefix, "checkpoint", "smoke"))
    assert any("/commits/" in p for p in checkpoint_files), checkpoint_files
