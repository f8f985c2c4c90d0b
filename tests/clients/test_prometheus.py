"""lab_utils.clients.prometheus's exporters, the producer's counters and the driver's settings, with
monitoring on and off (issue 17). No service needed: real HTTP servers on 127.0.0.1, no Prometheus."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest

from lab_utils import config as lab_config
from lab_utils import producer
from lab_utils.clients import prometheus
from lab_utils.pipeline import metrics, spark_conf

SECRETS = {name: "x" * 24 for name in lab_config.SECRETS}


def settings(**values: str) -> lab_config.LabConfig:
    return lab_config.load(env={**SECRETS, **values}, env_file=Path("/nonexistent"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def test_an_exporter_serves_on_loopback_registers_its_target_and_removes_it_when_closed():
    from prometheus_client import CollectorRegistry, Counter

    registry = CollectorRegistry()
    Counter("lab_test_things", "things", registry=registry).inc(3)
    port = free_port()
    exporter = prometheus.Exporter(registry, f"127.0.0.1:{port}", job="lab-unit-test")
    try:
        assert exporter.port == port and exporter.url == f"http://127.0.0.1:{port}/metrics"
        assert "lab_test_things_total 3.0" in fetch(exporter.url)
        assert exporter.target == lab_config.PROMETHEUS_TARGETS / f"lab-unit-test.{port}.{os.getpid()}.json"
        assert json.loads(exporter.target.read_text()) == [{"targets": [f"127.0.0.1:{port}"], "labels": {}}]
    finally:
        exporter.close()
    assert not exporter.target.exists()
    with pytest.raises(OSError):
        fetch(exporter.url)


def test_a_taken_port_moves_the_exporter_to_the_next_free_one():
    from prometheus_client import CollectorRegistry

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exporter = prometheus.Exporter(CollectorRegistry(), f"127.0.0.1:{port}", job="lab-unit-test")
        try:
            assert port < exporter.port < port + prometheus.PORT_TRIES
            assert f"127.0.0.1:{exporter.port}" in exporter.target.read_text()
        finally:
            exporter.close()


def test_target_files_of_dead_processes_are_cleaned_and_ours_kept():
    lab_config.PROMETHEUS_TARGETS.mkdir(parents=True, exist_ok=True)
    dead = lab_config.PROMETHEUS_TARGETS / "lab-unit-test.1.999999999.json"
    ours = prometheus.register_target("lab-unit-test", "127.0.0.1", 2)
    try:
        dead.write_text("[]")
        assert prometheus.clean_targets() == [dead]
        assert not dead.exists() and ours.exists()
        dead.write_text("[]")  # a killed process's file for the same port: the next one to register replaces it
        again = prometheus.register_target("lab-unit-test", "127.0.0.1", 1)
        assert again.exists() and not dead.exists()
        again.unlink()
    finally:
        ours.unlink(missing_ok=True)


def test_the_producers_counters_are_served_while_one_runs_and_updated_in_steps():
    port = free_port()
    cfg = settings(LAB_MONITORING="true", PRODUCER_METRICS_ADDRESS=f"127.0.0.1:{port}")
    summary = producer.ProduceSummary(topic="lab-unit-test")
    first = producer.ProducerMetrics(cfg, "lab-unit-test")
    second = producer.ProducerMetrics(cfg, "lab-unit-test")  # a background producer beside it: one endpoint
    url = first.exporter.url
    summary.sent, summary.failed = 1500, 2
    summary.bad_by_kind["not_json"] = 7
    first.sync(summary)
    page = fetch(url)
    assert 'lab_producer_messages_sent_total{topic="lab-unit-test"} 1500.0' in page
    assert 'lab_producer_messages_failed_total{topic="lab-unit-test"} 2.0' in page
    assert 'lab_producer_bad_messages_total{kind="not_json",topic="lab-unit-test"} 7.0' in page
    summary.sent = 1600
    first.close(summary)  # the final sync, then the endpoint stays for the other producer ...
    assert 'lab_producer_messages_sent_total{topic="lab-unit-test"} 1600.0' in fetch(url)
    second.close(producer.ProduceSummary(topic="lab-unit-test"))  # ... and goes with the last one
    with pytest.raises(OSError):
        fetch(url)


def test_monitoring_off_adds_no_spark_setting_and_on_adds_the_metrics_sink():
    off = spark_conf(settings(LAB_MONITORING="false"), require_connectors=False)
    on = spark_conf(settings(LAB_MONITORING="true"), require_connectors=False)
    assert not [k for k in off if "metrics" in k]
    assert {k: on[k] for k in set(on) - set(off)} == metrics.DRIVER_CONF
    assert on["spark.metrics.conf.*.sink.prometheusServlet.path"] == "/metrics/prometheus"
    assert off["spark.ui.port"] == lab_config.DEFAULTS["SPARK_UI_PORT"] == "4040"
    assert spark_conf(settings(SPARK_UI_PORT="14040"), require_connectors=False)["spark.ui.port"] == "14040"


def test_kafka_offsets_read_a_kafka_source_and_ignore_the_others():
    assert metrics.kafka_offsets('{"transactions": {"0": 12, "2": 40, "1": 7}}') == {"transactions": {0: 12, 1: 7, 2: 40}}
    assert metrics.kafka_offsets({"t": {"0": 1}}) == {"t": {0: 1}}
    assert metrics.kafka_offsets('{"logOffset": 3}') == {}  # a file or memory source
    assert metrics.kafka_offsets("12") == {} and metrics.kafka_offsets("not json") == {} and metrics.kafka_offsets(None) == {}
