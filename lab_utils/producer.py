"""Send transactions to Kafka: the lab's producer.

    from lab_utils.producer import produce
    summary = produce(count=1000)                 # 1,000 transactions, full speed
    produce(duration=30, rate=200, bad_ratio=0.05) # 30 s at 200 events/s, 5 % bad on purpose

Two Kafka clients, each where it is best:
- kafka-python (`make_producer()`) is the one students read and use in notebook cells: its
  API is the lesson. It tops out at about 15,000 msg/s on a 2-core laptop (pure Python).
- confluent-kafka (librdkafka, in C) is the bulk path behind `produce()` and
  `python -m lab_utils produce`: over 200,000 msg/s on the same machine, so an instructor
  puts a million transactions into Kafka in seconds. `produce(engine="kafka-python")`
  runs the same job on kafka-python, for comparison.

Both are idempotent (`acks=all` plus Kafka's idempotent producer; kafka-python supports it
since 2.1), so retries never write a message twice. Every send is checked: a message the
broker did not acknowledge is counted as failed and reported, never dropped silently.
Ctrl-C (or the notebook's interrupt button) stops sending, then flushes and closes, and the
summary says what got through.

Ids continue after the highest `transaction_id` already in the topic, so running the
producer twice (or again after a crash) never reuses an id.

With LAB_MONITORING=true, a producer exports what it sends to Prometheus while it runs
(PRODUCER_METRICS_ADDRESS, prometheus-client): lab_producer_messages_sent_total{topic},
lab_producer_messages_failed_total{topic} and lab_producer_bad_messages_total{topic,kind}.
With monitoring off, prometheus-client is not even imported.

Labelled fraud (notebook 08): `produce(fraud_ratio=0.02)` sends payments of the generator's card
population, 2 % of them fraudulent, and for each fraudulent one its chargeback (the label) to the
topic `<topic>-chargebacks` (config.chargebacks_topic), never inside the payment's message.
`history_weeks=4` spreads the payments' timestamps over the last 4 weeks (a simulated clock that
ends now) instead of stamping them now: history to train on, whose older chargebacks are already in.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import config as _config
from . import i18n
from .clients import kafka
from .clients.kafka import end_offsets, topic_size  # noqa: F401 - part of this module's API (notebooks)
from .clients.prometheus import Exporter
from .errors import LabError, ServiceDown
from .generator import TransactionGenerator

# kafka-python, tuned (measured in the benchmark): large batches, a short linger, lz4
# (cheap to compress, and Spark's Kafka source decodes it natively).
TUNED_SETTINGS = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 512 * 1024,
    "compression_type": "lz4",
    "max_in_flight_requests_per_connection": 5,
    # A missing broker fails in seconds with a clear error, not after a minute.
    "max_block_ms": 10_000,
    "request_timeout_ms": 15_000,
    "delivery_timeout_ms": 60_000,
}
# The same choices for librdkafka (confluent-kafka), the bulk path.
BULK_SETTINGS = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 20,
    "batch.size": 1024 * 1024,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    "message.timeout.ms": 60_000,
    "socket.connection.setup.timeout.ms": 10_000,
}
DELIVERY_TIMEOUT_S = 60.0
ENGINES = ("confluent", "kafka-python")

_ = i18n.catalog(__name__, {
    "summary": {
        "en": "sent {sent} to {topic} in {seconds} s ({rate} msg/s){ids}; acknowledged {acknowledged}, failed {failed}",
        "fr": "envoyés : {sent} vers {topic} en {seconds} s ({rate} msg/s){ids} ; acquittés : {acknowledged}, "
              "en échec : {failed}",
    },
    "summary_ids": {"en": ", ids {first}..{last}", "fr": ", identifiants {first}..{last}"},
    "summary_interrupted": {"en": "; interrupted", "fr": " ; interrompu"},
    "summary_bad": {"en": "bad on purpose: {bad} ({kinds})", "fr": "volontairement invalides : {bad} ({kinds})"},
    "summary_error": {"en": "delivery error: {error}", "fr": "erreur de livraison : {error}"},
    "summary_fraud": {
        "en": "fraud: {frauds} ({kinds}); chargebacks sent to {topic} {chargebacks}, failed {failed}",
        "fr": "fraudes : {frauds} ({kinds}) ; rétrofacturations envoyées vers {topic} : {chargebacks}, "
              "en échec : {failed}",
    },
    "history_needs_count": {
        "en": "history_weeks spreads a given count of payments over past weeks: pass count= (and neither "
              "duration= nor rate=), e.g. count=200000, history_weeks=4",
        "fr": "history_weeks répartit un nombre donné de paiements sur les semaines passées : passez count= "
              "(et ni duration= ni rate=), par exemple count=200000, history_weeks=4",
    },
    "history_weeks_range": {
        "en": "history_weeks must be between 0 and 520 (ten years), got {weeks}",
        "fr": "history_weeks doit être compris entre 0 et 520 (dix ans), reçu {weeks}",
    },
    "bad_engine": {
        "en": "engine must be one of {engines}, got {engine}",
        "fr": "engine doit valoir l'un de ces moteurs : {engines} (reçu {engine})",
    },
    "bad_count": {"en": "count must be >= 0, got {count}", "fr": "count doit être >= 0 (reçu {count})"},
    "last_id_timeout": {
        "en": "could not read the last message of {topic} within {seconds} s: {fix}",
        "fr": "impossible de lire le dernier message de {topic} en {seconds} s : {fix}",
    },
    "undelivered": {
        "en": "{count} messages still undelivered after {seconds} s",
        "fr": "{count} messages toujours pas livrés après {seconds} s",
    },
    "still_sending": {
        "en": "the background producer is still sending after {seconds} s: wait again, or give it a smaller count "
              "or duration",
        "fr": "le producteur en arrière-plan envoie encore après {seconds} s : attendez de nouveau, ou donnez-lui un "
              "count ou une duration plus petits",
    },
    "needs_bound": {
        "en": "produce_in_background needs count= or duration=, e.g. duration=20",
        "fr": "produce_in_background a besoin de count= ou de duration=, par exemple duration=20",
    },
})
n = i18n.number


@dataclass
class ProduceSummary:
    """What a `produce()` call did. `failed` counts messages Kafka did not acknowledge."""

    topic: str
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0
    first_id: int | None = None
    last_id: int | None = None
    interrupted: bool = False
    bad_by_kind: Counter = field(default_factory=Counter)
    fraud_by_type: Counter = field(default_factory=Counter)
    # Chargebacks sent to `<topic>-chargebacks` (one per fraudulent payment), and how many Kafka refused.
    chargebacks: int = 0
    chargebacks_failed: int = 0
    errors: list[str] = field(default_factory=list)
    # With produce(record_acks=True): (key, partition, offset) of every message Kafka acknowledged.
    acks: list[tuple[bytes | None, int, int]] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return self.sent - self.failed

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def bad(self) -> int:
        return sum(self.bad_by_kind.values())

    def __str__(self) -> str:
        ids = _("summary_ids", first=self.first_id, last=self.last_id) if self.first_id is not None else ""
        lines = [_("summary", sent=n(self.sent), topic=self.topic, seconds=n(self.seconds, 1), rate=n(self.rate),
                   ids=ids, acknowledged=n(self.acknowledged), failed=n(self.failed))
                 + (_("summary_interrupted") if self.interrupted else "")]
        if self.bad:
            kinds = ", ".join(f"{kind} {n(count)}" for kind, count in sorted(self.bad_by_kind.items()))
            lines.append(_("summary_bad", bad=n(self.bad), kinds=kinds))
        if self.fraud_by_type:
            kinds = ", ".join(f"{kind} {n(count)}" for kind, count in sorted(self.fraud_by_type.items()))
            lines.append(_("summary_fraud", frauds=n(sum(self.fraud_by_type.values())), kinds=kinds,
                           topic=f"{self.topic}-chargebacks", chargebacks=n(self.chargebacks),
                           failed=n(self.chargebacks_failed)))
        for err in self.errors:
            lines.append(_("summary_error", error=err))
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # a tidy block in notebooks
        return "<pre>" + str(self).replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


class ProducerMetrics:
    """The producers' counters in this process, and their /metrics endpoint while one of them runs.

    The endpoint opens with the first running `produce()` and closes with the last (a notebook's
    background producer and a foreground one share it). Counters are updated every
    METRICS_EVERY messages and at the end, not per message: the bulk path sends 200,000 a second."""

    _lock = threading.Lock()
    _users = 0
    _registry = None
    _exporter: Exporter | None = None
    _counters: dict = {}

    def __init__(self, cfg: _config.LabConfig, topic: str):
        from prometheus_client import CollectorRegistry
        from prometheus_client import Counter as MetricCounter

        cls = type(self)
        with cls._lock:
            if cls._registry is None:
                r = cls._registry = CollectorRegistry()
                cls._counters = {
                    "sent": MetricCounter("lab_producer_messages_sent", "Messages handed to the Kafka client",
                                          ["topic"], registry=r),
                    "failed": MetricCounter("lab_producer_messages_failed", "Messages Kafka did not acknowledge",
                                            ["topic"], registry=r),
                    "bad": MetricCounter("lab_producer_bad_messages", "Messages sent bad on purpose, by kind",
                                         ["topic", "kind"], registry=r),
                }
            if cls._users == 0:
                cls._exporter = Exporter(cls._registry, cfg.PRODUCER_METRICS_ADDRESS, job="producer")
            cls._users += 1
        self.topic = topic
        self._counters["sent"].labels(topic)  # the series exist from the start, so rate() sees the first messages
        self._counters["failed"].labels(topic)
        self._synced = {"sent": 0, "failed": 0}
        self._synced_bad: Counter = Counter()

    @property
    def exporter(self) -> Exporter | None:
        return type(self)._exporter

    def sync(self, summary: "ProduceSummary") -> None:
        """Add to the counters what `summary` counted since the last sync."""
        for name, value in (("sent", summary.sent), ("failed", summary.failed)):
            if value > self._synced[name]:
                self._counters[name].labels(self.topic).inc(value - self._synced[name])
                self._synced[name] = value
        for kind, n in summary.bad_by_kind.items():
            if n > self._synced_bad[kind]:
                self._counters["bad"].labels(self.topic, kind).inc(n - self._synced_bad[kind])
                self._synced_bad[kind] = n

    def close(self, summary: "ProduceSummary") -> None:
        self.sync(summary)
        cls = type(self)
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._exporter is not None:
                cls._exporter.close()
                cls._exporter = None


METRICS_EVERY = 500


def make_producer(cfg: _config.LabConfig | None = None, **overrides):
    """A kafka-python `KafkaProducer` with the lab's tuned, idempotent settings."""
    cfg = cfg or _config.load()
    return kafka.kafka_python_producer(cfg, client_id="lab-producer", **{**TUNED_SETTINGS, **overrides})


# How many records at the end of each partition last_transaction_id() reads.
LAST_ID_LOOKBACK = 64


def last_transaction_id(topic: str | None = None, cfg: _config.LabConfig | None = None,
                        timeout_s: float = 15.0) -> int:
    """The highest transaction_id in the topic (0 when empty), read from the keys at the end of each partition.

    The producer sends ids in increasing order and the key is the id, so the last records of
    each partition hold that partition's highest id. The last LAST_ID_LOOKBACK records are read,
    not just the last one, so a few foreign messages (a key that is not an id) do not hide it.
    """
    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    return kafka.failover(cfg, lambda: _last_id(topic, cfg, timeout_s))


def _last_id(topic: str, cfg: _config.LabConfig, timeout_s: float) -> int:
    consumer = kafka.reader(cfg, "lab-last-id")
    try:
        tps, starts, ends = kafka.partition_offsets(consumer, topic)
        todo = {tp for tp in tps if ends[tp] > starts[tp]}
        if not todo:
            return 0
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, max(starts[tp], ends[tp] - LAST_ID_LOOKBACK))
        best = 0
        deadline = time.monotonic() + timeout_s
        while todo and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    if r.offset == ends[tp] - 1:
                        todo.discard(tp)
                    try:
                        best = max(best, int(r.key.decode()))
                    except (AttributeError, ValueError, UnicodeDecodeError):
                        pass  # a foreign message without an id key: ignore it
        if todo:
            raise ServiceDown(_("last_id_timeout", topic=topic, seconds=f"{timeout_s:.0f}", fix=kafka.fix_status()))
        return best
    finally:
        consumer.close()


class _KafkaPythonSender:
    """kafka-python: one future per message; failures arrive on the errback."""

    def __init__(self, cfg, on_error, producer=None, on_ack=None):
        from kafka.errors import KafkaError, KafkaTimeoutError

        self._errors = (KafkaError, KafkaTimeoutError)
        self._timeout = KafkaTimeoutError
        self._own = producer is None
        self._producer = producer or make_producer(cfg)
        self._on_error = on_error
        self._on_ack = on_ack
        self._cfg = cfg

    def send(self, topic: str, key: bytes | None, value: bytes | None, on_error=None, track: bool = True) -> None:
        """Send one message; its failure goes to `on_error` (default: the sender's); `track=False`
        keeps it out of the acknowledgements recorded (a chargeback is not a payment)."""
        on_error = on_error or self._on_error
        try:
            future = self._producer.send(topic, key=key, value=value)
        except self._timeout as e:  # the client could not reach the broker for max_block_ms
            raise ServiceDown(f"{kafka.kafka_down_message(self._cfg)} ({e})") from e
        except self._errors as e:  # e.g. MessageSizeTooLargeError: this message only
            on_error(e)
            return
        future.add_errback(on_error)
        if self._on_ack is not None and track:
            future.add_callback(lambda meta, key=key: self._on_ack(key, meta.partition, meta.offset))

    def flush(self, timeout: float) -> int:
        self._producer.flush(timeout=timeout)
        return 0

    def close(self) -> None:
        if self._own:
            self._producer.close(timeout=10)


class _ConfluentSender:
    """confluent-kafka: messages queue in librdkafka; delivery reports arrive through poll()."""

    def __init__(self, cfg, on_error, on_ack=None):
        from confluent_kafka import KafkaException

        self._exception = KafkaException
        self._on_error = on_error
        self._on_ack = on_ack
        self._producer = kafka.confluent_producer(cfg, **{"client.id": "lab-producer", **BULK_SETTINGS})
        self._since_poll = 0

    def _delivered(self, err, msg) -> None:
        if err is not None:
            self._on_error(self._exception(err))
        elif self._on_ack is not None:
            self._on_ack(msg.key(), msg.partition(), msg.offset())

    def send(self, topic: str, key: bytes | None, value: bytes | None, on_error=None, track: bool = True) -> None:
        """Send one message (see _KafkaPythonSender.send for `on_error` and `track`)."""
        delivered = self._delivered
        if on_error is not None or not track:
            failed = on_error or self._on_error

            def delivered(err, msg):
                if err is not None:
                    failed(self._exception(err))
                elif track and self._on_ack is not None:
                    self._on_ack(msg.key(), msg.partition(), msg.offset())
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=delivered)
                break
            except BufferError:  # local queue full: serve delivery reports, which frees room
                self._producer.poll(0.05)
            except self._exception as e:  # e.g. message larger than message.max.bytes
                (on_error or self._on_error)(e)
                return
        self._since_poll += 1
        if self._since_poll >= 1000:
            self._producer.poll(0)
            self._since_poll = 0

    def flush(self, timeout: float) -> int:
        return self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.flush(0)


def produce(count: int | None = None, duration: float | None = None, rate: float | None = None,
            bad_ratio: float = 0.0, seed: int | None = None, topic: str | None = None,
            start_id: int | None = None, progress: bool = True, records=None,
            engine: str = "confluent", cfg: _config.LabConfig | None = None, producer=None,
            record_acks: bool = False, fraud_ratio: float = 0.0,
            history_weeks: float | None = None, stop: threading.Event | None = None) -> ProduceSummary:
    """Send transactions to Kafka and return a summary.

    count / duration: how many, or for how long (seconds); with neither, 1,000.
    rate: events per second (None or 0: full speed).
    bad_ratio: share of bad records, every class of bad input (see lab_utils.generator).
    seed: makes the data reproducible (ids and wall-clock times aside).
    start_id: first transaction_id; default: one after the highest id already in the topic.
    records: any iterable of generator Records to send instead of generating them.
    engine: "confluent" (librdkafka, the fast bulk path) or "kafka-python";
    producer: an existing kafka-python KafkaProducer to send with (engine kafka-python).
    record_acks: keep (key, partition, offset) of every acknowledged message in `summary.acks`
    (the reliability tests compare the pipeline's output with it; chargebacks are not in it).
    fraud_ratio: share of fraudulent payments (cards, chargebacks: see the module's docstring).
    history_weeks: spread the `count` payments over the last that many weeks instead of now.
    stop: an Event; once set, no more messages are sent (what was sent is still delivered), e.g.
    `BackgroundProducer.stop()`.
    Whatever `records` hold, each one's chargeback (if any) goes to `<topic>-chargebacks`.
    """
    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    if producer is not None:
        engine = "kafka-python"
    if engine not in ENGINES:
        raise LabError(_("bad_engine", engines=", ".join(ENGINES), engine=repr(engine)))
    if history_weeks is not None:
        if count is None or duration is not None or rate:
            raise LabError(_("history_needs_count"))
        if not 0 < history_weeks <= 520:
            raise LabError(_("history_weeks_range", weeks=history_weeks))
    if count is None and duration is None:
        count = 1000
    if count is not None and count < 0:
        raise LabError(_("bad_count", count=count))
    # Only Kafka is checked: producing touches neither MinIO nor Spark, and notebook 02 produces
    # before the bucket matters, so a wrong S3 key is `stream`'s and `doctor`'s to report.
    # A missing topic is no mistake here: producing creates it (KAFKA_TOPIC, or `topic=`).
    if not kafka.kafka_ready(cfg):
        raise ServiceDown(kafka.kafka_down_message(cfg))
    kafka.ensure_topic(cfg, topic)
    if records is None:
        if start_id is None:
            start_id = last_transaction_id(topic, cfg) + 1
        try:
            if history_weeks is not None and count:
                span = timedelta(weeks=history_weeks)
                records = TransactionGenerator(
                    seed=0 if seed is None else seed, bad_ratio=bad_ratio, start_id=start_id,
                    fraud_ratio=fraud_ratio, clock="simulated", start=datetime.now(timezone.utc) - span,
                    events_per_second=count / span.total_seconds())
            else:
                records = TransactionGenerator(seed=0 if seed is None else seed, bad_ratio=bad_ratio,
                                               start_id=start_id, fraud_ratio=fraud_ratio)
        except ValueError as e:  # a ratio out of [0, 1]: say it in one line
            raise LabError(str(e)) from e
    chargebacks = cfg.chargebacks_topic(topic)
    chargebacks_ready = False

    summary = ProduceSummary(topic=topic)
    lock = threading.Lock()

    def on_error(exc: Exception) -> None:
        with lock:
            summary.failed += 1
            if len(summary.errors) < 5:
                summary.errors.append(f"{type(exc).__name__}: {exc}")

    def on_ack(key, partition: int, offset: int) -> None:
        with lock:
            summary.acks.append((key, partition, offset))

    def on_chargeback_error(exc: Exception) -> None:
        with lock:
            summary.chargebacks_failed += 1
            if len(summary.errors) < 5:
                summary.errors.append(f"chargeback {type(exc).__name__}: {exc}")

    ack = on_ack if record_acks else None
    sender = (_ConfluentSender(cfg, on_error, ack) if engine == "confluent"
              else _KafkaPythonSender(cfg, on_error, producer, ack))
    metrics = ProducerMetrics(cfg, topic) if cfg.monitoring else None
    bar = _progress_bar(count, duration, progress)
    t0 = time.monotonic()
    deadline = t0 + duration if duration is not None else None
    pending_bar = 0
    first = last = None
    try:
        for i, record in enumerate(records):
            if count is not None and i >= count:
                break
            if stop is not None and stop.is_set():
                break
            if deadline is not None or rate:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if rate:  # pace to the schedule: message i leaves at t0 + i/rate
                    ahead = t0 + i / rate - now
                    if ahead > 0:
                        time.sleep(ahead)
            sender.send(topic, record.key, record.value)
            summary.sent += 1
            if first is None:
                first = record
            last = record
            if record.expected != "accept":
                summary.bad_by_kind[record.kind] += 1
            if record.chargeback is not None:  # the label, on its own topic, never in the payment
                if not chargebacks_ready:
                    kafka.ensure_topic(cfg, chargebacks)
                    chargebacks_ready = True
                sender.send(chargebacks, *record.chargeback.message(), on_error=on_chargeback_error, track=False)
                summary.chargebacks += 1
                summary.fraud_by_type[record.chargeback.fraud_type] += 1
            pending_bar += 1
            if pending_bar >= 2000 and bar is not None:
                bar.update(pending_bar)
                pending_bar = 0
            if metrics is not None and summary.sent % METRICS_EVERY == 0:
                metrics.sync(summary)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        # Always deliver what was handed to the client, and wait for every acknowledgement.
        try:
            undelivered = sender.flush(DELIVERY_TIMEOUT_S)
            if undelivered:
                on_error(ServiceDown(_("undelivered", count=undelivered, seconds=f"{DELIVERY_TIMEOUT_S:.0f}")))
                summary.failed += undelivered - 1
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            on_error(e)
        sender.close()
        if metrics is not None:
            metrics.close(summary)
        summary.seconds = time.monotonic() - t0
        summary.first_id, summary.last_id = _record_id(first), _record_id(last)
        if bar is not None:
            bar.update(pending_bar)
            bar.close()
    return summary


def _record_id(record) -> int | None:
    """The id a record was sent under: its key (the generator keys every record, bad ones too)."""
    if record is None:
        return None
    try:
        return int(record.key)
    except (TypeError, ValueError):
        return record.transaction_id


def _progress_bar(count: int | None, duration: float | None, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=count, desc="producing", unit="msg", unit_scale=True, mininterval=0.5,
                leave=True, dynamic_ncols=True)


class BackgroundProducer:
    """`produce()` on a thread, so a notebook can watch the pipeline while data arrives.

    Always bounded (a count or a duration): `wait()` returns the summary when it is done, `stop()`
    ends it sooner.
    """

    def __init__(self, **kwargs) -> None:
        self.summary: ProduceSummary | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, kwargs={**kwargs, "stop": self._stop},
                                        name="lab-background-producer", daemon=True)
        self._thread.start()

    def _run(self, **kwargs) -> None:
        try:
            self.summary = produce(progress=False, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller by wait()
            self.error = e

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout_s: float = 120.0) -> ProduceSummary:
        """Block until the producer is done (at most `timeout_s`), then return its summary."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise LabError(_("still_sending", seconds=f"{timeout_s:.0f}"))
        if self.error is not None:
            raise self.error
        return self.summary

    def stop(self, timeout_s: float = 120.0) -> ProduceSummary:
        """Send no more (what was sent is still delivered and acknowledged), then return the summary
        like `wait()`: for a feed that should last as long as something else takes, not a fixed time."""
        self._stop.set()
        return self.wait(timeout_s)


def produce_in_background(count: int | None = None, duration: float | None = None, rate: float | None = 200,
                          **kwargs) -> BackgroundProducer:
    """Start `produce(count or duration, rate, ...)` on a thread and return at once.

    Needs a count or a duration: a background producer that never ends would outlive the lesson.
    """
    if count is None and duration is None:
        raise LabError(_("needs_bound"))
    return BackgroundProducer(count=count, duration=duration, rate=rate, **kwargs)


def peek(n: int = 5, topic: str | None = None, from_end: bool = True, cfg: _config.LabConfig | None = None,
         timeout_s: float = 10.0) -> list[dict]:
    """Up to `n` messages per partition (the newest, or the oldest), as dicts for a quick look.

    Reads without a consumer group, so it moves nobody's offsets.
    """
    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    consumer = kafka.reader(cfg, "lab-peek")
    try:
        tps, starts, ends = kafka.partition_offsets(consumer, topic)
        wanted = {}
        consumer.assign(tps)
        for tp in tps:
            first = max(starts[tp], ends[tp] - n) if from_end else starts[tp]
            last = min(ends[tp], first + n)
            if last > first:
                wanted[tp] = last
                consumer.seek(tp, first)
        out = []
        deadline = time.monotonic() + timeout_s
        while wanted and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=300).items():
                for r in records:
                    if tp in wanted and r.offset < wanted[tp]:
                        out.append({"partition": r.partition, "offset": r.offset,
                                    "key": r.key.decode(errors="replace") if r.key is not None else None,
                                    "value": r.value.decode(errors="replace") if r.value is not None else None})
                    if tp in wanted and r.offset >= wanted[tp] - 1:
                        del wanted[tp]
        return sorted(out, key=lambda m: (m["partition"], m["offset"]))
    finally:
        consumer.close()
