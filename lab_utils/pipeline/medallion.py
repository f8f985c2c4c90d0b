"""What each table of the lake holds: bronze, silver, gold (pure functions, like transform.py).

    bronze = to_bronze(checked)                      # every Kafka record as received
    silver = to_output(checked, tz)                  # transform.py: the valid rows (output/'s columns)
    rejected = to_rejected(checked)                  # transform.py: the rejected rows, with a reason
    batch_gold = to_gold(silver)                     # this batch's EUR totals per local hour and currency
    gold = add_to_gold(previous_gold, batch_gold)    # the running totals, after this batch

Bronze keeps the message exactly as Kafka gave it, so anything silver does can be redone
from it (a new rule, a new field). Silver is what analysts query. Gold is small and ready for
a dashboard: per local date, local hour and currency, how many transactions and how many EUR.
Writing them, once per micro-batch and exactly once, is lab_utils.pipeline.lake's job.
"""

from __future__ import annotations

from .transform import ingest_time

# The gold table's key: one row per local date, local hour and currency.
GOLD_KEY = ("event_date", "hour", "devise")


def to_bronze(raw):
    """Kafka's columns as received, named like silver's (`kafka_...`), and when Spark read them.

    `raw`: a DataFrame with Kafka's columns (key, value, topic, partition, offset, timestamp).
    """
    from pyspark.sql import functions as F

    return raw.select(
        F.col("key").alias("kafka_key"),
        F.col("value").alias("kafka_value"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").cast("int").alias("kafka_partition"),
        F.col("offset").cast("long").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        ingest_time().alias("ingest_time"),
    )


def to_gold(silver):
    """One batch of valid rows (to_output's columns) summed per local date, local hour and currency."""
    from pyspark.sql import functions as F

    return (silver.groupBy("event_date", F.hour("event_time_local").alias("hour"), "devise")
            .agg(F.count(F.lit(1)).alias("transactions"), F.sum("montant_eur").alias("montant_eur")))


def add_to_gold(previous, batch):
    """The gold table after a batch: its previous rows plus the batch's totals, key by key.

    Amounts are rounded to cents after each addition: a total stays a number of cents however many
    batches added to it (a running sum of doubles would gather rounding errors).
    """
    from pyspark.sql import functions as F

    return (previous.unionByName(batch)
            .groupBy(*GOLD_KEY)
            .agg(F.sum("transactions").cast("long").alias("transactions"),
                 F.round(F.sum("montant_eur"), 2).alias("montant_eur")))
