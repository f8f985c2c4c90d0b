"""Scaling out on the real engines (issue 20): a Spark standalone cluster and three Kafka brokers.

- the pipeline on the standalone cluster with two workers writes exactly what local mode writes,
  and both workers' executors ran its tasks;
- three brokers, one SIGKILLed while producing and streaming: every acknowledged message once,
  the producer reports no failure, the stream keeps going, the broker restarted rejoins the ISR;
- `stack up` / `down` with the cluster and three brokers: idempotent, and the one-broker Kafka's
  data comes back when the lab switches back to it.

The integration tests run in this order (cluster, brokers, up/down) and leave the lab as its
configuration says (one broker, no cluster, unless .env says otherwise). Each prints its figures
(pytest -s shows them). The tests above the line need no service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from lab_utils import checks, config, pipeline, producer, services
from lab_utils.clients import health, kafka, storage
from lab_utils.config import ROOT
from lab_utils.errors import ConfigError, ServiceDown
from lab_utils.generator import TransactionGenerator
from lab_utils.lessons import ex09_scaling
from lab_utils.pipeline import session
from lab_utils.services import kafka_broker, kafka_cluster, processes, spark_cluster

from ..helpers import Feeder, wait_until
from ..test_reliability import assert_exactly_once

SECRETS = {name: "x" * 24 for name in config.SECRETS}


@pytest.fixture(scope="module")
def configured_lab_after(lab_cfg):
    """Yields nothing; after the module's last test that asks for it (even a failed one), forgets the
    settings chosen for this process and runs `stack up`, so the lab is as configured again (one
    broker and no cluster, unless .env says otherwise). Needs the live stack only at teardown."""
    yield
    config.use_settings()
    services.up(say=lambda _: None)


@pytest.fixture
def chosen():
    """Yields nothing; afterwards, forgets the settings a test chose for this process (config.use_settings)."""
    yield
    config.use_settings()


# --------------------------------------------------------------------------- settings (no service)

def test_the_defaults_are_the_contract(tmp_path):
    cfg = config.load(env=SECRETS, env_file=tmp_path / "none")
    assert (cfg.spark_workers, cfg.kafka_brokers) == (0, 1)
    assert cfg.spark_master_url == "spark://127.0.0.1:7077" and cfg.spark_master_ui == "http://127.0.0.1:8080"
    assert [cfg.spark_worker_ui(n) for n in (1, 2)] == ["http://127.0.0.1:8081", "http://127.0.0.1:8082"]
    assert cfg.KAFKA_BOOTSTRAP_SERVERS == "127.0.0.1:9092" and cfg.kafka_nodes == [(1, "127.0.0.1", 9092, 9093)]


def test_three_brokers_take_the_next_ports_and_clients_bootstrap_from_all(tmp_path):
    cfg = config.load(env={**SECRETS, "LAB_KAFKA_BROKERS": "3"}, env_file=tmp_path / "none")
    assert cfg.kafka_nodes == [(1, "127.0.0.1", 9092, 9093), (2, "127.0.0.1", 9094, 9095), (3, "127.0.0.1", 9096, 9097)]
    assert cfg.KAFKA_BOOTSTRAP_SERVERS == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
    moved = config.load(env={**SECRETS, "LAB_KAFKA_BROKERS": "3", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19892"},
                        env_file=tmp_path / "none")
    assert [port for _, _, port, _ in moved.kafka_nodes] == [19892, 19894, 19896]
    given = config.load(env={**SECRETS, "LAB_KAFKA_BROKERS": "3", "KAFKA_BOOTSTRAP_SERVERS": "kafka:19092"},
                        env_file=tmp_path / "none")
    assert given.KAFKA_BOOTSTRAP_SERVERS == "kafka:19092", "a broker elsewhere is not multiplied"


def test_a_request_that_met_a_dead_broker_is_asked_again_only_when_there_are_others(tmp_path, monkeypatch):
    """kafka-python does not try another broker: with three, the request is asked again on a new
    client until the dead one is fenced (bounded by FAILOVER_S); with one, the error comes at once."""
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError

    monkeypatch.setattr(kafka, "FAILOVER_S", 5.0)
    tries = []

    def attempt():
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise KafkaConnectionError("Metadata refresh failed")
        if len(tries) == 2:  # the leader named by a fresh client's metadata is the dead broker
            raise KafkaTimeoutError("Failed to get offsets by timestamps in 15000 ms")
        return "answered"

    three = config.load(env={**SECRETS, "LAB_KAFKA_BROKERS": "3"}, env_file=tmp_path / "none")
    assert kafka.failover(three, attempt) == "answered" and len(tries) == 3
    tries.clear()
    with pytest.raises(KafkaConnectionError):
        kafka.failover(config.load(env=SECRETS, env_file=tmp_path / "none"), attempt)
    assert len(tries) == 1, "one broker: nobody else to ask"

    def never():
        tries.append(time.monotonic())
        raise KafkaConnectionError("Metadata refresh failed")

    tries.clear()
    with pytest.raises(KafkaConnectionError):
        kafka.failover(three, never)
    assert 4.5 <= tries[-1] - tries[0] <= 6.0, "asked again for FAILOVER_S, then the error"


@pytest.mark.parametrize("name, value, message", [
    ("LAB_KAFKA_BROKERS", "2", "1 or 3 Kafka brokers"),
    ("LAB_KAFKA_BROKERS", "three", "1 or 3 Kafka brokers"),
    ("LAB_SPARK_WORKERS", "-1", "0 .* up to 8"),
    ("LAB_SPARK_WORKERS", "9", "0 .* up to 8"),
    ("LAB_SPARK_WORKERS", "two", "0 .* up to 8"),
    ("SPARK_MASTER_PORT", "80", "1024 to 65535, e.g. SPARK_MASTER_PORT=7077"),
    ("SPARK_WORKER_WEBUI_PORT", "x", "e.g. SPARK_WORKER_WEBUI_PORT=8081"),
])
def test_a_bad_scale_setting_is_refused_naming_a_good_one(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=rf"{name}.*{message}"):
        config.load(env={**SECRETS, name: value}, env_file=tmp_path / "none")


def test_settings_chosen_by_a_process_win_and_a_bad_one_changes_nothing(chosen):
    config.use_settings(LAB_KAFKA_BROKERS=3)
    assert config.load().kafka_brokers == 3
    with pytest.raises(ConfigError, match="1 or 3"):
        config.use_settings(LAB_KAFKA_BROKERS=4)
    assert config.load().kafka_brokers == 3, "a refused choice leaves the previous one"
    with pytest.raises(ConfigError, match="NOT_A_SETTING is not a setting"):
        config.use_settings(NOT_A_SETTING=1)
    config.use_settings()
    assert config.load().kafka_brokers == config.load(env={}, env_file=config.ENV_FILE).kafka_brokers


def test_the_stack_up_flags_are_checked_in_one_line():
    for flags, says in ((["--kafka-brokers", "2"], "1 or 3 Kafka brokers"), (["--spark-workers", "12"], "up to 8"),
                        (["--spark-workers", "two"], "up to 8")):
        out = subprocess.run([sys.executable, "-m", "lab_utils", "stack", "up", *flags], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1 and says in out.stderr, out.stderr


def test_three_nodes_share_the_single_brokers_settings_but_replicate(tmp_path):
    cfg = config.load(env={**SECRETS, "LAB_KAFKA_BROKERS": "3"}, env_file=tmp_path / "none")
    single = dict(line.split("=", 1) for line in kafka_broker.kafka_properties(cfg).splitlines()
                  if line and not line.startswith("#"))
    nodes = [dict(line.split("=", 1) for line in kafka_cluster.node_properties(cfg, n).splitlines()
                  if line and not line.startswith("#")) for n in (1, 2, 3)]
    for n, props in enumerate(nodes, 1):
        assert props["node.id"] == str(n)
        assert props["controller.quorum.voters"] == "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097"
        assert props["listeners"] == f"PLAINTEXT://127.0.0.1:{9090 + 2 * n},CONTROLLER://127.0.0.1:{9091 + 2 * n}"
        assert props["log.dirs"] == str(config.KAFKA_CLUSTER_DIR / f"node-{n}") != str(config.KAFKA_DATA)
        assert props["default.replication.factor"] == props["offsets.topic.replication.factor"] == "3"
        assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"
        for key in ("auto.create.topics.enable", "num.partitions", "log.retention.hours", "process.roles"):
            assert props[key] == single[key], key
    assert kafka.replication(cfg) == (3, 2)
    assert kafka.replication(config.load(env=SECRETS, env_file=tmp_path / "none")) == (1, 1)


def test_the_cluster_is_sized_for_a_laptop_and_its_executors_fit_their_workers(lab_cfg):
    worker = spark_cluster.worker_cmd(lab_cfg, 2)
    assert worker[worker.index("--cores") + 1] == str(spark_cluster.WORKER_CORES) == session.EXECUTOR_CORES
    conf = session.spark_conf(lab_cfg, require_connectors=False)

    def mib(size: str) -> int:
        return int(size[:-1]) * (1024 if size.endswith("g") else 1)

    assert mib(conf["spark.executor.memory"]) <= mib(spark_cluster.WORKER_MEMORY), "an executor must fit its worker"
    assert worker[worker.index("--webui-port") + 1] == str(int(lab_cfg.SPARK_WORKER_WEBUI_PORT) + 1)
    assert worker[2] == lab_cfg.spark_master_url and Path(worker[0]).name == "spark-class"
    master = spark_cluster.master_cmd(lab_cfg)
    assert master[master.index("--port") + 1] == lab_cfg.SPARK_MASTER_PORT
    env = spark_cluster.daemon_env()
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1" and env["SPARK_DAEMON_MEMORY"] == spark_cluster.DAEMON_MEMORY
    assert str(config.STATE_DIR) in env["SPARK_CONF_DIR"], "the daemons' command lines name .lab (processes.pid_is_ours)"


def test_a_session_on_a_master_that_is_not_there_is_one_line_naming_the_fix(tmp_path):
    cfg = config.load(env={**SECRETS, "SPARK_MASTER": "spark://127.0.0.1:1"}, env_file=tmp_path / "none")
    with pytest.raises(ServiceDown, match=r"spark://127\.0\.0\.1:1 .*does not answer.*stack up --spark-workers 2"):
        health.require_spark_master(cfg)
    local = config.load(env=SECRETS, env_file=tmp_path / "none")
    assert "runs in this process" in health.require_spark_master(local)


# --------------------------------------------------------------------------- the exercise (no service)

def right(rf, isr, down):
    return rf - down >= isr


WRONG = {
    "ignores min.insync.replicas": lambda rf, isr, down: down < rf,
    "off by one": lambda rf, isr, down: rf - down > isr,
    "compares the dead with min.insync.replicas": lambda rf, isr, down: down <= isr,
    "ignores the dead": lambda rf, isr, down: rf >= isr,
    "only with every broker up": lambda rf, isr, down: down == 0,
    "a majority of replicas": lambda rf, isr, down: rf - down > rf / 2,
}


@pytest.mark.parametrize("lang", config.LANGUAGES)
def test_the_exercise_check_says_no_to_the_placeholder_and_to_plausible_wrong_answers(lang, chosen):
    config.use_language(lang)
    try:
        def untouched(rf, isr, down):
            ...  # the exercise cell as given

        for answer in (..., None, untouched):
            verdict = checks.writes_go_on(answer)
            assert not verdict and str(verdict).startswith(checks.FAIL)
            assert ("not done yet" if lang == "en" else "pas encore fait") in str(verdict)
        for why, answer in WRONG.items():
            verdict = checks.writes_go_on(answer)
            assert not verdict, why
            assert ("Kafka" in str(verdict)) and ("NOT_ENOUGH_REPLICAS" in str(verdict) or "acknowledges" in str(verdict)
                                                   or "acquitte" in str(verdict)), str(verdict)
        assert not checks.writes_go_on(lambda rf, isr, down: "yes")
        assert not checks.writes_go_on(lambda rf, isr: True)  # a TypeError, reported
        assert not checks.writes_go_on(3)
        verdict = checks.writes_go_on(right)
        assert verdict and str(verdict).startswith(checks.OK)
        assert ("right on all" if lang == "en" else "juste dans les") in str(verdict)
    finally:
        config.use_language(None)


def test_the_exercise_cases_hold_both_answers():
    assert {ex09_scaling.expected(*case) for case in ex09_scaling.CASES} == {True, False}
    assert (3, 2, 1) in ex09_scaling.CASES and ex09_scaling.expected(3, 2, 1), "the lesson's own cluster"


# --------------------------------------------------------------------------- the real engines

def compose_frame(df):
    """The rows of a sink without the ingest time (when Spark read them), in Kafka's order."""
    return df.drop(columns=["ingest_time"]).sort_values(["kafka_partition", "kafka_offset"]).reset_index(drop=True)


def task_executors(event_log_dir: Path) -> dict[str, int]:
    """Tasks per executor id, from the Spark event log of the one application written there."""
    [log] = [p for p in event_log_dir.iterdir() if p.is_file()]
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event.get("Event") == "SparkListenerTaskEnd":
            executor = event["Task Info"]["Executor ID"]
            counts[executor] = counts.get(executor, 0) + 1
    return counts


@pytest.mark.integration
def test_the_pipeline_on_a_two_worker_cluster_writes_exactly_what_local_mode_writes(cfg, spark, topic, run_prefix,
                                                                                   tmp_path, chosen,
                                                                                   configured_lab_after):
    """6,000 messages (10 % bad), drained once by `stream --available-now` on the standalone cluster
    with two workers, once by the same pipeline in local mode: the same rows, byte for byte but the
    ingest time, in output/ and in rejected/."""
    t0 = time.monotonic()
    services.scale_out(spark_workers=2, say=lambda _: None)
    cluster = config.load()
    assert len(spark_cluster.alive_workers(cluster)) == 2
    started = time.monotonic() - t0
    records = TransactionGenerator(seed=91, bad_ratio=0.1).take(6000)
    sent = producer.produce(records=records, count=len(records), topic=topic, progress=False)
    assert sent.failed == 0
    events = tmp_path / "events"
    events.mkdir()
    # `stream`, unchanged, with SPARK_MASTER naming the cluster; the event log says where tasks ran.
    submit = " ".join(f"--conf {k}={v}" for k, v in {"spark.eventLog.enabled": "true", "spark.eventLog.dir": events.as_uri(),
                                                     "spark.eventLog.compress": "false",
                                                     "spark.eventLog.rolling.enabled": "false"}.items())
    t1 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "lab_utils", "stream", "--available-now", "--prefix", f"{run_prefix}/cluster"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "KAFKA_TOPIC": topic, "SPARK_MASTER": cluster.spark_master_url,
                              "PYSPARK_SUBMIT_ARGS": f"{submit} pyspark-shell"})
    on_cluster = time.monotonic() - t1
    assert out.returncode == 0, out.stderr[-3000:]
    t2 = time.monotonic()
    run = pipeline.start(spark, available_now=True, topic=topic, root=f"{run_prefix}/local", cfg=cfg)
    try:
        assert run.wait(timeout_s=300)
    finally:
        run.stop()
    local = time.monotonic() - t2
    for sink in ("output", "rejected"):
        a = compose_frame(storage.read_committed(f"{run_prefix}/cluster/{sink}", cfg=cfg))
        b = compose_frame(storage.read_committed(f"{run_prefix}/local/{sink}", cfg=cfg))
        assert len(a) > 0 and len(a) == len(b), (sink, len(a), len(b))
        import pandas.testing

        pandas.testing.assert_frame_equal(a, b, check_like=False)
    got = len(storage.read_committed(f"{run_prefix}/cluster/output", columns=["kafka_offset"], cfg=cfg)) + \
        len(storage.read_committed(f"{run_prefix}/cluster/rejected", columns=["kafka_offset"], cfg=cfg))
    assert got == len(records)
    tasks = task_executors(events)
    assert "driver" not in tasks and len(tasks) == 2 and all(n > 0 for n in tasks.values()), tasks
    print(f"\ncluster of 2 workers vs local: {len(records)} messages, the same output/ and rejected/; tasks per "
          f"executor {tasks}; cluster up {started:.0f} s, stream on the cluster {on_cluster:.0f} s (JVM start included), "
          f"local {local:.0f} s, {time.monotonic() - t0:.0f} s in all")


class EndOffsetWatch:
    """Samples the topic's total end offset every 0.2 s in a thread: the longest time writes stalled."""

    def __init__(self, cfg, topic: str):
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(cfg, topic), daemon=True)
        self._thread.start()

    def _run(self, cfg, topic):
        consumer = None
        while not self._stop.wait(0.2):
            try:
                consumer = consumer or kafka.reader(cfg, "lab-test-watch")
                tps, _, ends = kafka.partition_offsets(consumer, topic)
                self.samples.append((time.monotonic(), sum(ends.values())))
            except Exception:  # noqa: BLE001 - a broker just died: sample again
                if consumer is not None:
                    consumer.close()
                consumer = None
        if consumer is not None:
            consumer.close()

    def longest_stall(self, until: int) -> float:
        """Seconds of the longest run of samples without a new message, before the end offset reached `until`."""
        longest, since, last = 0.0, None, None
        for t, total in self.samples:
            if total >= until:
                break
            if total != last:
                since, last = t, total
            elif since is not None:
                longest = max(longest, t - since)
        return longest

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.mark.integration
def test_three_brokers_one_killed_while_producing_and_streaming_loses_nothing(cfg, spark, run_prefix, chosen,
                                                                            configured_lab_after):
    """30,000 messages (5 % bad) at 3,000/s into a topic with 3 replicas and min.insync.replicas=2;
    broker 2 is SIGKILLed after 5,000, while the pipeline streams. Leaders move, the producer
    (acks=all, idempotent) reports no failure, the queries keep running; broker 2, restarted,
    is back in every partition's ISR."""
    t0 = time.monotonic()
    services.scale_out(kafka_brokers=3, say=lambda _: None)
    three = config.load()
    topic = f"test-{uuid.uuid4().hex[:10]}"
    assert kafka.ensure_topic(three, topic)
    try:
        rows = services.wait_for_replicas(lambda p: len(p["isr"]) == 3, topic=topic, timeout_s=60, cfg=three)
        assert all(sorted(p["replicas"]) == [1, 2, 3] for p in rows), rows
        with kafka.admin(three) as admin:
            from kafka.admin import ConfigResource, ConfigResourceType

            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        assert described["topic"][topic].get("min.insync.replicas", {}).get("value") == "2", described
        victim = 2
        records = TransactionGenerator(seed=92, bad_ratio=0.05).take(30_000)
        run = pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=three)
        watch = EndOffsetWatch(three, topic)
        try:
            feeder = Feeder(records, topic, rate=3000)
            wait_until(lambda: sum(producer.topic_size(topic, three).values()) >= 5000, timeout=60,
                       what="5,000 messages in the topic")
            killed_at_offset = sum(producer.topic_size(topic, three).values())
            assert services.stop_service(kafka_cluster.NODES[victim - 1], kill=True)
            killed = time.monotonic()
            moved = services.wait_for_replicas(lambda p: p["leader"] not in (victim, -1) and victim not in p["isr"],
                                               topic=topic, timeout_s=120, cfg=three)
            failover_s = time.monotonic() - killed
            assert run.output.isActive and run.rejected.isActive, "the stream keeps going while a broker is down"
            sent = feeder.join(timeout=240)
            written_while_down = sum(producer.topic_size(topic, three).values()) - killed_at_offset
            restarted = time.monotonic()
            services.up(say=lambda _: None)  # starts broker 2 again
            back = services.wait_for_replicas(lambda p: victim in p["isr"], topic=topic, timeout_s=180, cfg=three)
            rejoin_s = time.monotonic() - restarted
            assert run.output.isActive and run.rejected.isActive, "the stream kept going through the restart"
            run.wait_until_caught_up(timeout_s=300, topic=topic, cfg=three)
        finally:
            watch.stop()
            run.stop()
        assert sent.failed == 0 and sent.sent == len(records), sent
        figures = assert_exactly_once(three, run_prefix, sent.acks, records)
        stall = watch.longest_stall(until=len(records))
        print(f"\nthree brokers, broker {victim} SIGKILLed after {killed_at_offset} messages: {figures}; producer failed "
              f"{sent.failed}; new leaders and ISR without it after {failover_s:.1f} s ({moved}); longest write stall "
              f"{stall:.1f} s; {written_while_down} messages written while it was down; restarted, back in every "
              f"ISR after {rejoin_s:.1f} s ({back}); {time.monotonic() - t0:.0f} s in all")
    finally:
        kafka.delete_topics(three, [topic])


@pytest.mark.integration
@pytest.mark.slow  # 91-138 s of CI for `stack up` twice, `down`, `up`: lesson 09 and the tests above start both layouts
def test_up_and_down_with_three_brokers_and_a_cluster_are_idempotent_and_keep_each_kafkas_data(cfg, chosen,
                                                                                               configured_lab_after):
    """`stack up --kafka-brokers 3 --spark-workers 2` twice: the same processes. The one-broker
    Kafka's topics are not in the three-broker Kafka. `stack down` stops everything; `stack up`
    (the configuration: one broker) brings the one-broker Kafka back with its data."""
    def lab(*args):
        out = subprocess.run([sys.executable, "-m", "lab_utils", "stack", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout

    config.use_settings()
    assert cfg.kafka_brokers == 1 and cfg.spark_workers == 0, "this test switches from the configured lab and back"
    lab("up")  # the configured lab, whatever an earlier test left
    topic = f"test-{uuid.uuid4().hex[:10]}"
    kafka.ensure_topic(cfg, topic)
    try:
        marker = producer.make_producer(cfg)
        marker.send(topic, key=b"marker", value=b"kept apart").get(timeout=30)
        marker.close()
        scaled = ("up", "--kafka-brokers", "3", "--spark-workers", "2")
        first, second = lab(*scaled), lab(*scaled)
        config.use_settings(LAB_KAFKA_BROKERS=3, LAB_SPARK_WORKERS=2)
        status = services.status()["services"]
        names = [*kafka_cluster.NODES, spark_cluster.MASTER, "spark-worker-1", "spark-worker-2", "minio"]
        for name in names:
            assert status[name]["healthy"] and status[name]["pid"], (name, status[name])
            assert f"pid {status[name]['pid']}" in first and f"pid {status[name]['pid']}" in second, name
        assert processes.recorded(kafka_cluster.SINGLE) is None, "the one-broker Kafka was stopped"
        three = config.load()
        assert topic not in kafka.list_topics(three), "the three brokers do not hold the one broker's topics"
        assert all(len(p["replicas"]) == 3 for p in kafka.partition_replicas(cfg=three))
        text = lab("status")
        for name in names:
            assert name in text
        lab("down")
        assert not any(processes.recorded(name) for name in names)
        config.use_settings()
        lab("up")
        status = services.status()["services"]
        assert status["kafka"]["healthy"] and not set(status) & {*kafka_cluster.NODES, spark_cluster.MASTER}, status
        reader = kafka.reader(cfg, "lab-test-marker", consumer_timeout_ms=10_000, auto_offset_reset="earliest")
        try:
            reader.subscribe([topic])
            assert b"kept apart" in [m.value for m in reader], "the one-broker Kafka came back with its data"
        finally:
            reader.close()
    finally:
        config.use_settings()
        kafka.delete_topics(cfg, [topic])
