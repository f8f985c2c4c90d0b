"""The environment table (notebook 00, `doctor`) and the preflight (first code cell of every notebook).

    environment()     # every component, ✅/❌, and the fix for each ❌ (a pandas DataFrame)
    preflight()       # one ✅ line, or ServiceDown naming the fix
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

from .. import config as _config
from ..clients import kafka, storage
from ..clients.health import require_services
from ..errors import ServiceDown
from ..services import java_major, versions
from .verdict import FAIL, OK, OPTIONAL, Verdict


@dataclass
class Component:
    component: str
    status: str
    found: str
    fix: str = ""


def _java() -> Component:
    java = shutil.which("java")
    major = java_major(java) if java else 0
    ok = major >= 17
    return Component("Java (JDK 17+)", OK if ok else FAIL, f"Java {major}" if major else "no `java` on PATH",
                     "" if ok else "install OpenJDK 17 (`apt-get install openjdk-17-jdk-headless`) and put it on PATH")


def _pyspark() -> Component:
    want = versions().get("spark", "?")
    try:
        import pyspark
        have = pyspark.__version__
    except ImportError:
        have = "not installed"
    ok = have == want
    return Component("PySpark", OK if ok else FAIL, have,
                     "" if ok else f"the lab pins Spark {want}: run `make lab` (it installs the pinned packages)")


def _spark_jars() -> Component:
    jars = sorted(p.name for p in _config.SPARK_JARS.glob("*.jar"))
    needed = ("spark-sql-kafka-0-10", "hadoop-aws")
    missing = [n for n in needed if not any(j.startswith(n) for j in jars)]
    return Component("Spark connectors (Kafka, S3A)", FAIL if missing else OK,
                     f"{len(jars)} jars in .lab/jars/spark" if not missing else f"missing {', '.join(missing)}",
                     "run `python -m lab_utils stack up` (fetches them once with Maven)" if missing else "")


def _kafka(cfg: _config.LabConfig) -> list[Component]:
    version = versions()["kafka"]
    if not kafka.kafka_ready(cfg):
        return [Component("Kafka broker", FAIL, f"nothing answers at {cfg.KAFKA_BOOTSTRAP_SERVERS}",
                          "run `make lab` or `python -m lab_utils stack up` (or `docker compose up -d`)"),
                Component(f"Kafka topic {cfg.KAFKA_TOPIC}", FAIL, "broker down", "start the broker first")]
    topics = kafka.list_topics(cfg)
    has_topic = cfg.KAFKA_TOPIC in topics
    return [Component("Kafka broker", OK, f"Apache Kafka {version} at {cfg.KAFKA_BOOTSTRAP_SERVERS}"),
            Component(f"Kafka topic {cfg.KAFKA_TOPIC}", OK if has_topic else FAIL,
                      "exists" if has_topic else "missing",
                      "" if has_topic else "run `python -m lab_utils stack up` (it creates the topic)")]


def _minio(cfg: _config.LabConfig) -> list[Component]:
    if not storage.minio_ready(cfg):
        return [Component("MinIO (S3)", FAIL, f"nothing answers at {cfg.AWS_ENDPOINT_URL}",
                          "run `make lab` or `python -m lab_utils stack up` (or `docker compose up -d`)"),
                Component(f"bucket {cfg.LAB_BUCKET}", FAIL, "MinIO down", "start MinIO first")]
    try:
        storage.filesystem(cfg).ls(cfg.LAB_BUCKET, refresh=True)
        bucket = Component(f"bucket {cfg.LAB_BUCKET}", OK, f"readable with the lab's key {cfg.AWS_ACCESS_KEY_ID}")
    except Exception as e:  # noqa: BLE001 - shown in the table with its fix
        bucket = Component(f"bucket {cfg.LAB_BUCKET}", FAIL, f"{type(e).__name__}: {e}"[:120],
                           "run `python -m lab_utils stack up` (it creates the bucket and the lab's key)")
    return [Component("MinIO (S3)", OK, f"MinIO {versions()['minio']} at {cfg.AWS_ENDPOINT_URL}"), bucket]


def _docker() -> Component:
    docker = shutil.which("docker")
    if not docker:
        return Component("Docker (optional)", OPTIONAL, "not installed",
                         "not needed: the native stack runs without it")
    try:
        engine = subprocess.run([docker, "ps"], capture_output=True, text=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        engine = False
    if engine:
        return Component("Docker (optional)", OK, "`docker ps` answers")
    return Component("Docker (optional)", OPTIONAL, "client only, no engine answers `docker ps`",
                     "not needed: use the native stack (`python -m lab_utils stack up`)")


def environment(cfg: _config.LabConfig | None = None):
    """Every component the lab needs, as a pandas DataFrame: component, status, found, fix."""
    import pandas as pd

    cfg = cfg or _config.load()
    py_ok = sys.version_info[:2] >= (3, 10)
    rows = [Component("Python", OK if py_ok else FAIL, platform.python_version(),
                      "" if py_ok else "the lab needs Python 3.10 or newer (3.11 recommended)"),
            _java(), _pyspark(), _spark_jars(), *_kafka(cfg), *_minio(cfg), _docker()]
    return pd.DataFrame([vars(c) for c in rows]).rename(columns=str.capitalize)


def preflight(cfg: _config.LabConfig | None = None) -> Verdict:
    """Check that Kafka, its topic and MinIO answer; raise ServiceDown naming the fix if not.

    Returns a one-line ✅ saying what was found (shown as the first cell's output).
    """
    cfg = require_services(cfg)
    if cfg.KAFKA_TOPIC not in kafka.list_topics(cfg):
        raise ServiceDown(f"topic {cfg.KAFKA_TOPIC} does not exist: run `python -m lab_utils stack up` (it creates it)")
    import pyspark

    return Verdict(True, f"Kafka {cfg.KAFKA_BOOTSTRAP_SERVERS} (topic {cfg.KAFKA_TOPIC}), "
                         f"MinIO {cfg.AWS_ENDPOINT_URL} (bucket {cfg.LAB_BUCKET}), PySpark {pyspark.__version__}")
