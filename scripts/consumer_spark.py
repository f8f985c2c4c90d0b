"""The seed's consumer_spark.py, as a job: Kafka -> Spark Structured Streaming -> Parquet on MinIO.

Notebook 03 builds this consumer step by step inside the notebook's kernel; here it is as a
script, run by `spark-submit` like the seed's course does. Run it from the repository root:

    .venv/bin/python -m lab_utils submit scripts/consumer_spark.py --folder students/ada/submit

`python -m lab_utils submit` calls pyspark's own `spark-submit` with the lab's jars and settings
(lab_utils.pipeline.spark_conf()), so nothing here names an endpoint, a key or a jar: the
session below gets them from spark-submit, the topic and the time zone from lab_utils.config.

What it does, each step the one a student wrote in notebook 03 (here the lab's transformations,
lab_utils/pipeline/transform.py, which notebook 03 compares the student's steps against):
read the topic from its first offset; parse the JSON, give each bad message its reason, join the
rate of its currency; convert to EUR to the cent and add the time zone, the local time and date;
write the valid rows as Parquet partitioned by event_date, and the rejected ones with their
reason, each query with its own checkpoint, in `--folder` of the bucket:

    <folder>/output/event_date=.../part-*.parquet     <folder>/checkpoint/output/
    <folder>/rejected/part-*.parquet                  <folder>/checkpoint/rejected/

By default it processes what the topic holds, then exits 0 (trigger availableNow). With
`--trigger 5` it keeps running, a micro-batch every 5 seconds, until Ctrl-C. Run again, it
resumes from its checkpoints: each message is written once.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from pyspark.sql import SparkSession

from lab_utils import config, messages, pipeline


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="consumer_spark.py", description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=f"students/{getpass.getuser()}/submit",
                        help="where to write in the bucket (default: students/<your user name>/submit)")
    parser.add_argument("--topic", default=None, help="the topic to read (default: KAFKA_TOPIC)")
    parser.add_argument("--trigger", type=float, default=None, metavar="SECONDS",
                        help="keep running, a micro-batch every SECONDS (default: what the topic holds, then exit)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = config.load()
    spark = SparkSession.builder.getOrCreate()  # every setting comes from spark-submit
    spark.sparkContext.setLogLevel("WARN")

    # 1. Read: the topic as an unbounded table, from its first offset.
    raw = (spark.readStream.format("kafka")
           .option("kafka.bootstrap.servers", cfg.KAFKA_BOOTSTRAP_SERVERS)
           .option("subscribe", args.topic or cfg.KAFKA_TOPIC)
           .option("startingOffsets", "earliest")
           .load())
    # 2. Parse, validate (a reason per bad message), join the rates; 3. EUR and local time.
    checked = pipeline.classify(raw, messages.load_rates())
    sinks = {"output": pipeline.to_output(checked, cfg.LAB_TIMEZONE),
             "rejected": pipeline.to_rejected(checked)}

    # 4. Write: one query per folder, each with its own checkpoint.
    queries = []
    try:
        for name, rows in sinks.items():
            writer = (rows.writeStream.format("parquet")
                      .queryName(name)
                      .option("path", cfg.s3a_path(args.folder, name))
                      .option("checkpointLocation", cfg.s3a_path(args.folder, "checkpoint", name))
                      .outputMode("append"))
            if name == "output":
                writer = writer.partitionBy("event_date")
            if args.trigger:
                writer = writer.trigger(processingTime=f"{args.trigger} seconds")
            else:
                writer = writer.trigger(availableNow=True)
            queries.append(writer.start())
        print(f"consumer_spark: {args.topic or cfg.KAFKA_TOPIC} -> {cfg.s3a_path(args.folder)}/{{output,rejected}}/",
              flush=True)
        for query in queries:
            query.awaitTermination()  # availableNow: returns when the topic is processed; else Ctrl-C
    except KeyboardInterrupt:
        print("consumer_spark: stopping (Ctrl-C)", flush=True)
    finally:
        for query in queries:
            query.stop()
    for query in queries:
        progress = query.recentProgress
        print(f"consumer_spark: {query.name}: {sum(p.numInputRows for p in progress):,} messages read "
              f"in {len(progress)} micro-batches", flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
