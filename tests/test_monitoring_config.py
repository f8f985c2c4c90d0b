"""stack/monitoring (issue 17): Prometheus's configuration template, its rules, the JMX exporter's
rules. No service needed. The promtool checks run where promtool was built (.lab/bin/promtool,
`go build` from stack/prometheus: stack/monitoring/README.md) and are skipped elsewhere."""

from __future__ import annotations

import string
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml  # PyYAML, installed with JupyterLab (jupyter-events)

from lab_utils import config as lab_config

MONITORING = lab_config.ROOT / "stack" / "monitoring"
TEMPLATE = MONITORING / "prometheus.yml"
PROMTOOL = lab_config.STATE_DIR / "bin" / "promtool"

# The values of the two stacks, as the template's header documents them. The native ports are
# CONTRACT.md's (9102, the streaming query's exporter, is proposed in stack/monitoring/README.md).
NATIVE = {
    "PROMETHEUS": "127.0.0.1:9090",
    "KAFKA_JMX": "127.0.0.1:9404",
    "MINIO": urlparse(lab_config.DEFAULTS["AWS_ENDPOINT_URL"]).netloc,
    "SPARK_DRIVER": "127.0.0.1:4040",
    "PRODUCER": "127.0.0.1:9101",
    "LAB_STREAM": "127.0.0.1:9102",
    "RULES_DIR": str(MONITORING / "rules"),
}
COMPOSE = {
    "PROMETHEUS": "localhost:9090",
    "KAFKA_JMX": "kafka:9404",
    "MINIO": "minio:9000",
    "SPARK_DRIVER": "jupyter:4040",
    "PRODUCER": "jupyter:9101",
    "LAB_STREAM": "jupyter:9102",
    "RULES_DIR": "/etc/prometheus/rules",
}
JOBS = {"prometheus", "kafka", "minio", "minio-bucket", "spark-driver", "spark-executors", "producer", "lab-stream"}


def render(values: dict[str, str]) -> str:
    return string.Template(TEMPLATE.read_text()).substitute(values)


def scrape_targets(rendered: str) -> dict[str, list[str]]:
    conf = yaml.safe_load(rendered)
    return {job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
            for job in conf["scrape_configs"]}


def test_the_template_has_exactly_the_documented_placeholders():
    assert set(string.Template(TEMPLATE.read_text()).get_identifiers()) == set(NATIVE) == set(COMPOSE)


@pytest.mark.parametrize("values", [NATIVE, COMPOSE], ids=["native", "compose"])
def test_every_component_is_scraped_once(values):
    targets = scrape_targets(render(values))
    assert set(targets) == JOBS
    assert all(len(t) == 1 for t in targets.values()), targets
    assert yaml.safe_load(render(values))["rule_files"] == [f"{values['RULES_DIR']}/*.yml"]


def test_native_targets_are_on_loopback_only():
    targets = scrape_targets(render(NATIVE))
    assert {t.split(":")[0] for ts in targets.values() for t in ts} == {"127.0.0.1"}


def test_jmx_exporter_rules_are_explicit():
    """Every rule names its metric (no catch-all that would export thousands of MBeans)."""
    conf = yaml.safe_load((MONITORING / "kafka-jmx.yml").read_text())
    assert conf["includeObjectNames"]
    for rule in conf["rules"]:
        assert rule["pattern"] and rule["name"].startswith("kafka_") and rule["type"] in {"GAUGE", "COUNTER"}


def _promtool(*args: str) -> subprocess.CompletedProcess:
    if not PROMTOOL.exists():
        pytest.skip(f"{PROMTOOL} is not built (stack/monitoring/README.md says how)")
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rendered_configuration_and_its_rules(tmp_path: Path):
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(render(NATIVE))
    result = _promtool("check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "rules found" in result.stdout


def test_the_alerts_fire_and_resolve_as_the_rules_tests_say():
    """stack/monitoring/tests/lab_rules_test.yml: a query stops while producing (pending, then
    firing), restarts (resolved); a producer alone raises nothing; a dead driver is a stopped stream."""
    result = _promtool("test", "rules", str(MONITORING / "tests" / "lab_rules_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
