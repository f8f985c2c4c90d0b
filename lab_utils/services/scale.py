"""The lab scaled out for one process (lesson 09, the tests): three brokers, a Spark cluster, and back.

    from lab_utils import stack
    stack.scale_out(kafka_brokers=3, spark_workers=1)   # this process's settings, then `up()`
    stack.scale_out(spark_workers=2)                    # one more worker, the brokers as they are
    stack.wait_for_replicas(lambda p: 2 not in p["isr"], timeout_s=90)
    stack.scale_back()                                  # Kafka as configured again (.env, environment)

`scale_out` sets LAB_KAFKA_BROKERS, LAB_SPARK_WORKERS and SPARK_MASTER (the cluster's URL) for
this process only (lab_utils.config.use_settings), so every call after it (the producer, the
pipeline, `get_spark()`) uses the scaled-out lab, then runs `up()`, which switches Kafka to three
nodes (the one-node Kafka stops; its data stays) and starts the master and the workers.
`scale_back` puts the configuration back and switches Kafka back to what it says; the Spark
cluster stays up (its executors leave with their session) until `stack down` or a `stack up`.
"""

from __future__ import annotations

import time
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients.kafka import ensure_topic, partition_replicas
from ..errors import ConfigError, ServiceDown
from . import kafka_cluster
from .processes import wait_ready
from .stack import START_TIMEOUT_S, status, up

_ = i18n.catalog(__name__, {
    "replicas_timeout": {
        "en": "after {seconds} s the partitions of {topic} are still {rows}: look at `python -m lab_utils stack status` "
              "and the brokers' logs in .lab/logs/",
        "fr": "après {seconds} s, les partitions de {topic} sont toujours {rows} : regardez "
              "`python -m lab_utils stack status` et les journaux des brokers dans .lab/logs/",
    },
})


def scale_out(kafka_brokers: int | None = None, spark_workers: int | None = None,
              say: Callable[[str], None] = print) -> dict:
    """Run the lab with `kafka_brokers` (1 or 3) and `spark_workers` in this process, and send this
    process's Spark sessions to the cluster; a value left out stays as this process has it.
    Starts what is missing (idempotent) and returns `status()`."""
    before = _config.use_settings()  # what this process chose so far (cleared for a moment)
    settings = dict(before)
    if kafka_brokers is not None:
        settings["LAB_KAFKA_BROKERS"] = str(kafka_brokers)
    if spark_workers is not None:
        settings["LAB_SPARK_WORKERS"] = str(spark_workers)
    settings.pop("SPARK_MASTER", None)
    try:
        _config.use_settings(**settings)
        if _config.load().spark_workers:
            settings["SPARK_MASTER"] = _config.load().spark_master_url
        _config.use_settings(**settings)
    except ConfigError:
        _config.use_settings(**before)
        raise
    return up(say)


def scale_back(say: Callable[[str], None] = print) -> dict:
    """Back to the lab's configuration (environment, .env, defaults): Kafka as LAB_KAFKA_BROKERS says
    (the three nodes stop; their data stays), Spark sessions as SPARK_MASTER says. The Spark cluster
    keeps running (a session may still use it) until `stack down` or `stack up`. Returns `status()`."""
    _config.use_settings()
    cfg = _config.load()
    procs = kafka_cluster.start_kafka_nodes(cfg, say)
    for name, proc in procs.items():
        wait_ready(f"Kafka {name}", proc, lambda: kafka_cluster.all_brokers_ready(cfg), START_TIMEOUT_S["kafka"])
    ensure_topic(cfg)
    return status(cfg)


def wait_for_replicas(predicate: Callable[[dict], bool], topic: str | None = None, timeout_s: float = 90.0,
                      cfg: _config.LabConfig | None = None) -> list[dict]:
    """Poll the topic's partitions (`partition_replicas`: leader, replicas, ISR) until `predicate`
    holds for every one of them; return them. ServiceDown after `timeout_s`, showing them."""
    from kafka.errors import KafkaError

    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            rows = partition_replicas(topic, cfg)
        except (ServiceDown, KafkaError):  # a broker just died or is not listening yet: ask again
            rows = []
        if rows and all(predicate(row) for row in rows):
            return rows
        if time.monotonic() > deadline:
            raise ServiceDown(_("replicas_timeout", seconds=f"{timeout_s:.0f}", topic=topic, rows=rows))
        time.sleep(0.5)  # a poll interval, not a fixed wait: returns as soon as the predicate holds
