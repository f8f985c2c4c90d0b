"""The pipeline's transformations: what a student reads (the seed's `consumer_spark.py`).

Plain functions from DataFrame to DataFrame, with every input passed in (no configuration
read, no service, no lock), so they run the same on a small batch DataFrame in a notebook
cell or a unit test and on the Kafka stream:

    checked = classify(raw, rates)          # + parsed fields and `reason` (null when valid)
    valid = to_output(checked, "Europe/Paris")   # the output/ columns (docs/contract.md)
    rejected = to_rejected(checked)         # the rejected/ columns: raw_value + reason

`raw` has Kafka's columns (key, value as bytes, partition, offset); `rates` maps a currency
code to EUR for one unit (`lab_utils.messages.load_rates()`). The reject reasons, in the order
they are checked, are `lab_utils.messages.REJECT_REASONS`; `lab_utils.messages.verdict()` is
the plain-Python reference the tests compare against. Starting, stopping and guarding the
queries is lab_utils.pipeline.queries' job.
"""

from __future__ import annotations

from typing import Mapping

from .. import messages

# JSON parsing options shared by every parse. Spark's defaults accept single quotes; the
# contract's messages are strict JSON, so a single-quoted message is malformed_json.
# Jackson's limits are pinned, not left to a Spark upgrade, because messages.verdict() applies
# the same ones; the depth gets one more level for the "[...]" that classify() wraps around.
JSON_OPTIONS = {"allowSingleQuotes": "false", "mode": "PERMISSIVE",
                "maxNestingDepth": str(messages.MAX_NESTING_DEPTH + 1),
                "maxNumLen": str(messages.MAX_NUMBER_DIGITS)}
# The instants a valid timestamp may name (messages.MIN_INSTANT / MAX_INSTANT), as UTC literals.
MIN_EVENT_TIME = messages.MIN_INSTANT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
MAX_EVENT_TIME = messages.MAX_INSTANT.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

_BOM = b"\xef\xbb\xbf"


def rates_map(rates: Mapping[str, float]):
    """The rates table (devise -> taux_eur) as a literal Spark map column."""
    from pyspark.sql import functions as F

    return F.create_map(*[x for code, rate in sorted(rates.items()) for x in (F.lit(code), F.lit(float(rate)))])


def classify(raw, rates: Mapping[str, float]):
    """Parse and validate Kafka records: adds the typed fields and `reason` (null = valid).

    Input: a DataFrame with Kafka's `value` (binary), `partition` and `offset` columns;
    `rates`: EUR for one unit of each currency (`messages.load_rates()`).
    Each row gets exactly one reason, the first of messages.REJECT_REASONS that applies:
    the same rules as messages.verdict().
    """
    from pyspark.sql import functions as F

    fields = messages.FIELDS
    text = F.col("value").cast("string")
    df = raw.withColumn("_text", text)
    # 1. One parse to a map tells what is present (missing vs null, duplicated) and whether
    #    the value is a JSON object at all. The value is parsed inside "[...]" because
    #    Spark's JSON reader stops after the first object and would accept `{...} trailing`.
    wrapped = F.from_json(F.concat(F.lit("["), F.col("_text"), F.lit("]")), "array<map<string,string>>",
                          JSON_OPTIONS)
    # ... but the reader also stops at the first "]" that closes the wrapper, so `{...}] junk`
    # would pass as one object. A second wrapper with one more element tells them apart: only a
    # text that is exactly one JSON value gives 1 element in "[text]" AND 2 in "[text,0]"; a text
    # that closes the wrapper early gives the same count in both.
    # That second parse is the costliest of all (it turns the object back into text), and only a
    # text holding a "]" can close the wrapper early: without one, the wrapper's own "]" is the
    # first, so the first parse alone is exact (the CASE skips the second).
    sentinel = F.from_json(F.concat(F.lit("["), F.col("_text"), F.lit(",0]")), "array<string>", JSON_OPTIONS)
    one_value = F.when(~F.col("_text").contains("]"), F.lit(True)).otherwise(F.size(sentinel) == 2)
    # Each parse is its own column, so Spark evaluates it once per row, not once per use.
    df = df.withColumn("_wrapped", wrapped)
    df = df.withColumn("_fields", F.when((F.size("_wrapped") == 1) & one_value,
                                         F.try_element_at("_wrapped", F.lit(1))))
    # 2. One typed parse: a field whose JSON type is wrong (12.0 or "12" for a long, "100"
    #    for a double) comes back null on its own, the other fields still parse
    #    (spark.sql.json.enablePartialResults).
    df = df.withColumn("_typed", F.from_json(
        "_text", "transaction_id LONG, montant DOUBLE, devise STRING, timestamp STRING", JSON_OPTIONS))

    present = F.map_keys("_fields")
    missing = F.lit(False)
    null_field = F.lit(False)
    for name in fields:
        missing = missing | ~F.array_contains(present, name)
        null_field = null_field | F.try_element_at("_fields", F.lit(name)).isNull()

    transaction_id = F.col("_typed.transaction_id")
    montant = F.col("_typed.montant")
    devise = F.upper(F.trim(F.col("_typed.devise")))
    taux = F.try_element_at(rates_map(rates), devise)
    ts_text = F.col("_typed.timestamp")
    # Strict ISO 8601 shape first (Spark's cast alone also takes "2026-11-27" or "2026-11-27T22"),
    # then try_cast to name a real instant: 2026-02-30 or hour 25 become null, not an error.
    ts_shape = ts_text.rlike(f"^(?:{messages.TIMESTAMP_PATTERN})\\z")
    df = df.withColumn("_event_time", F.expr("try_cast(regexp_replace(_typed.timestamp, '^(.{10}) ', '$1T') AS TIMESTAMP)"))
    event_time = F.col("_event_time")

    reason = (
        F.when(F.col("value").isNull(), "null_message")
        .when(F.length("value") == 0, "empty_message")
        .when(~F.expr("is_valid_utf8(_text)"), "not_utf8")
        .when(F.col("value").startswith(F.lit(_BOM)) | F.col("_fields").isNull(), "malformed_json")
        # Spark's JSON map keeps both copies of a duplicated key (and returns the first).
        .when(F.size(present) != F.size(F.array_distinct(present)), "duplicate_field")
        .when(missing, "missing_field")
        .when(null_field, "null_field")
        .when(transaction_id.isNull() | (transaction_id <= 0), "invalid_transaction_id")
        .when(montant.isNull() | F.isnan(montant) | (F.abs(montant) == float("inf")) | (montant <= 0),
              "invalid_montant")
        .when(taux.isNull(), "unknown_currency")
        .when(~ts_shape | event_time.isNull()
              | (event_time < F.lit(MIN_EVENT_TIME).cast("timestamp"))
              | (event_time > F.lit(MAX_EVENT_TIME).cast("timestamp")), "invalid_timestamp")
    )
    return (df.withColumn("reason", reason)
              .withColumn("transaction_id", transaction_id)
              .withColumn("montant", montant)
              .withColumn("devise", devise)
              .withColumn("taux_eur", taux)
              .withColumn("event_time", event_time))


def to_output(checked, timezone: str):
    """Valid rows with the output/ columns (docs/contract.md): EUR amount, instant, local time, date,
    then the message's optional details (messages.DETAILS: card_id, merchant_category, country,
    channel; null when absent) and the two columns a fraud model fills when the stream scores
    (fraud_score, model_version: null here; lab_utils.pipeline.scoring.score() sets them).

    `timezone`: the IANA zone of the local columns (LAB_TIMEZONE, e.g. "Europe/Paris").
    """
    from pyspark.sql import functions as F

    tz = timezone
    # montant * taux in decimal, then half-up to cents: doubles would round 1.005 EUR down.
    # decimal(38,12) holds amounts below 10^26; a valid larger one (docs/contract.md: any finite number
    # > 0) is converted in doubles, where cents mean nothing, instead of failing the query
    # (ANSI casts raise on overflow, and one such message would stop the stream for good).
    exact = F.try_multiply(F.expr("try_cast(montant AS decimal(38,12))"), F.expr("try_cast(taux_eur AS decimal(38,12))"))
    montant_eur = F.coalesce(F.round(exact, 2).cast("double"), F.round(F.col("montant") * F.col("taux_eur"), 2))
    # The wall clock in `tz`: shift the instant, then drop the zone (the session zone is UTC).
    local = F.from_utc_timestamp("event_time", tz).cast("timestamp_ntz")
    return (checked.where(F.col("reason").isNull())
            .select(
                F.col("transaction_id").cast("long"),
                "montant",
                "devise",
                "taux_eur",
                montant_eur.alias("montant_eur"),
                "event_time",
                F.lit(tz).alias("timezone"),
                local.alias("event_time_local"),
                F.to_date(local).alias("event_date"),
                F.col("partition").cast("int").alias("kafka_partition"),
                F.col("offset").cast("long").alias("kafka_offset"),
                ingest_time().alias("ingest_time"),
                # The first parse already holds every field as text: no second parse for these.
                *[F.try_element_at("_fields", F.lit(name)).alias(name) for name in messages.DETAILS],
                # The same columns whether the stream scores or not, so a folder never mixes two
                # schemas (a reader takes the first file's) and a checkpoint runs either way.
                F.lit(None).cast("double").alias("fraud_score"),
                F.lit(None).cast("string").alias("model_version"),
            ))


def ingest_time():
    """The moment Spark reads each row (docs/contract.md: ingest_time), in milliseconds.

    Not `current_timestamp()`: a stream replaces it with each batch's time as a constant, which
    Spark writes into the generated Java code, so every micro-batch compiled the whole query's
    code again (and the JVM never got to optimise it). Reading the clock per row keeps the code
    identical from batch to batch.
    """
    from pyspark.sql import functions as F

    return F.expr("timestamp_millis(cast(reflect('java.lang.System', 'currentTimeMillis') AS BIGINT))")


def to_rejected(checked):
    """Rejected rows: the message as received (text; the exact bytes too), its reason, its origin."""
    from pyspark.sql import functions as F

    return (checked.where(F.col("reason").isNotNull())
            .select(
                F.expr("make_valid_utf8(_text)").alias("raw_value"),
                "reason",
                F.col("partition").cast("int").alias("kafka_partition"),
                F.col("offset").cast("long").alias("kafka_offset"),
                ingest_time().alias("ingest_time"),
                F.col("key").cast("string").alias("kafka_key"),
                F.col("value").alias("raw_bytes"),
            ))


