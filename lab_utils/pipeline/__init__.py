"""The pipeline layer: the Spark session, the transformations, the queries and their guards.

    from lab_utils import pipeline
    spark = pipeline.get_spark()
    checked = pipeline.classify(raw, rates)      # the transformations (pipeline/transform.py)
    run = pipeline.start(spark, progress=True)   # the two queries, output/ and rejected/
    run.stop()                                   # or pipeline.stop(): every pipeline this session started
    lake = pipeline.start_lake(spark)            # the lake: one query, bronze/silver/gold Delta tables

Inside: `transform` (pure DataFrame functions, what students read), `session` (get_spark),
`queries` (start, stop, Pipeline), `checkpoint` (the exactly-once guards), `progress` (the
live panel), `failures` (a failed query in the lab's words), `medallion` (what bronze and gold
hold, pure functions), `lake` (the lake's query, OPTIMIZE and VACUUM), `scoring` (the fraud
model's features, rules and score: pure functions, notebook 08), `models` (the model versions
in the bucket) and `cluster` (a session's executors and their tasks, notebook 09). The names below stay importable from `lab_utils.pipeline` whatever moves inside.
"""

from . import models, scoring
from .checkpoint import FIX_RESET
from .cluster import executors, executors_page, wait_for_executors
from .failures import explain_error, explain_failure
from .lake import LAKE_QUERY, LakePipeline, start_lake
from .medallion import add_to_gold, to_bronze, to_gold
from .queries import (DEFAULT_TRIGGER_S, MAX_OFFSETS_PER_TRIGGER, OUTPUT_QUERY, REJECTED_QUERY, Pipeline,
                      committed_offsets, kafka_source, observe_output, observe_rejected, start, stop)
from .session import get_spark, spark_conf
from .transform import JSON_OPTIONS, classify, ingest_time, rates_map, to_output, to_rejected

__all__ = [
    "DEFAULT_TRIGGER_S", "FIX_RESET", "JSON_OPTIONS", "LAKE_QUERY", "MAX_OFFSETS_PER_TRIGGER", "OUTPUT_QUERY",
    "REJECTED_QUERY", "LakePipeline", "Pipeline", "add_to_gold", "classify", "committed_offsets", "executors",
    "executors_page", "explain_error",
    "explain_failure", "get_spark", "ingest_time", "kafka_source", "models", "observe_output", "observe_rejected",
    "rates_map", "scoring", "spark_conf", "start", "start_lake", "stop", "to_bronze", "to_gold", "to_output",
    "to_rejected", "wait_for_executors",
]
