"""Monitoring on the real stack (issue 17): Prometheus scrapes Kafka, MinIO, the Spark driver and the
producer; every dashboard panel's PromQL returns data after a short produce + stream run; the alerts
go pending, firing, then resolved when a query stops while producing and starts again.

The stack must run with monitoring (`make test` runs `stack up` with LAB_MONITORING=true): the
`prom` fixture FAILS, naming the command, when Prometheus does not answer. The producer and the
streaming driver run as subprocesses with LAB_MONITORING=true, as a student's would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from lab_utils import checks
from lab_utils import config as lab_config
from lab_utils.clients import kafka, prometheus, storage
from lab_utils.lessons import ex06_monitoring
from lab_utils.services import monitoring
from tests.helpers import lab, wait_until
from tests.test_security import is_loopback, listening_sockets

MONITORED = {"LAB_MONITORING": "true"}


@pytest.fixture(scope="session")
def prom(cfg) -> lab_config.LabConfig:
    """Yields the lab configuration once Prometheus answers too (it FAILS, naming the command, when
    it does not). Cleans up nothing."""
    if not prometheus.prometheus_ready(cfg):
        pytest.fail(f"{prometheus.prometheus_down_message(cfg)}  (`make test` starts it)", pytrace=False)
    return cfg


def jobs_up(cfg) -> dict[str, set[str]]:
    """{job: set of health states} of the targets Prometheus scrapes now."""
    out: dict[str, set[str]] = {}
    for t in prometheus.targets(cfg):
        out.setdefault(t["job"], set()).add(t["health"])
    return out


def stop(proc: subprocess.Popen, timeout: float = 120) -> int:
    """Ctrl-C a `python -m lab_utils ...` process group and wait for it (it stops its queries cleanly)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    return proc.wait(timeout=timeout)


# --------------------------------------------------------------------------- the services' targets

@pytest.mark.integration
def test_prometheus_scrapes_kafka_and_minio_and_serves_its_ui(prom):
    health = wait_until(lambda: (h := jobs_up(prom)) and all(h.get(j) == {"up"} for j in
                                                             ("kafka", "minio", "minio-bucket", "prometheus")) and h,
                        timeout=60, what="the kafka, minio and prometheus targets to be up")
    assert health["kafka"] == {"up"}
    build = prometheus.api("status/buildinfo", cfg=prom)
    assert build["version"] == monitoring.versions()["prometheus"]
    # The web UI is built in (stack/prometheus/build.sh): without it /query answers 500.
    with urllib.request.urlopen(prom.PROMETHEUS_URL.rstrip("/") + "/query", timeout=10) as r:
        assert r.status == 200 and b"<html" in r.read(2000).lower()
    heap = prometheus.query('jvm_memory_used_bytes{job="kafka", area="heap"}', cfg=prom)
    assert heap and all(s.value > 0 for s in heap), "the broker's JVM heap, from the JMX exporter agent"
    rules = prometheus.api("rules", cfg=prom)["groups"]
    assert {r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"} == {"StreamFallingBehind",
                                                                                        "StreamStopped"}
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), [r for g in rules for r in g["rules"]
                                                                         if r["health"] != "ok"]


# --------------------------------------------------------------------------- every panel returns data

# Panels whose data needs MinIO's scanner to have passed over the bucket (every few minutes).
SCANNER_PANELS = {"Bytes in the bucket", "Objects in the bucket"}


@contextlib.contextmanager
def monitored_run(prom, topic: str, run_prefix: str, logs: Path, seconds: int = 120):
    """The pipeline (`stream`) and a producer (`produce`, 100 messages/s, 20 % bad) on `topic`, both with
    monitoring on, as subprocesses. Yields the producer's process once both queries ran their first
    batch and Prometheus scrapes the producer; stops both on exit."""
    env = {**MONITORED, "KAFKA_TOPIC": topic}
    stream = lab("stream", "--prefix", run_prefix, "--trigger", "1", env=env, stdout=open(logs / "stream.log", "w"),
                 stderr=subprocess.STDOUT)
    producer = None
    prefix = run_prefix.replace("/", "-")
    try:
        # Prometheus finds the driver and its lag exporter through their target files (a Spark
        # session takes a while to start on a busy 2-core machine). A first small batch warms the
        # queries up (the first one compiles everything: up to 2 minutes on a loaded machine) ...
        wait_until(lambda: scraped(prom, "lab-stream", "spark-driver"), timeout=300, interval=1,
                   what="the Spark driver and its lag exporter to be scraped")
        warm_up = lab("produce", "--count", "200", "--topic", topic, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        assert warm_up.wait(timeout=120) == 0
        wait_until(lambda: len(prometheus.query(f'lab_stream_batches_total{{query=~".*-{prefix}"}} > 0', cfg=prom)) == 2,
                   timeout=300, interval=2, what="both queries' first batch")
        # ... then the producer, long enough for every panel to see it.
        producer = lab("produce", "--duration", str(seconds), "--rate", "100", "--bad-ratio", "0.2", "--seed", "17",
                       "--topic", topic, env=MONITORED, stdout=open(logs / "producer.log", "w"), stderr=subprocess.STDOUT)
        wait_until(lambda: scraped(prom, "producer"), timeout=120, interval=1, what="the producer to be scraped")
        # The producer's and the driver's Python processes listen on loopback only (tests/test_security.py).
        for name, proc in (("stream", stream), ("producer", producer)):
            sockets = listening_sockets(proc.pid)
            assert sockets and all(is_loopback(host) for host, _ in sockets), (name, sockets)
        yield producer
    finally:
        if producer is not None:
            assert stop(producer) in (0, 130), (logs / "producer.log").read_text()[-2000:]
        assert stop(stream) == 0, (logs / "stream.log").read_text()[-3000:]


def scraped(prom, *jobs: str) -> bool:
    return set(jobs) <= {j for j, h in jobs_up(prom).items() if "up" in h}


@pytest.mark.integration
def test_every_dashboard_query_returns_data_after_a_short_produce_and_stream_run(prom, topic, run_prefix, tmp_path):
    queries = prometheus.dashboard_queries()
    missing: dict[str, list[str]] = {}
    prefix = run_prefix.replace("/", "-")
    with monitored_run(prom, topic, run_prefix, tmp_path) as producer:
        def all_answer():
            missing.clear()
            for title, exprs in queries.items():
                empty = [e for e in exprs if not prometheus.query(e, cfg=prom)]
                if empty and title not in SCANNER_PANELS:
                    missing[title] = empty
            return not missing

        wait_until(all_answer, timeout=300, interval=2, what=f"every panel to return data (still empty: {missing})")
        assert producer.poll() is None, "the producer's panel was seen while it ran"
        ours = {s.labels.get("query") for s in prometheus.query("query_topic:lab_stream_lag_messages:sum", cfg=prom)
                if s.labels.get("topic") == topic}
        assert ours == {f"output-{prefix}", f"rejected-{prefix}"}
        # Bad messages of several kinds were sent: the rejected query counts them by reason.
        wait_until(lambda: len(prometheus.query(f'sum by (reason) (rate(lab_stream_rows_rejected_total{{query="rejected-{prefix}"}}[1m])) > 0',
                                                cfg=prom)) >= 3,
                   timeout=180, interval=2, what="rejected rows per second for three reasons or more")
    # The exporters went away with their processes: no target file is left behind.
    assert not list(lab_config.PROMETHEUS_TARGETS.glob("producer.*.json"))
    # MinIO counts the bucket's bytes and objects with its scanner, every few minutes.
    for title in SCANNER_PANELS:
        for expr in queries[title]:
            wait_until(lambda: prometheus.query(expr, cfg=prom), timeout=420, interval=5,
                       what=f"MinIO's scanner to report {title!r} ({expr})")


# --------------------------------------------------------------------------- the alerts, for real

# A driver that a test steers line by line on its stdin: start the pipeline, stop its queries
# while the process (and its exporter) lives on, start them again, quit. It prints one word per step.
DRIVER = textwrap.dedent("""
    import sys
    from lab_utils import pipeline
    spark = pipeline.get_spark(app_name="lab-alert-test")
    run = None
    for line in sys.stdin:
        command = line.strip()
        if command in ("start", "restart"):
            run = pipeline.start(spark, trigger_s=1, root=sys.argv[1])
        elif command == "stop":
            run.stop()
        print(command, flush=True)
        if command == "quit":
            break
    if run is not None:
        run.stop()
    spark.stop()
""")


def alert_states(cfg, name: str, **labels) -> set[str]:
    return {a["state"] for a in prometheus.alerts(cfg) if a["alertname"] == name
            and all(a["labels"].get(k) == v for k, v in labels.items())}


@pytest.mark.integration
def test_the_alerts_fire_when_the_query_stops_while_producing_and_resolve_when_it_restarts(prom, topic, run_prefix,
                                                                                           tmp_path):
    """Issue 17: the queries run and keep up, no alert; stopped while a producer sends, StreamFallingBehind goes
    pending, then firing, and StreamStopped fires; restarted, both resolve. 2 to 3 minutes: the rules look
    at 30 s windows and wait 30 s (`for`), and a Spark session starts first."""
    env = {**os.environ, **MONITORED, "KAFKA_TOPIC": topic}
    driver_log = tmp_path / "driver.log"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, run_prefix], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=open(driver_log, "w"), text=True, env=env, cwd=lab_config.ROOT,
                              start_new_session=True)
    producer = None
    prefix = run_prefix.replace("/", "-")
    output_query = f"output-{prefix}"
    timeline: dict[str, float] = {}
    seen: dict = {}  # what Prometheus said at the last poll, for the messages of the waits

    def say(command: str) -> None:
        driver.stdin.write(command + "\n")
        driver.stdin.flush()
        assert driver.stdout.readline().strip() == command, driver_log.read_text()[-3000:]
        timeline[command] = time.monotonic()

    def look() -> dict[tuple[str, str | None], str]:
        """{(alert, query): state} of the alerts on this topic now; the queries' lag and batches go to `seen`."""
        now = {(a["alertname"], a["labels"].get("query")): a["state"] for a in prometheus.alerts(prom)
               if a["labels"].get("topic") == topic}
        seen.update(
            alerts={" ".join(filter(None, k)): v for k, v in now.items()} or "none",
            lag={s.labels.get("query"): round(s.value) for s in prometheus.query(
                f'query_topic:lab_stream_lag_messages:sum{{topic="{topic}"}}', cfg=prom)},
            batches={s.labels.get("query"): round(s.value) for s in prometheus.query(
                f'lab_stream_batches_total{{query=~".*-{prefix}"}}', cfg=prom)})
        return now

    def waited(what: str):
        return lambda: f"{what}; last seen: {seen}"

    def state(alert: str, query: str | None = None) -> str:
        return look().get((alert, query), "inactive")

    try:
        say("start")
        producer = lab("produce", "--duration", "600", "--rate", "50", "--topic", topic, env=MONITORED,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Healthy before the stop: both queries exported, two batches each, and no alert on the topic. Their
        # first batch with data compiles the query (two minutes on a loaded 2-core machine): meanwhile the
        # lag grows and StreamFallingBehind may go pending or fire, and StreamStopped too (no batch for 45 s),
        # so the test waits for the queries to catch up and for Prometheus to resolve those first. Stopping
        # before that (as this test once did, right after the second batch) let a pending or firing state
        # from the warm-up pass for one caused by the stop, or a StreamStopped not yet re-evaluated fail it.
        wait_until(lambda: not look() and len(seen["lag"]) == 2 and len(seen["batches"]) == 2
                   and min(seen["batches"].values()) >= 2,
                   timeout=480, interval=1, what=waited("both queries to run two batches, with no alert on the topic"))
        say("stop")
        # Inactive at the stop, so what follows is the stop's doing: pending (the lag grows, not yet for
        # 30 s), then firing; StreamStopped fires too (no batch for 30 s, then 15 s).
        wait_until(lambda: state("StreamFallingBehind", output_query) == "pending", timeout=240, interval=1,
                   what=waited(f"StreamFallingBehind pending for {output_query}"))
        timeline["falling behind pending"] = time.monotonic()
        wait_until(lambda: state("StreamFallingBehind", output_query) == "firing", timeout=240, interval=1,
                   what=waited(f"StreamFallingBehind firing for {output_query}"))
        timeline["falling behind firing"] = time.monotonic()
        wait_until(lambda: state("StreamStopped") == "firing", timeout=120, interval=1,
                   what=waited("StreamStopped firing"))
        timeline["stopped firing"] = time.monotonic()
        say("restart")
        wait_until(lambda: not look(), timeout=420, interval=1,
                   what=waited("both alerts to resolve after the restart"))
        timeline["resolved"] = time.monotonic()
        say("quit")
        assert driver.wait(timeout=120) == 0, driver_log.read_text()[-3000:]
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=60)
        if producer is not None:
            stop(producer)
    t0 = timeline["stop"]
    print(f"\nstarted {timeline['start'] - t0:.0f} s before the stop; after it: "
          + ", ".join(f"{k} {v - t0:.0f} s" for k, v in timeline.items() if v >= t0))
    assert timeline["stop"] < timeline["falling behind pending"] < timeline["falling behind firing"] < timeline["resolved"]


# --------------------------------------------------------------------------- monitoring off costs nothing

@pytest.mark.integration
def test_with_monitoring_off_the_producer_opens_no_port_and_imports_no_prometheus_client(cfg, topic):
    code = textwrap.dedent(f"""
        import sys
        from lab_utils import config, producer
        from lab_utils.clients import prometheus
        assert not config.load().monitoring
        producer.produce(count=200, topic={topic!r}, progress=False)
        print("imported" if "prometheus_client" in sys.modules else "not imported")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                         env={**os.environ, "LAB_MONITORING": "false"}, cwd=lab_config.ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["not", "imported"]


# --------------------------------------------------------------------------- notebook 06's exercise check

@pytest.fixture(scope="module")
def rejects_flowed(prom, tmp_path_factory):
    """Yields once Prometheus holds rejected rows per second by reason in the last half hour, at instants
    the check compares at (its own choice of them); when it holds too few (this module run alone, or the
    last rejects were another test's brief run), runs the pipeline and a producer with bad messages
    until it does. Deletes the topic and the folder it used."""
    reference = ex06_monitoring.REFERENCE.format(window="1m")

    def flowed():
        instants, _quiet = ex06_monitoring.compared_instants(reference, "1m", prom)
        return len(instants) >= ex06_monitoring.INSTANTS

    if not flowed():
        topic, prefix = f"test-{uuid.uuid4().hex[:10]}", f"test-runs/{uuid.uuid4().hex[:10]}"
        kafka.ensure_topic(prom, topic)
        try:
            with monitored_run(prom, topic, prefix, tmp_path_factory.mktemp("rejects"), seconds=90):
                wait_until(flowed, timeout=240, interval=2, what="rejected rows per second at three instants")
        finally:
            kafka.delete_topics(prom, [topic])
            storage.clear(prom, (prefix,))
    yield reference


@pytest.fixture
def lang():
    """Yields a setter for this process's language; puts back the language chosen before."""
    before = lab_config.use_language(None)
    yield lab_config.use_language
    lab_config.use_language(before)


RIGHT = ["sum by (reason) (rate(lab_stream_rows_rejected_total[1m]))",
         "sum by (reason) (rate(lab_stream_rows_rejected_total[2m]))",  # another window, compared over that window
         "sum by (reason) (increase(lab_stream_rows_rejected_total[1m])) / 60"]
WRONG = {
    "no rate(): totals, not per second": ("sum by (reason) (lab_stream_rows_rejected_total)", "rate("),
    "no sum: one series per query, job and instance": ("rate(lab_stream_rows_rejected_total[1m])", "sum by (reason)"),
    "sum without by: every reason added up": ("sum(rate(lab_stream_rows_rejected_total[1m]))", "sum by (reason)"),
    "the wrong metric: rows written": ("sum by (reason) (rate(lab_stream_rows_written_total[1m]))",
                                       "lab_stream_rows_rejected_total"),
    "per minute, not per second": ("sum by (reason) (rate(lab_stream_rows_rejected_total[1m])) * 60", "per second"),
    "by the wrong label": ("sum by (query) (rate(lab_stream_rows_rejected_total[1m]))", "sum by (reason)"),
    "not PromQL": ("SELECT reason, count(*) FROM rejected GROUP BY reason", "refused"),
}


@pytest.mark.integration
def test_the_check_says_not_done_to_the_placeholder(prom):
    assert not checks.rejected_per_second(...)
    assert not checks.rejected_per_second(42), "a PromQL query is text"


@pytest.mark.integration
@pytest.mark.parametrize("answer", RIGHT)
def test_the_check_accepts_right_answers(rejects_flowed, answer):
    verdict = checks.rejected_per_second(answer)
    assert verdict, verdict


@pytest.mark.integration
@pytest.mark.parametrize("case", WRONG, ids=list(WRONG))
def test_the_check_refuses_plausible_wrong_answers_with_a_hint(rejects_flowed, case):
    answer, hint = WRONG[case]
    verdict = checks.rejected_per_second(answer)
    assert not verdict and hint in verdict.message, verdict


@pytest.mark.integration
def test_a_hard_coded_answer_is_refused(rejects_flowed):
    """The values of now, written as constants, do not match at the other instants."""
    now = prometheus.query(rejects_flowed)
    constants = " or ".join(f'label_replace(vector({s.value}), "reason", "{s.labels["reason"]}", "", "")' for s in now)
    assert not checks.rejected_per_second(constants)


@pytest.mark.integration
def test_the_verdicts_speak_both_languages(rejects_flowed, lang):
    lang("fr")
    right, wrong = checks.rejected_per_second(RIGHT[0]), checks.rejected_per_second(WRONG["sum without by: every reason added up"][0])
    assert right and str(right).startswith("✅ juste") and "instants" in right.message
    assert not wrong and str(wrong).startswith("❌") and "additionne" in wrong.message
    lang("en")
    right, wrong = checks.rejected_per_second(RIGHT[0]), checks.rejected_per_second(WRONG["sum without by: every reason added up"][0])
    assert str(right).startswith("✅ right") and "adds them all up" in wrong.message
