"""Measurements behind the lab's performance figures (the `bench` command builds on these).

Figures, not pass/fail: tests never assert a speed. The machine is shared and noisy, so each
figure is the median of several runs, reported with its spread (min..max), and the producers
compared are measured in the same run, interleaved.
"""

from __future__ import annotations

import statistics
import time
import uuid

from . import config as _config
from . import producer as _producer
from . import stack as _stack
from .generator import TransactionGenerator


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": [round(v) for v in values]}


def producer_rates(runs: int = 5, n: int = 200_000, naive_n: int = 2_000,
                   cfg: _config.LabConfig | None = None) -> dict:
    """Messages/s from one process at full speed, median of `runs`, in one run:

    - bulk: `produce()` (confluent-kafka, generation included), the CLI's path;
    - kafka_python_tuned: `produce(engine="kafka-python")`, the lessons' client, tuned settings;
    - kafka_python_naive: a kafka-python loop that sends and flushes each message (default settings).
    Each run writes to a fresh topic, deleted afterwards.
    """
    from kafka import KafkaProducer

    cfg = cfg or _config.load()
    records = TransactionGenerator(seed=1, start_id=1).take(n)
    results = {"bulk": [], "kafka_python_tuned": [], "kafka_python_naive": []}
    topics = []
    try:
        for _ in range(runs):
            topic = f"bench-{uuid.uuid4().hex[:8]}"
            topics.append(topic)
            _stack.ensure_topic(cfg, topic)
            s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg)
            results["bulk"].append(s.acknowledged / s.seconds)
            s = _producer.produce(records=records, count=n, topic=topic, progress=False, cfg=cfg,
                                  engine="kafka-python")
            results["kafka_python_tuned"].append(s.acknowledged / s.seconds)
            naive = KafkaProducer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS)
            t0 = time.monotonic()
            for r in records[:naive_n]:
                naive.send(topic, key=r.key, value=r.value).get(timeout=30)
                naive.flush()
            results["kafka_python_naive"].append(naive_n / (time.monotonic() - t0))
            naive.close()
    finally:
        admin = _stack._kafka_admin(cfg)
        try:
            admin.delete_topics(topics, timeout_ms=30_000)
        finally:
            admin.close()
    return {name: _spread(values) for name, values in results.items()} | {
        "settings": {"bulk": _producer.BULK_SETTINGS, "kafka_python_tuned": _producer.TUNED_SETTINGS},
        "messages_per_run": {"bulk": n, "kafka_python_tuned": n, "kafka_python_naive": naive_n}}
