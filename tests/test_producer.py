"""The producer against the real broker: exact counts, every bad class, checked deliveries,
clean interrupts, ids that never repeat, and clear errors when Kafka is away."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition

from lab_utils import config, messages, producer
from lab_utils.config import ROOT
from lab_utils.errors import LabError, ServiceDown
from lab_utils.generator import BAD_KINDS, Record, TransactionGenerator

pytestmark = pytest.mark.integration


def read_all(cfg, topic: str, expected: int, timeout_s: float = 60) -> list:
    """Every message of the topic (bounded wait)."""
    consumer = KafkaConsumer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, enable_auto_commit=False,
                             auto_offset_reset="earliest", client_id="test-read-all")
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        out, deadline = [], time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(records)
        return out
    finally:
        consumer.close()


@pytest.mark.parametrize("engine,n", [("confluent", 20_000), ("kafka-python", 3_000)])
def test_exactly_count_messages_land(cfg, topic, engine, n):
    summary = producer.produce(count=n, topic=topic, engine=engine, progress=False, seed=1)
    assert (summary.sent, summary.failed, summary.acknowledged) == (n, 0, n), summary
    assert sum(producer.topic_size(topic, cfg).values()) == n
    assert (summary.first_id, summary.last_id) == (1, n)


def test_every_bad_class_reaches_the_topic_and_keys_are_ids(cfg, topic):
    n = 6_000
    summary = producer.produce(count=n, bad_ratio=0.2, seed=3, topic=topic, progress=False)
    assert summary.failed == 0
    assert set(summary.bad_by_kind) == set(BAD_KINDS), set(BAD_KINDS) - set(summary.bad_by_kind)
    received = read_all(cfg, topic, n)
    assert len(received) == n
    verdicts = Counter(messages.verdict(r.value) for r in received)
    assert set(verdicts) == {"accept", *messages.REJECT_REASONS}, verdicts
    assert n - verdicts["accept"] == summary.bad
    keys = sorted(int(r.key) for r in received)
    assert keys == list(range(1, n + 1)), "one key per message, the id, no repeats"
    by_partition = Counter(r.partition for r in received)
    assert len(by_partition) == 3 and min(by_partition.values()) > n / 6, by_partition


def test_a_second_run_continues_the_ids(cfg, topic):
    first = producer.produce(count=500, topic=topic, progress=False)
    second = producer.produce(count=500, topic=topic, progress=False, engine="kafka-python")
    assert (first.first_id, first.last_id, second.first_id, second.last_id) == (1, 500, 501, 1000)


def test_an_undeliverable_message_is_reported_not_swallowed(cfg, topic):
    ok = TransactionGenerator(seed=1).take(10)
    too_big = Record(key=b"999", value=b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                     transaction_id=999, kind="too_big", expected="malformed_json")
    for engine in ("confluent", "kafka-python"):
        summary = producer.produce(records=ok[:5] + [too_big] + ok[5:], count=11, topic=topic,
                                   engine=engine, progress=False)
        assert (summary.sent, summary.failed) == (11, 1), summary
        assert "size" in summary.errors[0].lower() or "large" in summary.errors[0].lower(), summary.errors
    assert sum(producer.topic_size(topic, cfg).values()) == 20


def test_interrupt_flushes_what_was_sent(cfg, topic):
    def interrupted_after(k):
        for i, record in enumerate(TransactionGenerator(seed=2)):
            if i == k:
                raise KeyboardInterrupt
            yield record

    summary = producer.produce(records=interrupted_after(1234), count=10_000, topic=topic, progress=False)
    assert summary.interrupted and summary.sent == 1234 and summary.failed == 0
    assert sum(producer.topic_size(topic, cfg).values()) == 1234


def test_rate_limit_paces_the_sends(cfg, topic):
    summary = producer.produce(count=300, rate=200, topic=topic, progress=False)
    assert summary.sent == 300 and 1.3 < summary.seconds < 6, summary.seconds


def test_duration_mode_stops_on_time(cfg, topic):
    summary = producer.produce(duration=1.5, rate=100, topic=topic, progress=False)
    assert 100 <= summary.sent <= 160 and summary.seconds < 5, summary


def test_peek_shows_the_newest_messages(cfg, topic):
    producer.produce(count=30, topic=topic, progress=False, seed=5)
    newest = producer.peek(2, topic=topic)
    assert len(newest) == 6 and {m["partition"] for m in newest} == {0, 1, 2}
    assert all(m["key"].isdigit() for m in newest)


def test_broker_down_is_a_clear_error_within_seconds(tmp_path):
    env = {**config.read_env_file(), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    down_cfg = config.load(env=env)
    t0 = time.monotonic()
    with pytest.raises(ServiceDown, match=r"Kafka is not reachable at 127.0.0.1:1: run .*stack up"):
        producer.produce(count=10, cfg=down_cfg, progress=False)
    assert time.monotonic() - t0 < 20


def test_broker_down_in_french(french):
    env = {**config.read_env_file(), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    with pytest.raises(ServiceDown, match=r"Kafka ne répond pas à l'adresse 127.0.0.1:1\u00a0: lancez .*stack up"):
        producer.produce(count=10, cfg=config.load(env=env), progress=False)


def cli(*args, env_extra=None, timeout=300):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "lab_utils", "produce", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_puts_exactly_200000_messages(cfg, topic):
    out = cli("--count", "200000", "--rate", "0", env_extra={"KAFKA_TOPIC": topic})
    assert out.returncode == 0, out.stderr
    assert "sent 200,000" in out.stdout and "failed 0" in out.stdout
    assert sum(producer.topic_size(topic, cfg).values()) == 200_000


def test_cli_bad_ratio_run_reports_every_bad_class(cfg, topic):
    out = cli("--count", "5000", "--bad-ratio", "0.3", "--seed", "11", env_extra={"KAFKA_TOPIC": topic})
    assert out.returncode == 0, out.stderr
    assert "bad on purpose" in out.stdout
    for kind in BAD_KINDS:
        assert f"{kind} " in out.stdout, kind


def test_cli_wrong_arguments_get_one_line():
    out = cli("--count", "5", "--bad-ratio", "2")
    assert out.returncode == 1 and out.stderr.strip().count("\n") == 0 and "--bad-ratio" in out.stderr
    out = cli("--count", "5", "--duration", "3")
    assert out.returncode == 2 and "not allowed with" in out.stderr


def test_cli_broker_down_one_line():
    out = cli("--count", "5", env_extra={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "stack up" in out.stderr, out.stderr
    out = cli("--count", "5", env_extra={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "LAB_LANG": "fr"}, timeout=60)
    assert out.returncode == 1 and out.stderr.strip().count("\n") == 0, out.stderr
    assert out.stderr.startswith("erreur\u00a0: Kafka ne répond pas") and "stack up" in out.stderr, out.stderr


def test_ids_continue_past_a_few_foreign_messages_at_the_end(cfg, topic):
    """A tombstone or a message keyed by a name (notebook 02 sends some) must not hide the last id."""
    producer.produce(count=300, topic=topic, progress=False)
    kafka = producer.make_producer()
    try:
        for p in range(3):
            for _ in range(5):
                kafka.send(topic, key=b"demo-key", value=None, partition=p)
        kafka.flush(30)
    finally:
        kafka.close()
    assert producer.last_transaction_id(topic) == 300


def test_background_producer_returns_its_summary(cfg, topic):
    background = producer.produce_in_background(count=2000, rate=4000, topic=topic)
    summary = background.wait(timeout_s=60)
    assert (summary.sent, summary.failed, background.running) == (2000, 0, False)
    assert sum(producer.topic_size(topic).values()) == 2000


def test_a_background_producer_stopped_early_delivers_what_it_sent(cfg, topic):
    background = producer.produce_in_background(duration=120, rate=500, topic=topic)
    deadline = time.monotonic() + 60
    while not sum(producer.topic_size(topic).values()) and time.monotonic() < deadline:
        time.sleep(0.2)  # a poll: until the first messages are in the topic
    summary = background.stop(timeout_s=60)
    assert not background.running and summary.failed == 0 and 0 < summary.sent < 500 * 60, summary
    assert summary.seconds < 60, "stopped long before its 120 s"
    assert sum(producer.topic_size(topic).values()) == summary.sent == summary.acknowledged


def test_background_producer_must_be_bounded():
    with pytest.raises(LabError, match="count= or duration="):
        producer.produce_in_background()
