"""`get_spark()`: the one place where the lab's SparkSession is configured.

Notebooks call `spark = lab_utils.get_spark()` and never set a jar, an endpoint or a key
themselves. Everything Spark needs beyond pyspark itself comes from the local
folder `.lab/jars/spark/` that `stack up` fills from stack/spark/pom.xml: nothing is
downloaded at run time (no `--packages`).
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

from .. import config as _config
from .. import i18n
from ..clients import health
from ..errors import SetupFailed
from . import metrics

# Our own checkpoint manager (stack/spark/src/...): on S3A it writes each checkpoint file
# straight to its final name, which S3 makes visible atomically on close, instead of
# write-then-rename (a non-atomic copy + delete on S3). Spark's own equivalent lives in
# spark-hadoop-cloud, which Maven Central does not serve for Spark 4.2.
CHECKPOINT_MANAGER = "lab.spark.AbortableCheckpointFileManager"
LOG4J2_CONFIG = _config.SPARK_LOG4J2
# Class-data sharing: the classes a lab session loads (Spark, Scala, Jackson, ...), parsed and
# verified once by `stack up` into an archive that every later driver JVM maps instead of
# loading them again from the jars. It takes about 40 % off the first get_spark(). `stack up`
# builds it (lab_utils.services.class_archive); a session only maps it when it exists.
CLASS_ARCHIVE_DIR = _config.CLASS_ARCHIVE_DIR
# Unreadable or stale archives are ignored by the JVM (-Xshare:auto, its default); these keep
# its warnings about that, and about classes it cannot archive, out of the notebook's cells.
_QUIET_CDS = "-Xlog:cds=off -Xlog:cds+dynamic=off"
# Delta Lake (the lake's tables, lab_utils.pipeline.lake): its SQL (OPTIMIZE, VACUUM, DESCRIBE
# HISTORY, `delta.`path`` tables) and its catalog. Set only when `stack up` fetched its jar: a
# catalog class that is not on the classpath would break every table operation of the session.
DELTA_JAR = "delta-spark_"
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # Rebuilding a table's state from its log (which files, which txn versions: every idempotent write
    # asks) is a Spark job with 50 tasks by default, sized for big tables; the lab's tables hold a few
    # thousand log entries, and 50 tasks on 2 cores made each micro-batch minutes long under load.
    "spark.databricks.delta.snapshotPartitions": "1",
    # VACUUM lists a table's folder with this many tasks (Spark's default, 10,000, is sized for cloud
    # folders of millions of files): 10,000 tasks on 2 cores kept one VACUUM busy for many minutes.
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "4",
}

_ = i18n.catalog(__name__, {
    "no_jars": {
        "en": "no Spark connector jars in {folder}: run `python -m lab_utils stack up` (it fetches them once with Maven)",
        "fr": "aucun jar de connecteur Spark dans {folder} : lancez `python -m lab_utils stack up` (il les télécharge "
              "une fois avec Maven)",
    },
})
# An executor on the lab's standalone cluster: what one worker lends (lab_utils.services.spark_cluster).
EXECUTOR_CORES = "1"
EXECUTOR_MEMORY = "512m"


def spark_jars(required: bool = True) -> list[Path]:
    """The connector jars `stack up` fetched; SetupFailed naming the fix when there are none and `required`."""
    jars = sorted(_config.SPARK_JARS.glob("*.jar"))
    if not jars and required:
        raise SetupFailed(_("no_jars", folder=_config.SPARK_JARS))
    return jars


def class_archive() -> Path | None:
    """Where the class archive for this JVM, pyspark and jar set lives (None without a java).

    Its name changes with any of them, so an upgrade never maps a stale archive.
    """
    import pyspark

    java = health.driver_java()
    if java is None:
        return None
    st = java.stat()
    stamp = _config.SPARK_JARS / ".pom-sha256"
    key = "|".join([str(java), str(st.st_size), str(st.st_mtime_ns), pyspark.__version__,
                    stamp.read_text() if stamp.exists() else ""])
    return CLASS_ARCHIVE_DIR / f"spark-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"


def driver_java_options(archive: Path | None) -> str:
    """The driver JVM's options: the lab's log config, and the class archive when it exists."""
    # -Xss: threads get 16 MiB of stack instead of 1 (Spark's own test JVMs run with 4). Spark matches
    # the error of a Python foreachBatch function (the lake's query) with a regular expression that
    # recurses once per character, and 1 MiB overflowed on a long error: the query then hung in
    # place of stopping (issue 18). Stacks are reserved, not used, until a thread needs them.
    options = f"-Dlog4j2.configurationFile={LOG4J2_CONFIG.as_uri()} -Xss16m"
    if archive is not None and archive.exists():
        options += f" -XX:SharedArchiveFile={archive} {_QUIET_CDS}"
    return options


def spark_conf(cfg: _config.LabConfig | None = None, require_connectors: bool = True) -> dict[str, str]:
    """Every Spark setting of the lab, as a plain dict (tests and the compose stack read it too).

    require_connectors=False: without the Kafka and S3A jars (not fetched yet), a session for
    local DataFrames only (the unit tests); with them, the same session as everyone's.
    """
    cfg = cfg or _config.load()
    jars = spark_jars(required=require_connectors)
    secure = cfg.AWS_ENDPOINT_URL.startswith("https")
    # With a standalone cluster elsewhere (compose profile spark-cluster), executors must reach
    # the driver, so it listens on its host name; on one machine everything stays on 127.0.0.1.
    remote = _remote_master(cfg.SPARK_MASTER)
    return {
        "spark.master": cfg.SPARK_MASTER,
        "spark.app.name": "streaming-lab",
        "spark.jars": ",".join(str(j) for j in jars),
        # A laptop: a 1 GiB driver, few shuffle partitions (2 cores; the default 200 makes
        # 200 tiny tasks and 200 small files per micro-batch).
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "4",
        # On a standalone cluster (LAB_SPARK_WORKERS; ignored by local[*]): one executor per worker,
        # with the worker's one core and a 512 MiB heap (lab_utils.services.spark_cluster sizes them),
        # logging like the driver.
        "spark.executor.cores": EXECUTOR_CORES,
        "spark.executor.memory": EXECUTOR_MEMORY,
        "spark.executor.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J2_CONFIG.as_uri()}",
        # A task goes to the first free executor, at once. Spark's Kafka source asks for the executor
        # that already holds a partition's consumer, and the scheduler waits up to 3 s for it; a live
        # micro-batch's task is shorter than that, so the first executor got them all back and a
        # worker that joined a running query was never given one. With this and one task per Kafka
        # partition on a cluster (lab_utils.pipeline.queries), lesson 09's new executor ran 3 of 81.
        "spark.locality.wait": "0s",
        # docs/contract.md: every port on 127.0.0.1; the UI on 4040.
        "spark.driver.host": socket.gethostname() if remote else "127.0.0.1",
        "spark.driver.bindAddress": "0.0.0.0" if remote else "127.0.0.1",
        "spark.ui.port": cfg.SPARK_UI_PORT,
        "spark.ui.showConsoleProgress": "false",
        # Results must not depend on the machine's time zone; local times are computed
        # explicitly with LAB_TIMEZONE by the pipeline.
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": driver_java_options(class_archive()),
        "spark.sql.streaming.checkpointFileManagerClass": CHECKPOINT_MANAGER,
        # The pipeline's validation (lab_utils.pipeline.classify) relies on it: a JSON field
        # of the wrong type becomes null on its own, not the whole record.
        "spark.sql.json.enablePartialResults": "true",
        # S3A -> MinIO, with the lab's key (not MinIO's root).
        "spark.hadoop.fs.s3a.endpoint": cfg.AWS_ENDPOINT_URL,
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(secure).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key": cfg.AWS_ACCESS_KEY_ID,
        "spark.hadoop.fs.s3a.secret.key": cfg.AWS_SECRET_ACCESS_KEY,
        # MinIO is on this machine: when it is down, fail in seconds, not after minutes of retries.
        "spark.hadoop.fs.s3a.attempts.maximum": "3",
        "spark.hadoop.fs.s3a.retry.limit": "3",
        "spark.hadoop.fs.s3a.connection.establish.timeout": "15s",  # S3A raises anything lower to 15 s, with a warning
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        # LAB_MONITORING=true: Spark's own metrics for Prometheus (none when it is off).
        **metrics.driver_conf(cfg),
    } | (DELTA_CONF if any(j.name.startswith(DELTA_JAR) for j in jars) else {})


def _remote_master(master: str) -> bool:
    host = urlparse(master).hostname if master.startswith("spark://") else None
    return host not in (None, "127.0.0.1", "localhost")


def get_spark(app_name: str | None = None, cfg: _config.LabConfig | None = None,
              require_connectors: bool = True, **overrides: str):
    """The lab's SparkSession (created once per process, then reused).

    `overrides` are extra Spark settings, e.g. `get_spark(**{"spark.sql.shuffle.partitions": "8"})`.
    Before a JVM starts, checks the driver's Java (JAVA_HOME) and that a spark:// master answers:
    pyspark would otherwise fail with a launcher trace, or retry an absent master for a minute.
    """
    from pyspark.sql import SparkSession

    cfg = cfg or _config.load()
    health.require_driver_java()
    health.require_spark_master(cfg)
    conf = spark_conf(cfg, require_connectors=require_connectors)
    # Spark binds its UI to SPARK_LOCAL_IP, else 0.0.0.0, whatever bindAddress says; the JVM
    # inherits this process's environment, so this keeps the UI on 127.0.0.1 (docs/contract.md).
    # In a container (JUPYTER in compose) the image sets SPARK_LOCAL_IP itself.
    os.environ.setdefault("SPARK_LOCAL_IP", conf["spark.driver.bindAddress"])
    if app_name:
        conf["spark.app.name"] = app_name
    conf.update(overrides)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    if cfg.monitoring:
        metrics.watch(spark, cfg)
    return spark
