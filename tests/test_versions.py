"""One source of truth per kind of version, and the versions agree (a test asserts that
the Spark, Hadoop and connector versions agree)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pyspark
import pytest

from lab_utils import config
from lab_utils.services import builds
from lab_utils.config import ROOT

PYSPARK_JARS = Path(pyspark.__file__).parent / "jars"


def _jar_version(folder: Path, artifact: str) -> str:
    found = [p.name for p in folder.glob(f"{artifact}-[0-9]*.jar")]
    assert len(found) == 1, f"expected one {artifact} jar in {folder}, found {found}"
    return found[0][len(artifact) + 1:-len(".jar")]


def _pyproject_pin(name: str) -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(d.split("==") for d in deps)
    return pins[name]


def test_pyspark_matches_the_connector_pom():
    v = builds.versions()
    assert pyspark.__version__ == v["spark"] == _pyproject_pin("pyspark")


def test_hadoop_aws_matches_the_hadoop_inside_pyspark():
    assert _jar_version(PYSPARK_JARS, "hadoop-client-api") == builds.versions()["hadoop"]


def test_fetched_spark_jars_are_the_pinned_ones():
    pom = builds.SPARK_POM
    spark, hadoop = builds.versions()["spark"], builds.versions()["hadoop"]
    jars = config.SPARK_JARS
    assert _jar_version(jars, "spark-sql-kafka-0-10_2.13") == spark
    assert _jar_version(jars, "spark-token-provider-kafka-0-10_2.13") == spark
    assert _jar_version(jars, "hadoop-aws") == hadoop
    assert _jar_version(jars, "s3") == builds.pom_property(pom, "aws.sdk.version")
    assert _jar_version(jars, "kafka-clients") == builds.pom_property(pom, "kafka-clients.version")


def test_delta_lake_jars_are_the_pinned_version_for_this_spark():
    """Delta's two jars (delta-spark, delta-storage) at the pom's version; Delta 4.4.0 is the release
    built against Spark 4.2.0 (its pom's provided spark-sql), so a Spark upgrade must move both."""
    delta = builds.pom_property(builds.SPARK_POM, "delta.version")
    assert _jar_version(config.SPARK_JARS, "delta-spark_2.13") == delta == "4.4.0"
    assert _jar_version(config.SPARK_JARS, "delta-storage") == delta
    assert builds.versions()["spark"] == "4.2.0", "Delta 4.4.0 is built for Spark 4.2.0: upgrade them together"
    assert _pyproject_pin("deltalake"), "the reader without Spark is pinned in pyproject.toml"


def test_no_jar_is_on_the_classpath_twice():
    """A connector jar that pyspark already ships (in any version) would shadow or clash with it."""
    def artifact(name: str) -> str:
        return re.sub(r"-\d[\w.\-]*\.jar$", "", name)

    ours = {artifact(p.name) for p in config.SPARK_JARS.glob("*.jar")}
    bundled = {artifact(p.name) for p in PYSPARK_JARS.glob("*.jar")}
    assert ours and not (ours & bundled), sorted(ours & bundled)


def test_kafka_broker_jars_are_the_pinned_version_with_a_log_binding():
    kafka = builds.versions()["kafka"]
    assert kafka.startswith("4.")
    assert _jar_version(config.KAFKA_JARS, "kafka_2.13") == kafka
    assert list(config.KAFKA_JARS.glob("log4j-slf4j2-impl-*.jar")), "without a binding the broker logs nothing"
    assert _jar_version(config.KAFKA_JARS, "slf4j-api").startswith("2.")


def test_minio_is_pinned_by_go_mod_and_go_sum():
    mod = (builds.MINIO_MOD / "go.mod").read_text()
    assert re.search(r"^tool github.com/minio/minio$", mod, re.M)
    version = builds.versions()["minio"]
    assert re.fullmatch(r"v0\.0\.0-\d{14}-[0-9a-f]{12}", version), version
    assert f"github.com/minio/minio {version} h1:" in (builds.MINIO_MOD / "go.sum").read_text()


def test_prometheus_is_the_pinned_version_with_its_web_ui_and_promtool_beside_it():
    """Built by `stack up --monitoring` (stack/prometheus/build.sh) from stack/prometheus/go.mod."""
    from lab_utils.services import monitoring

    versions = monitoring.versions()
    assert re.fullmatch(r"v0\.3\d\d\.\d+", versions["prometheus_module"])
    assert f"github.com/prometheus/prometheus {versions['prometheus_module']} h1:" in (
        monitoring.PROMETHEUS_MOD / "go.sum").read_text()
    assert monitoring.prometheus_built(), "run `python -m lab_utils stack up --monitoring` (it builds them once)"
    for binary, name in ((monitoring.PROMETHEUS_BIN, "prometheus"), (monitoring.PROMTOOL_BIN, "promtool")):
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and f"{name}, version {versions['prometheus']} " in out.stdout + out.stderr, out
    server = subprocess.run([str(monitoring.PROMETHEUS_BIN), "--version"], capture_output=True, text=True, timeout=60)
    assert "builtinassets" in server.stdout + server.stderr, "the web UI is embedded"


@pytest.mark.integration  # reads the agent `stack up` fetches with monitoring on (make test turns it on)
def test_the_jmx_exporter_agent_is_the_pinned_version():
    from lab_utils.services import monitoring

    version = monitoring.versions()["jmx_exporter"]
    assert _jar_version(config.MONITORING_JARS, "jmx_prometheus_javaagent") == version
    assert monitoring.jmx_agent_jar().exists()
