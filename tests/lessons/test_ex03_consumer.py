"""Notebook 03's checks (lab_utils/lessons/ex03_consumer.py), the comparison with the lab's pipeline, and the
consumer as a spark-submit job (scripts/consumer_spark.py, lab_utils/services/spark_submit.py).

Every check says ❌ to the untouched placeholder and to plausible wrong answers, ✅ to the notebook's own
solution, and speaks English and French. The solutions are the notebook's: the definitions in its cells
tagged `solution` (notebooks/src/03_streaming_query.md), run here as they are, not copied.
The checks that need no service run on a local Spark session; the others on the live stack.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import stat
import subprocess
import sys
from collections import Counter

import nbformat
import pytest

from lab_utils import checks, config, messages, pipeline, producer, storage
from lab_utils.generator import TransactionGenerator
from lab_utils.lessons import ex03_consumer
from lab_utils.services import spark_submit

NOTEBOOK = config.NOTEBOOKS_DIR / "en" / "03_streaming_query.ipynb"


def notebook_solutions(**names) -> dict:
    """The notebook's solutions: the functions and constants its `solution` cells define (their asserts,
    which run the checks, are left out), evaluated with `names` (e.g. spark, cfg) in scope."""
    from pyspark.sql import functions as F

    scope = {"F": F, **names}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if "solution" not in cell.get("metadata", {}).get("tags", []):
            continue
        tree = ast.parse(cell.source)
        tree.body = [node for node in tree.body if not isinstance(node, ast.Assert)]
        code = compile(tree, f"{NOTEBOOK.name}:solution", "exec")
        if "spark" in cell.source and "spark" not in scope:
            continue  # needs a live session with the Kafka source: the integration tests pass one
        exec(code, scope)  # noqa: S102 - the notebook's own solution cells
    return scope


@pytest.fixture(scope="module")
def solution():
    """Yields the notebook's solution functions by name (solution_parse, ...). Cleans up nothing."""
    return notebook_solutions()


@pytest.fixture
def french():
    """Yields with the checks speaking French; puts back the language chosen before."""
    before = config.use_language("fr")
    yield
    config.use_language(before)


def rejects(verdict, *words):
    assert not verdict, f"accepted a wrong answer: {verdict}"
    assert str(verdict).startswith(checks.FAIL)
    for word in words:
        assert word in str(verdict), f"{word!r} not in {verdict}"


def placeholder(*args):
    return ...


# --------------------------------------------------------------------------- the steps, no service needed


def test_parse(spark, solution):
    from pyspark.sql import functions as F

    def parse_with(schema, options=None, rows=lambda df: df):
        def parse(raw):
            text = F.col("value").cast("string")
            return rows(raw.select(text.alias("raw_value"), F.from_json(text, schema, options or {}).alias("json"),
                                   F.col("partition").alias("kafka_partition"), F.col("offset").alias("kafka_offset"))
                        .select("raw_value", "json.*", "kafka_partition", "kafka_offset"))
        return parse

    good = "transaction_id LONG, montant DOUBLE, devise STRING, timestamp STRING, _corrupt_record STRING"
    strict = {"allowSingleQuotes": "false"}
    assert checks.parse(solution["solution_parse"], spark)
    rejects(checks.parse(placeholder, spark), "not done yet")
    rejects(checks.parse(parse_with(good), spark), "allowSingleQuotes")  # Spark's lenient default
    no_corrupt = "transaction_id LONG, montant DOUBLE, devise STRING, timestamp STRING"
    rejects(checks.parse(parse_with(no_corrupt, strict), spark), "_corrupt_record")
    rejects(checks.parse(parse_with(good.replace("montant DOUBLE", "montant STRING"), strict), spark),
            "montant", "double")
    rejects(checks.parse(parse_with(good, strict, rows=lambda df: df.where("_corrupt_record IS NULL")), spark),
            "keep every message")
    rejects(checks.parse(lambda raw: solution["solution_parse"](raw).drop("kafka_offset"), spark), "kafka_offset")


def test_with_rate(spark, solution):
    from pyspark.sql import functions as F

    assert checks.with_rate(solution["solution_with_rate"], spark)
    rejects(checks.with_rate(placeholder, spark), "not done yet")
    rejects(checks.with_rate(lambda parsed, rates: parsed.withColumn("devise", F.upper(F.trim("devise")))
                             .join(rates, "devise"), spark), "how=\"left\"")
    rejects(checks.with_rate(lambda parsed, rates: parsed.withColumn("devise", F.upper("devise"))
                             .join(rates, "devise", "left"), spark), "F.trim")
    rejects(checks.with_rate(lambda parsed, rates: parsed.withColumn("devise", F.trim("devise"))
                             .join(rates, "devise", "left"), spark), "F.upper")
    # normalised for the join only: devise keeps the message's spelling
    rejects(checks.with_rate(lambda parsed, rates: parsed.withColumn("code", F.upper(F.trim("devise")))
                             .join(rates.withColumnRenamed("devise", "code"), "code", "left").drop("code"), spark),
            "devise")


def test_add_reason(spark, solution):
    from pyspark.sql import functions as F

    right = solution["solution_add_reason"]
    assert checks.add_reason(right, spark)
    rejects(checks.add_reason(placeholder, spark), "not done yet")
    rejects(checks.add_reason(lambda df: right(df).where("reason IS NULL"), spark), "do not filter")

    def rules(nan=True, infinite=True, shape=True, safe=True, order=("missing", "currency")):
        def add_reason(df):
            montant, ts = F.col("montant"), F.col("timestamp")
            bad_montant = montant <= 0
            bad_montant = bad_montant | F.isnan(montant) if nan else bad_montant
            bad_montant = bad_montant | (montant == float("inf")) if infinite else bad_montant
            parsed = F.try_to_timestamp(ts) if safe else F.to_timestamp(ts)
            bad_ts = parsed.isNull() | ~ts.rlike(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}") if shape else parsed.isNull()
            missing = (F.col("transaction_id").isNull() | montant.isNull() | F.col("devise").isNull()
                       | ts.isNull(), "missing_field")
            currency = (F.col("taux_eur").isNull(), "unknown_currency")
            first, second = (missing, currency) if order[0] == "missing" else (currency, missing)
            reason = (F.when(F.col("_corrupt_record").isNotNull(), "malformed_json")
                      .when(*first).when(F.col("transaction_id") <= 0, "invalid_transaction_id")
                      .when(bad_montant, "invalid_montant").when(*second).when(bad_ts, "invalid_timestamp"))
            return df.withColumn("reason", reason)
        return add_reason

    assert checks.add_reason(rules(), spark), "the test's own right answer"
    rejects(checks.add_reason(rules(nan=False), spark), "F.isnan")
    rejects(checks.add_reason(rules(infinite=False), spark), "inf")
    rejects(checks.add_reason(rules(shape=False), spark), "2026-11-27", "rlike")
    rejects(checks.add_reason(rules(safe=False), spark), "try_to_timestamp")  # ANSI: to_timestamp raises
    rejects(checks.add_reason(rules(order=("currency", "missing")), spark), "missing_field")


def test_montant_eur(spark, solution):
    from pyspark.sql import functions as F

    exact = F.col("montant").try_cast("decimal(38,12)") * F.col("taux_eur").try_cast("decimal(38,12)")
    assert checks.montant_eur(solution["solution_to_eur"], spark)
    rejects(checks.montant_eur(placeholder, spark), "not done yet")
    rejects(checks.montant_eur(lambda df: df.withColumn("montant_eur", F.col("montant") * F.col("taux_eur")), spark),
            "22.77")  # no rounding: 22.76861
    rejects(checks.montant_eur(lambda df: df.withColumn(
        "montant_eur", F.round(F.col("montant") * F.col("taux_eur"), 2)), spark), "10.69", "decimal")  # doubles
    rejects(checks.montant_eur(lambda df: df.withColumn("montant_eur", F.bround(exact, 2).cast("double")), spark),
            "1.005", "half")  # half even
    rejects(checks.montant_eur(lambda df: df.withColumn("montant_eur", F.round(exact, 2)), spark), "double")
    rejects(checks.montant_eur(lambda df: df.withColumn(
        "montant_eur", F.round(F.round("montant", 2) * F.col("taux_eur"), 2)), spark), "decimal")  # rounded twice
    rejects(checks.montant_eur(lambda df: df, spark), "montant_eur")


def test_local_time(spark, solution):
    from pyspark.sql import functions as F

    def local_with(local, date_of=None):
        def add_local_time(df, timezone):
            event_time = F.try_to_timestamp("timestamp")
            wall = local(event_time, timezone)
            return (df.withColumn("event_time", event_time).withColumn("timezone", F.lit(timezone))
                    .withColumn("event_time_local", wall)
                    .withColumn("event_date", F.to_date(date_of(event_time) if date_of else wall)))
        return add_local_time

    assert checks.local_time(solution["solution_add_local_time"], spark)
    rejects(checks.local_time(placeholder, spark), "not done yet")
    right = local_with(lambda t, tz: F.from_utc_timestamp(t, tz).cast("timestamp_ntz"))
    assert checks.local_time(right, spark), "the test's own right answer"
    rejects(checks.local_time(local_with(lambda t, tz: t.cast("timestamp_ntz")), spark), "from_utc_timestamp")  # UTC
    rejects(checks.local_time(local_with(lambda t, tz: (t + F.expr("INTERVAL 1 HOUR")).cast("timestamp_ntz")), spark),
            "UTC+2")  # a fixed hour
    rejects(checks.local_time(local_with(lambda t, tz: F.from_utc_timestamp(t, "Europe/Paris").cast("timestamp_ntz")),
                              spark), "America/New_York", "parameter")  # the zone hard-coded
    rejects(checks.local_time(local_with(lambda t, tz: F.from_utc_timestamp(t, tz).cast("timestamp_ntz"),
                                         date_of=lambda t: t), spark), "event_date")  # the UTC date
    rejects(checks.local_time(local_with(lambda t, tz: F.from_utc_timestamp(t, tz)), spark), "timestamp_ntz")
    rejects(checks.local_time(local_with(lambda t, tz: F.to_utc_timestamp(t, tz).cast("timestamp_ntz")), spark),
            "event_time_local")  # the wrong direction


def test_batch_numbers(solution):
    assert checks.batch_numbers(solution["solution_batch_numbers"])
    rejects(checks.batch_numbers(placeholder), "not done yet")
    rejects(checks.batch_numbers(lambda p: {"batch": p.batchId, "rows": p.numInputRows,
                                            "rows_per_second": p.processedRowsPerSecond, "keeping_up": True}),
            "inputRowsPerSecond")
    rejects(checks.batch_numbers(lambda p: {"batch": p.batchId, "rows": p.numInputRows,
                                            "rows_per_second": p.inputRowsPerSecond,
                                            "keeping_up": p.inputRowsPerSecond >= p.processedRowsPerSecond}),
            "keeping_up")
    rejects(checks.batch_numbers(lambda p: (p.batchId, p.numInputRows, p.inputRowsPerSecond)), "dict")
    rejects(checks.batch_numbers(lambda p: {"batch": p.batchId, "rows": p.sink.numOutputRows + 1,
                                            "rows_per_second": p.inputRowsPerSecond, "keeping_up": True}), "rows")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_checks_speak_the_notebooks_language(spark, solution, lang):
    """Each check's ✅ and ❌ paths, in English and in French: the same verdict, a text in that language."""
    from pyspark.sql import functions as F

    runs = [
        (lambda: checks.parse(solution["solution_parse"], spark), lambda: checks.parse(lambda r: r, spark)),
        (lambda: checks.with_rate(solution["solution_with_rate"], spark),
         lambda: checks.with_rate(lambda p, r: p.join(r, "devise"), spark)),
        (lambda: checks.add_reason(solution["solution_add_reason"], spark),
         lambda: checks.add_reason(lambda df: df.withColumn("reason", F.lit(None).cast("string")), spark)),
        (lambda: checks.montant_eur(solution["solution_to_eur"], spark),
         lambda: checks.montant_eur(lambda df: df.withColumn("montant_eur", F.col("montant")), spark)),
        (lambda: checks.local_time(solution["solution_add_local_time"], spark),
         lambda: checks.local_time(lambda df, tz: df, spark)),
        (lambda: checks.batch_numbers(solution["solution_batch_numbers"]), lambda: checks.batch_numbers(lambda p: {})),
    ]
    before = config.use_language(lang)
    try:
        for right, wrong in runs:
            good, bad = right(), wrong()
            assert good and not bad, (good, bad)
            for verdict in (good, bad):
                english = any(w in f" {verdict} " for w in (" the ", " every ", " should ", " expected "))
                french = any(w in f" {verdict} " for w in (" la ", " le ", " les ", " chaque ", " doit ", " attendu ",
                                                            " une ", " des "))
                assert (french and not english) if lang == "fr" else (english and not french), verdict
    finally:
        config.use_language(before)


def test_the_spark_submit_command_has_the_labs_settings_and_no_secret(lab_cfg):
    job = spark_submit.job("scripts/consumer_spark.py", ["--folder", "students/ada/submit"], lab_cfg,
                           require_connectors=False)
    conf = pipeline.spark_conf(lab_cfg, require_connectors=False)
    argv = " ".join(job.argv)
    assert job.argv[0].endswith("pyspark/bin/spark-submit") and os.access(job.argv[0], os.X_OK)
    assert job.argv[-3:] == ["scripts/consumer_spark.py", "--folder", "students/ada/submit"]
    assert ["--master", lab_cfg.SPARK_MASTER] == job.argv[1:3]
    if conf["spark.jars"]:
        assert job.argv[job.argv.index("--jars") + 1] == conf["spark.jars"]
    for name, value in conf.items():
        if name in spark_submit.SECRET_SETTINGS:
            assert job.secrets[name] == value
        elif name not in ("spark.master", "spark.jars", "spark.app.name"):
            assert f"{name}={value}" in job.argv, name
    for secret in (lab_cfg.AWS_SECRET_ACCESS_KEY, lab_cfg.AWS_ACCESS_KEY_ID):
        assert secret not in argv and secret not in job.printable()
    assert "spark-sql-kafka" in job.printable() or not conf["spark.jars"]


# --------------------------------------------------------------------------- on the live stack


@pytest.fixture
def filled_topic(cfg, topic):
    """Yields (topic, records): a fresh topic holding 600 generated messages, 20 % bad, of every kind."""
    records = TransactionGenerator(seed=3, bad_ratio=0.2).take(600)
    summary = producer.produce(records=records, count=len(records), topic=topic, progress=False)
    assert summary.acknowledged == len(records)
    return topic, records


def kafka_stream_of(spark, cfg, topic, starting="earliest", source=None):
    reader = ((source or spark.readStream).format("kafka").option("kafka.bootstrap.servers", cfg.KAFKA_BOOTSTRAP_SERVERS)
              .option("subscribe", topic))
    return (reader.option("startingOffsets", starting) if starting else reader).load()


def test_kafka_stream(cfg, spark, filled_topic):
    topic, records = filled_topic
    mine = dataclasses.replace(cfg, KAFKA_TOPIC=topic)
    scope = notebook_solutions(spark=spark, cfg=mine)
    verdict = checks.kafka_stream(scope["solution_raw_stream"], cfg=mine)
    assert verdict and f"{len(records):,}" in str(verdict), verdict
    rejects(checks.kafka_stream(..., cfg=mine), "not done yet")
    rejects(checks.kafka_stream(kafka_stream_of(spark, cfg, topic, starting=None), cfg=mine), "startingOffsets")
    rejects(checks.kafka_stream(kafka_stream_of(spark, cfg, topic, source=spark.read), cfg=mine), "readStream")
    rejects(checks.kafka_stream(kafka_stream_of(spark, cfg, cfg.KAFKA_TOPIC), cfg=mine), "subscribe")
    rejects(checks.kafka_stream(kafka_stream_of(spark, cfg, topic).selectExpr("CAST(value AS STRING)"), cfg=mine),
            "raw columns")


def test_parquet_sink(cfg, spark, solution):
    assert checks.parquet_sink(solution["solution_write_parquet"], spark, cfg)
    rejects(checks.parquet_sink(placeholder, spark, cfg), "not done yet")

    def writer(fmt="parquet", partition=True, trigger=True, start=True, checkpoint=True):
        def write_parquet(df, path, checkpoint_path):
            w = df.writeStream.format(fmt).option("path", path).outputMode("append")
            w = w.option("checkpointLocation", checkpoint_path) if checkpoint else w
            w = w.partitionBy("event_date") if partition else w
            w = w.trigger(availableNow=True) if trigger else w
            return w.start() if start else w
        return write_parquet

    assert checks.parquet_sink(writer(), spark, cfg), "the test's own right answer"
    rejects(checks.parquet_sink(writer(partition=False), spark, cfg), "partitionBy")
    rejects(checks.parquet_sink(writer(trigger=False), spark, cfg), "availableNow")
    rejects(checks.parquet_sink(writer(start=False), spark, cfg), ".start()")
    rejects(checks.parquet_sink(writer(fmt="json"), spark, cfg), "parquet")
    rejects(checks.parquet_sink(writer(checkpoint=False), spark, cfg), "checkpointLocation")
    assert not [q for q in spark.streams.active], "a check left a query running"
    fs = storage.filesystem(cfg)
    fs.invalidate_cache()
    assert not fs.glob(cfg.s3_path("checks", "ex03-*")), "a check left its scratch folder"


def run_consumer(spark, cfg, topic, folder, steps):
    """The notebook's consumer (section 7) with `steps`, on `topic`, into `folder`: returns (output, checkpoint)."""
    from pyspark.sql import functions as F

    rates = spark.createDataFrame(sorted(messages.load_rates().items()), "devise STRING, taux_eur DOUBLE")
    checked = steps["solution_add_reason"](steps["solution_with_rate"](
        steps["solution_parse"](kafka_stream_of(spark, cfg, topic)), rates))
    valid = steps["solution_add_local_time"](steps["solution_to_eur"](checked.where(F.col("reason").isNull())),
                                             cfg.LAB_TIMEZONE).select(*ex03_consumer.OUTPUT_COLUMNS)
    output, checkpoint = cfg.s3a_path(folder, "output"), cfg.s3a_path(folder, "checkpoint", "output")
    query = steps["solution_write_parquet"](valid, output, checkpoint)
    try:
        assert query.awaitTermination(600)
    finally:
        query.stop()
    return output, checkpoint


def test_the_solution_equals_the_labs_pipeline_offset_by_offset(cfg, spark, solution, filled_topic, run_prefix):
    """The notebook's proof on a topic holding every kind of bad message: equal, but for the rules the
    lesson leaves out (listed); a wrong step (doubles for the cents) is shown as differences."""
    from pyspark.sql import functions as F

    topic, records = filled_topic
    mine_output, mine_checkpoint = run_consumer(spark, cfg, topic, f"{run_prefix}/mine", solution)
    reference = f"{run_prefix}/reference"
    with pipeline.start(spark, available_now=True, topic=topic, root=reference) as run:
        run.wait(timeout_s=600)
    committed = checks.read_checkpoint(mine_checkpoint)
    assert committed.batch is not None and sum(committed.offsets.values()) == len(records), committed

    comparison = checks.compare_with_reference(mine_output, mine_checkpoint, reference, spark, cfg)
    accepted = sum(r.expected == "accept" for r in records)
    left_out = sum(r.kind in ex03_consumer.LEFT_OUT for r in records)
    assert comparison, (comparison, comparison.differences)
    assert comparison.counts["same"] == accepted, comparison.counts
    assert 0 < comparison.counts["left_out"] <= left_out, comparison.counts  # e.g. a duplicated id is kept
    assert set(comparison.left_out.iloc[:, 5]) <= set(ex03_consumer.LEFT_OUT)

    # Two wrong consumers: the UTC wall clock as local time (every row differs), NaN amounts kept.
    utc = {**solution, "solution_add_local_time": lambda df, tz: solution["solution_add_local_time"](df, tz)
           .withColumn("event_time_local", F.col("event_time").cast("timestamp_ntz"))}
    no_nan = {**solution, "solution_add_reason": lambda df: solution["solution_add_reason"](df).withColumn(
        "reason", F.when(F.isnan("montant") & (F.col("reason") == "invalid_montant"), None)
        .otherwise(F.col("reason")))}
    nan = sum(r.expected == "invalid_montant" and b'"montant": NaN' in r.value for r in records)  # several_faults too
    assert nan, "the topic should hold NaN amounts"
    for name, steps in (("utc", utc), ("no_nan", no_nan)):
        output, checkpoint = run_consumer(spark, cfg, topic, f"{run_prefix}/{name}", steps)
        wrong = checks.compare_with_reference(output, checkpoint, reference, spark, cfg)
        assert not wrong and len(wrong.differences), (name, wrong)
        if name == "utc":
            assert wrong.counts["value:event_time_local"] == accepted, wrong.counts
        else:
            assert wrong.counts["extra"] == nan and set(wrong.differences.iloc[:, 5]) == {"invalid_montant"}, \
                (wrong.counts, wrong.differences)


def test_the_consumer_runs_with_spark_submit(cfg, filled_topic, run_prefix):
    """scripts/consumer_spark.py under `python -m lab_utils submit`: it processes the topic (availableNow) into its
    own folder and exits 0; every message lands once, in output/ or rejected/."""
    topic, records = filled_topic
    folder = f"{run_prefix}/submit"
    proc = subprocess.run([sys.executable, "-m", "lab_utils", "submit", ex03_consumer.CONSUMER_SCRIPT,
                           "--topic", topic, "--folder", folder],
                          cwd=config.ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--jars" in proc.stdout and cfg.AWS_SECRET_ACCESS_KEY not in proc.stdout + proc.stderr
    output = storage.read_committed(f"{folder}/output")
    rejected = storage.read_committed(f"{folder}/rejected")
    assert len(output) == sum(r.expected == "accept" for r in records)
    assert len(rejected) == len(records) - len(output)
    assert sorted(zip(output.kafka_partition, output.kafka_offset)) == \
        sorted(set(zip(output.kafka_partition, output.kafka_offset)))
    assert Counter(rejected.reason) == Counter(r.expected for r in records if r.expected != "accept")
    folders = storage.filesystem(cfg).ls(cfg.s3_path(folder, "output"), refresh=True)
    assert any(f.rsplit("/", 1)[-1].startswith("event_date=") for f in folders), folders


def test_submit_names_the_fix_in_one_line(cfg, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lab_utils", "submit", str(tmp_path / "missing.py")],
                          cwd=config.ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "scripts/consumer_spark.py" in proc.stderr


def test_the_secrets_file_is_private_and_deleted():
    """spark-submit gets the S3 key in a file that only its owner can read, deleted after the job."""
    with spark_submit.secrets_file({"spark.hadoop.fs.s3a.secret.key": "s3cr3t"}) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert path.read_text() == "spark.hadoop.fs.s3a.secret.key s3cr3t\n"
    assert not path.exists() and not path.parent.exists()
