"""Readers trust `_spark_metadata`: a failed batch's leftover files never reach a student's DataFrame."""

from __future__ import annotations

import pandas as pd
import pyarrow.dataset as ds
import pytest

from lab_utils import pipeline, producer
from lab_utils.clients import storage
from lab_utils.generator import TransactionGenerator

pytestmark = pytest.mark.integration


def test_only_committed_files_are_read_even_across_log_compaction(cfg, spark, topic, run_prefix):
    records = TransactionGenerator(seed=30).take(500)
    producer.produce(records=records, count=len(records), topic=topic, progress=False)
    out_path = cfg.s3a_path(run_prefix, "output")
    # Small batches and a short compaction interval: 5 batches, the log compacts at batch 1 and 3.
    spark.conf.set("spark.sql.streaming.fileSink.log.compactInterval", "2")
    try:
        query = (pipeline.kafka_source(spark, topic, cfg, max_offsets_per_trigger=100)
                 .selectExpr("CAST(key AS STRING) AS key", "partition", "offset")
                 .writeStream.format("parquet").option("path", out_path)
                 .option("checkpointLocation", cfg.s3a_path(run_prefix, "checkpoint", "compaction"))
                 .trigger(availableNow=True).start())
        try:
            assert query.awaitTermination(300)
        finally:
            query.stop()
    finally:
        spark.conf.unset("spark.sql.streaming.fileSink.log.compactInterval")

    fs = storage.filesystem(cfg)
    log = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(cfg.s3_path(run_prefix, "output", "_spark_metadata")))
    assert any(name.endswith(".compact") for name in log), log

    committed = storage.read_committed(f"{run_prefix}/output", cfg=cfg)
    assert len(committed) == 500 and committed.key.astype(int).is_unique

    # A failed batch's leftover: a Parquet file in the folder that no log entry names.
    leftover = cfg.s3_path(run_prefix, "output", "part-99999-leftover-of-a-failed-batch.snappy.parquet")
    with fs.open(leftover, "wb") as f:
        committed.head(50).to_parquet(f)
    listed = ds.dataset(cfg.s3_path(run_prefix, "output"), filesystem=fs, format="parquet",
                        exclude_invalid_files=True).to_table().num_rows
    assert listed == 550, "a plain folder listing counts the leftover rows"
    assert len(storage.read_committed(f"{run_prefix}/output", cfg=cfg)) == 500
    assert spark.read.parquet(out_path).count() == 500, "spark.read also trusts _spark_metadata"


def test_reading_a_folder_with_nothing_committed_gives_an_empty_frame(cfg, run_prefix):
    df = storage.read_committed(f"{run_prefix}/output", cfg=cfg)
    assert isinstance(df, pd.DataFrame) and df.empty
