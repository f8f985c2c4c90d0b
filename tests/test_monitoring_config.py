"""stack/monitoring (issue 17): Prometheus's configuration template, its rules, the JMX exporter's
rules, the Grafana dashboard. No service needed. promtool is built with Prometheus by
`stack up --monitoring` (stack/prometheus/build.sh); the `promtool` fixture builds it when it is
missing, as test_compose.py builds Docker Compose: nothing here is skipped."""

from __future__ import annotations

import json
import string
import subprocess
from pathlib import Path

import pytest
import yaml  # PyYAML, installed with JupyterLab (jupyter-events)

from lab_utils import config as lab_config
from lab_utils.clients import prometheus
from lab_utils.services import monitoring

MONITORING = lab_config.ROOT / "stack" / "monitoring"
TEMPLATE = MONITORING / "prometheus.yml"

# The values of the two stacks: the native one with the contract's defaults, and compose's.
NATIVE = monitoring.template_values(lab_config.load(env={**{k: "x" * 24 for k in lab_config.SECRETS}},
                                                    env_file=Path("/nonexistent")))
COMPOSE = monitoring.COMPOSE_VALUES
STATIC_JOBS = {"prometheus", "kafka", "minio", "minio-bucket"}
DISCOVERED_JOBS = {"spark-driver", "producer", "lab-stream"}  # file-based discovery: they come and go
JOBS = STATIC_JOBS | DISCOVERED_JOBS


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Yields the path of promtool, built with Prometheus from stack/prometheus (once; 15 to 20
    minutes from cold caches, then reused while the pins are unchanged). Cleans up nothing: it
    stays in .lab/bin/ like the Prometheus binary."""
    monitoring.ensure_prometheus()
    return monitoring.PROMTOOL_BIN


def render(values: dict[str, str]) -> str:
    return string.Template(TEMPLATE.read_text()).substitute(values)


def scrape_targets(rendered: str) -> dict[str, list[str]]:
    conf = yaml.safe_load(rendered)
    return {job["job_name"]: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
            + [f for sd in job.get("file_sd_configs", []) for f in sd["files"]]
            for job in conf["scrape_configs"]}


def test_the_template_has_exactly_the_documented_placeholders():
    assert set(string.Template(TEMPLATE.read_text()).get_identifiers()) == set(NATIVE) == set(COMPOSE)


@pytest.mark.parametrize("values", [NATIVE, COMPOSE], ids=["native", "compose"])
def test_every_component_is_scraped_once(values):
    targets = scrape_targets(render(values))
    assert set(targets) == JOBS
    assert all(len(t) == 1 for t in targets.values()), targets
    assert yaml.safe_load(render(values))["rule_files"] == [f"{values['RULES_DIR']}/*.yml"]
    for job in DISCOVERED_JOBS:  # the file names lab_utils.clients.prometheus writes: <job>.<port>.<pid>.json
        assert targets[job] == [f"{values['TARGETS_DIR']}/{job}.*.json"]


def test_native_targets_are_on_loopback_only():
    targets = scrape_targets(render(NATIVE))
    assert {t.split(":")[0] for job in STATIC_JOBS for t in targets[job]} == {"127.0.0.1"}


def test_the_compose_configuration_is_the_rendered_template():
    assert monitoring.COMPOSE_CONFIG.read_text() == monitoring.compose_config(), (
        "stack/monitoring/compose/prometheus.yml is stale: run `python -m lab_utils.services.monitoring`")
    fixed = {p.name: json.loads(p.read_text()) for p in (MONITORING / "compose" / "targets").glob("*.json")}
    assert {name.split(".")[0] for name in fixed} == DISCOVERED_JOBS
    for name, groups in fixed.items():
        assert [t.split(":")[0] for g in groups for t in g["targets"]] == ["jupyter"], (name, groups)


def test_jmx_exporter_rules_are_explicit():
    """Every rule names its metric (no catch-all that would export thousands of MBeans)."""
    conf = yaml.safe_load((MONITORING / "kafka-jmx.yml").read_text())
    assert conf["includeObjectNames"]
    for rule in conf["rules"]:
        assert rule["pattern"] and rule["name"].startswith("kafka_") and rule["type"] in {"GAUGE", "COUNTER"}


def test_the_dashboard_names_its_datasource_and_every_panel_has_promql():
    dashboard = json.loads(prometheus.DASHBOARD.read_text())
    datasource = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    [uid] = [d["uid"] for d in datasource["datasources"]]
    panels = dashboard["panels"]
    assert len(panels) == len({p["title"] for p in panels}) >= 10
    for panel in panels:
        assert panel["datasource"]["uid"] == uid and panel["targets"], panel["title"]
        assert all(t["expr"] and t["datasource"]["uid"] == uid for t in panel["targets"]), panel["title"]
    assert prometheus.dashboard_queries() == {p["title"]: [t["expr"] for t in p["targets"]] for p in panels}


def _promtool(promtool: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(promtool), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("stack", ["native", "compose"])
def test_promtool_accepts_the_rendered_configuration_and_its_rules(promtool, tmp_path: Path, stack):
    """The compose file is checked with the repository's folders in place of the container's paths."""
    values = NATIVE if stack == "native" else {**COMPOSE, "RULES_DIR": str(MONITORING / "rules"),
                                               "TARGETS_DIR": str(MONITORING / "compose" / "targets")}
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(render(values))
    result = _promtool(promtool, "check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "rules found" in result.stdout


def test_every_dashboard_query_parses(promtool, tmp_path: Path):
    """Each panel's PromQL is valid (the live test, tests/services/test_monitoring.py, checks it returns data)."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:panel_{i}_{j}", "expr": expr}
        for i, exprs in enumerate(prometheus.dashboard_queries().values()) for j, expr in enumerate(exprs)]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = _promtool(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_and_resolve_as_the_rules_tests_say(promtool):
    """stack/monitoring/tests/lab_rules_test.yml: a query stops while producing (pending, then
    firing), restarts (resolved); a producer alone raises nothing; a dead driver is a stopped stream."""
    result = _promtool(promtool, "test", "rules", str(MONITORING / "tests" / "lab_rules_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
