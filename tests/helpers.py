"""Helpers shared by the tests: one of each, imported where needed (not copied per file).

    wait_until(predicate, timeout=30, what="the topic to exist")   # bounded polling, no fixed sleeps
                                                                   # (what=lambda: ... to say what was seen last)
    Feeder(records, topic)                                         # produce() in a thread, keeping acks
    kill_group(proc)                                               # SIGKILL a process group, wait until gone
    assert_lake_exactly_once(cfg, root, acks, records)             # the lake holds each message once
    quick_model(spark, cfg, root)                                  # a fraud model in <root>/models/fraud/
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from lab_utils import producer, training
from lab_utils.clients import lake
from lab_utils.config import ROOT
from lab_utils.generator import TransactionGenerator


def wait_until(predicate, *, timeout: float, interval: float = 0.2, what="a condition"):
    """Poll `predicate()` until it returns a true value, and return that value; fail after `timeout`
    seconds with an AssertionError saying what was awaited. `what` is a text, or a function called
    only then, so the message can say what the predicate saw last (an f-string is formatted at the call)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what() if callable(what) else what}")
        time.sleep(interval)


@dataclass
class Feeder:
    """`produce()` in a thread, keeping every acknowledgement (summary.acks)."""

    records: list
    topic: str
    rate: float | None = None
    summary: producer.ProduceSummary | None = None
    error: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.summary = producer.produce(records=self.records, count=len(self.records), rate=self.rate,
                                            topic=self.topic, progress=False, record_acks=True)
        except BaseException as e:  # noqa: BLE001 - re-raised by join()
            self.error = e

    def join(self, timeout: float) -> producer.ProduceSummary:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the producer did not finish within {timeout:.0f} s"
        if self.error is not None:
            raise self.error
        return self.summary


def lab(*args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    """`python -m lab_utils ...` in its own process group (so kill_group reaches its JVM too)."""
    return subprocess.Popen([sys.executable, "-m", "lab_utils", *args], cwd=ROOT,
                            env={**os.environ, **(env or {})}, start_new_session=True, **popen)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its group (the Spark JVM too), and wait until all are gone."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    def group_gone():
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.getpgid(int(entry)) == proc.pid:
                        return False
                except OSError:
                    pass
        return True

    wait_until(group_gone, timeout=30, what=f"every process of group {proc.pid} to exit after SIGKILL")


def assert_lake_exactly_once(cfg, root: str, acks, records) -> dict:
    """bronze holds each acknowledged message once; silver/transactions + silver/rejected hold each
    once, where the generator said (accepted, or rejected with its reason); gold = silver summed.
    Read with deltalake, through the tables' logs. Returns the figures."""
    by_key = {r.key: r for r in records}
    acked = {(p, o): key for key, p, o in acks}
    bronze = lake.read(lake.BRONZE, root=root, cfg=cfg, columns=["kafka_key", "kafka_partition", "kafka_offset"])
    silver = lake.read(lake.SILVER, root=root, cfg=cfg)
    rejected = lake.read(lake.REJECTED, root=root, cfg=cfg)
    in_bronze = Counter(zip(bronze.kafka_partition, bronze.kafka_offset))
    landed = Counter(zip(silver.kafka_partition, silver.kafka_offset)) + Counter(
        zip(rejected.kafka_partition, rejected.kafka_offset))
    figures = {"acknowledged": len(acked), "bronze": len(bronze), "silver": len(silver), "rejected": len(rejected),
               "lost": len(set(acked) - set(landed)), "duplicated": sum(n - 1 for n in landed.values()),
               "bronze_lost": len(set(acked) - set(in_bronze)),
               "bronze_duplicated": sum(n - 1 for n in in_bronze.values())}
    assert figures["lost"] == figures["duplicated"] == figures["bronze_lost"] == figures["bronze_duplicated"] == 0, figures
    assert set(landed) == set(in_bronze) == set(acked), figures
    accepted = {by_key[acked[po]].transaction_id for po in acked if by_key[acked[po]].expected == "accept"}
    assert silver.transaction_id.is_unique and set(silver.transaction_id) == accepted, figures
    got = {(p, o): reason for p, o, reason in zip(rejected.kafka_partition, rejected.kafka_offset, rejected.reason)}
    assert got == {po: by_key[acked[po]].expected for po in acked if by_key[acked[po]].expected != "accept"}
    # Gold: silver summed per local date, hour and currency.
    gold = lake.read(lake.GOLD, root=root, cfg=cfg)
    silver["hour"] = silver.event_time_local.dt.hour
    want = silver.groupby(["event_date", "hour", "devise"]).agg(transactions=("montant_eur", "size"),
                                                               montant_eur=("montant_eur", "sum"))
    have = gold.set_index(["event_date", "hour", "devise"]).sort_index()
    assert len(have) == len(want) and (have.transactions == want.transactions.reindex(have.index)).all()
    assert ((have.montant_eur - want.montant_eur.reindex(have.index)).abs() < 0.01).all()
    return figures


def quick_model(spark, cfg, root: str, payments: int = 6000, seed: int = 1) -> str:
    """Train a fraud model on `payments` generated payments (two weeks ending now, 5 % fraud, the
    pipeline's own transformations, no Kafka), save it under `<root>/models/fraud/`, return its
    version. Few payments and iterations: tests that need a model to score with, not a good one."""
    from datetime import datetime, timedelta, timezone

    start = datetime.now(timezone.utc) - timedelta(weeks=2)
    records = TransactionGenerator(seed=seed, fraud_ratio=0.05, clock="simulated", start=start,
                                   events_per_second=payments / timedelta(weeks=2).total_seconds()).take(payments)
    history = training.with_labels(training.frame_from_records(spark, records, cfg.LAB_TIMEZONE),
                                   training.labels_from_records(spark, records)).cache()
    try:
        return training.train(spark, root=root, cfg=cfg, history=history, max_iter=10).version
    finally:
        history.unpersist()
