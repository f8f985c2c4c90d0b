"""get_spark(): one configuration, local jars only, and a checkpoint manager that is safe on S3A."""

from __future__ import annotations

import pytest

from lab_utils import config
from lab_utils.clients import storage
from lab_utils.pipeline import session


def test_spark_conf_uses_only_local_jars_and_the_lab_key(lab_cfg):
    cfg = lab_cfg
    conf = session.spark_conf(cfg)
    jars = conf["spark.jars"].split(",")
    assert jars and all(j.startswith(str(config.SPARK_JARS)) and j.endswith(".jar") for j in jars)
    assert "spark.jars.packages" not in conf, "nothing may be downloaded at run time"
    assert conf["spark.hadoop.fs.s3a.access.key"] == cfg.AWS_ACCESS_KEY_ID != cfg.MINIO_ROOT_USER
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.sql.streaming.checkpointFileManagerClass"] == session.CHECKPOINT_MANAGER
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"


@pytest.mark.integration
def test_session_has_the_connectors(spark):
    jvm = spark._jvm
    # Each of these raises if its jar is missing from the classpath.
    for cls in ("org.apache.spark.sql.kafka010.KafkaSourceProvider", "org.apache.hadoop.fs.s3a.S3AFileSystem",
                session.CHECKPOINT_MANAGER, "software.amazon.awssdk.services.s3.S3Client"):
        jvm.java.lang.Class.forName(cls, False, jvm.Thread.currentThread().getContextClassLoader())


@pytest.mark.integration
def test_the_driver_maps_the_class_archive_that_stack_up_built(spark):
    """`stack up` builds the archive; every lab session's JVM must actually map it (not just be told to)."""
    archive = session.class_archive()
    assert archive is not None and archive.exists(), (
        f"no class archive at {archive}: `python -m lab_utils stack up` builds it (log: {session.CLASS_ARCHIVE_DIR}/build.log)")
    assert f"-XX:SharedArchiveFile={archive}" in spark.conf.get("spark.driver.extraJavaOptions")
    pid = spark._jvm.java.lang.ProcessHandle.current().pid()
    maps = open(f"/proc/{pid}/maps").read()
    assert str(archive) in maps, "the driver JVM was given the archive but did not map it (stale or unreadable)"


@pytest.mark.integration
def test_checkpoint_manager_writes_atomically_without_rename(cfg, spark, run_prefix):
    """On S3A the manager writes to the final name: invisible until close(), never visible after cancel()."""
    jvm = spark._jvm
    Path = jvm.org.apache.hadoop.fs.Path
    base = Path(cfg.s3a_path(run_prefix, "checkpoint-manager"))
    manager = jvm.lab.spark.AbortableCheckpointFileManager(base, spark._jsc.hadoopConfiguration())
    fs = storage.filesystem(cfg)

    committed = manager.createAtomic(Path(base, "0"), False)
    committed.write(bytearray(b"v1\n{}"))
    assert not fs.exists(cfg.s3_path(run_prefix, "checkpoint-manager", "0")), "visible before close()"
    committed.close()
    assert fs.cat_file(cfg.s3_path(run_prefix, "checkpoint-manager", "0")) == b"v1\n{}"

    cancelled = manager.createAtomic(Path(base, "1"), False)
    cancelled.write(bytearray(b"half a batch"))
    cancelled.cancel()
    assert not fs.exists(cfg.s3_path(run_prefix, "checkpoint-manager", "1")), "cancel() must leave nothing"

    # Without overwrite, a second writer of the same batch file is refused (two queries, one checkpoint).
    with pytest.raises(Exception, match="FileAlreadyExists|already exists"):
        manager.createAtomic(Path(base, "0"), False).close()
    assert fs.find(cfg.s3_path(run_prefix, "checkpoint-manager")) == [cfg.s3_path(run_prefix, "checkpoint-manager", "0")]


def test_too_few_executors_says_which_it_saw_and_where_to_look(spark):
    """The timeout of wait_for_executors is what lesson 09 shows when a worker's executor never takes
    tasks: it names the logs and lists the executors the driver sees, with their tasks."""
    from lab_utils.errors import LabError
    from lab_utils.pipeline import cluster

    spark.range(10).count()  # the driver, this session's only executor, has run a task
    with pytest.raises(LabError) as caught:
        cluster.wait_for_executors(spark, 2, with_tasks=True, timeout_s=0.5, master_ui="http://127.0.0.1:1")
    message = str(caught.value)
    assert "1 executor(s) running tasks, not 2" in message and ".lab/logs/" in message
    assert "executors seen: driver (" in message and "done/running/failed" in message
    assert message.endswith("workers: ?)"), "a master that does not answer is a question mark, not a crash"
