"""The Spark driver's metrics for Prometheus, with LAB_MONITORING=true (issue 17).

Two sources, both on 127.0.0.1 and found by Prometheus through .lab/prometheus/targets/:
- Spark's own, on its UI (SPARK_UI_PORT, /metrics/prometheus/): the driver's JVM (heap, GC) and
  each streaming query's input rate, processing rate and latency (`DRIVER_CONF` turns them on);
- the lab's exporter in the driver's Python process (STREAM_METRICS_ADDRESS, prometheus-client),
  fed by a StreamingQueryListener, for what Spark does not export:

    lab_stream_source_offset{query,topic,partition}   the next offset the query reads (its last batch's endOffset)
    lab_stream_lag_messages{query,topic,partition}    Kafka's end offset, asked AT EACH SCRAPE, minus that offset
    lab_stream_input_rows_total{query}                rows read from Kafka
    lab_stream_batches_total{query}                   micro-batches run
    lab_stream_batch_duration_seconds{query}          a histogram of micro-batch durations
    lab_stream_input_rows_per_second{query}           the last batch's input and processing rates
    lab_stream_processed_rows_per_second{query}
    lab_stream_rows_written_total{query}              rows written to output/ (the pipeline's observe("written"))
    lab_stream_rows_rejected_total{query,reason}      rows written to rejected/, by reason (observe("rejected"))
    lab_stream_query_active{query}                    1 while the query runs, 0 once it stopped

Why an exporter for the lag: Spark's Kafka source keeps its offsets in the checkpoint and commits
none to a consumer group, so Kafka knows no lag for it; and the difference of two scrapes (the
broker's log end offset minus the query's offset) swings by several seconds of input
(stack/monitoring/README.md). A stopped query keeps its last offsets while its process lives,
so its lag keeps growing: that is what the alert StreamFallingBehind sees
(stack/monitoring/rules/lab.yml). With monitoring off, nothing here runs or is imported.
"""

from __future__ import annotations

import json
import threading

from .. import config as _config
from .. import messages
from ..clients import kafka
from ..clients.prometheus import Exporter, register_target

# The driver's settings for Spark's own metrics (checked with Spark 4.2.0): the streaming queries'
# gauges, the PrometheusServlet sink on the UI, the driver's JVM, and a fixed namespace (else the
# application id, new at every session, would be in every metric's name).
DRIVER_CONF = {
    "spark.sql.streaming.metricsEnabled": "true",
    "spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
    "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
    "spark.metrics.conf.driver.source.jvm.class": "org.apache.spark.metrics.source.JvmSource",
    "spark.metrics.namespace": "lab",
}
# Micro-batches last from a fraction of a second (live) to a minute (a backlog).
BATCH_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
# Kafka must answer within Prometheus's scrape timeout (4 s).
KAFKA_TIMEOUT_MS = 2500


def driver_conf(cfg: _config.LabConfig) -> dict[str, str]:
    """The Spark settings monitoring adds to the lab's session: none when it is off."""
    return dict(DRIVER_CONF) if cfg.monitoring else {}


def kafka_offsets(end_offset) -> dict[str, dict[int, int]]:
    """A Kafka source's endOffset (JSON text or dict: {"topic": {"0": 42, ...}}) as {topic: {partition: offset}};
    {} for any other source (rate, files, memory)."""
    try:
        parsed = json.loads(end_offset) if isinstance(end_offset, str) else end_offset
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    out = {}
    for topic, partitions in parsed.items():
        if isinstance(partitions, dict) and all(str(p).lstrip("-").isdigit() for p in partitions):
            try:
                out[topic] = {int(p): int(o) for p, o in partitions.items()}
            except (TypeError, ValueError):
                return {}
        else:
            return {}
    return out


class StreamMetrics:
    """The exporter's state: what the listener saw, and the lag computed when Prometheus asks."""

    def __init__(self, cfg: _config.LabConfig):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.cfg = cfg
        self.registry = CollectorRegistry()
        r = self.registry
        self.input_rows = Counter("lab_stream_input_rows", "Rows the query read from Kafka", ["query"], registry=r)
        self.batches = Counter("lab_stream_batches", "Micro-batches the query ran", ["query"], registry=r)
        self.batch_seconds = Histogram("lab_stream_batch_duration_seconds", "Duration of the query's micro-batches",
                                       ["query"], buckets=BATCH_BUCKETS, registry=r)
        self.input_rate = Gauge("lab_stream_input_rows_per_second", "The last batch's input rate (rows/s)",
                                ["query"], registry=r)
        self.processed_rate = Gauge("lab_stream_processed_rows_per_second",
                                    "The last batch's processing rate (rows/s)", ["query"], registry=r)
        self.written = Counter("lab_stream_rows_written", "Rows written to output/ (observe: written)", ["query"],
                               registry=r)
        self.rejected = Counter("lab_stream_rows_rejected", "Rows written to rejected/, by reason (observe: rejected)",
                                ["query", "reason"], registry=r)
        self.active = Gauge("lab_stream_query_active", "1 while the query runs, 0 once it stopped", ["query"],
                            registry=r)
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}                      # query id -> name
        self._offsets: dict[str, dict[str, dict[int, int]]] = {}  # name -> topic -> partition -> next offset
        self._consumer = None
        self._kafka_lock = threading.Lock()
        r.register(_OffsetCollector(self))

    # -- from the listener (Spark's listener thread)

    def started(self, query_id: str, name: str | None) -> None:
        name = name or query_id
        with self._lock:
            self._names[query_id] = name
        self.active.labels(name).set(1)
        self.batches.labels(name)  # the series exist from the start, so rate() sees the first increase
        self.input_rows.labels(name)

    def progress(self, p) -> None:
        name = p.name or str(p.id)
        self.batches.labels(name).inc()
        self.input_rows.labels(name).inc(p.numInputRows or 0)
        self.batch_seconds.labels(name).observe((p.batchDuration or 0) / 1000)
        self.input_rate.labels(name).set(p.inputRowsPerSecond or 0.0)
        self.processed_rate.labels(name).set(p.processedRowsPerSecond or 0.0)
        offsets = {}
        for source in p.sources or []:
            offsets.update(kafka_offsets(source.endOffset))
        if offsets:
            with self._lock:
                self._offsets.setdefault(name, {}).update(offsets)
        observed = p.observedMetrics or {}
        if "written" in observed:
            self.written.labels(name).inc(int(observed["written"]["rows"] or 0))
        if "rejected" in observed:
            row = observed["rejected"]
            for reason in messages.REJECT_REASONS:
                self.rejected.labels(name, reason).inc(int(row[reason] or 0))

    def terminated(self, query_id: str) -> None:
        with self._lock:
            name = self._names.get(query_id)
        if name is not None:
            self.active.labels(name).set(0)  # its offsets stay: its lag keeps growing while this process lives

    # -- at each scrape (the exporter's HTTP thread)

    def end_offsets(self, topics: set[str]) -> dict[str, dict[int, int]]:
        """Kafka's end offsets now, per topic that still exists; {} for a topic Kafka cannot tell."""
        from kafka import TopicPartition

        out = {}
        with self._kafka_lock:
            try:
                if self._consumer is None:
                    self._consumer = kafka.reader(self.cfg, "lab-stream-metrics", request_timeout_ms=KAFKA_TIMEOUT_MS)
                for topic in sorted(topics):
                    partitions = self._consumer.partitions_for_topic(topic)
                    if partitions:
                        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
                        out[topic] = {tp.partition: off for tp, off in self._consumer.end_offsets(tps).items()}
            except Exception:  # noqa: BLE001 - Kafka down or slow: no lag this scrape (Prometheus sees a gap), next one retries
                if self._consumer is not None:
                    self._consumer.close()
                self._consumer = None
        return out

    def offsets_and_lag(self):
        """(query, topic, partition, offset, lag or None) for every partition a query has read."""
        with self._lock:
            known = {q: {t: dict(ps) for t, ps in topics.items()} for q, topics in self._offsets.items()}
        ends = self.end_offsets({t for topics in known.values() for t in topics})
        rows = []
        for query, topics in known.items():
            for topic, partitions in topics.items():
                for partition, offset in partitions.items():
                    end = ends.get(topic, {}).get(partition)
                    rows.append((query, topic, partition, offset, None if end is None else max(0, end - offset)))
        return rows

    def close(self) -> None:
        with self._kafka_lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None


class _OffsetCollector:
    """prometheus-client calls collect() at each scrape: the offsets, and the lag from Kafka's end offsets now."""

    def __init__(self, metrics: StreamMetrics):
        self._metrics = metrics

    def describe(self):
        return []  # computed at scrape time only (so registering asks Kafka nothing)

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        labels = ["query", "topic", "partition"]
        offset = GaugeMetricFamily("lab_stream_source_offset", "The next Kafka offset the query reads", labels=labels)
        lag = GaugeMetricFamily("lab_stream_lag_messages",
                                "Messages in Kafka the query has not read yet (end offset now minus its offset)",
                                labels=labels)
        for query, topic, partition, at, behind in self._metrics.offsets_and_lag():
            offset.add_metric([query, topic, str(partition)], at)
            if behind is not None:
                lag.add_metric([query, topic, str(partition)], behind)
        yield offset
        yield lag


# One exporter per process (the first session that watches starts it), one listener per session.
_STATE: dict[str, object] = {}
_STATE_LOCK = threading.Lock()


def exporter(cfg: _config.LabConfig) -> tuple[StreamMetrics, Exporter]:
    """This process's stream metrics and their /metrics endpoint, started on first use."""
    with _STATE_LOCK:
        if "exporter" not in _STATE:
            metrics = StreamMetrics(cfg)
            _STATE["metrics"] = metrics
            _STATE["exporter"] = Exporter(metrics.registry, cfg.STREAM_METRICS_ADDRESS, job="lab-stream")
        return _STATE["metrics"], _STATE["exporter"]


def watch(spark, cfg: _config.LabConfig) -> StreamMetrics:
    """Export this session's streaming metrics: the listener, the exporter, and the driver's UI as
    a target for Prometheus. Idempotent per session (get_spark calls it with monitoring on)."""
    from pyspark.sql.streaming import StreamingQueryListener

    metrics, _exporter = exporter(cfg)
    if getattr(spark, "_lab_stream_metrics", None) is metrics:
        return metrics

    class _Listener(StreamingQueryListener):
        def onQueryStarted(self, event):
            metrics.started(str(event.id), event.name)

        def onQueryProgress(self, event):
            metrics.progress(event.progress)

        def onQueryIdle(self, event):
            pass

        def onQueryTerminated(self, event):
            metrics.terminated(str(event.id))

    spark.streams.addListener(_Listener())
    spark._lab_stream_metrics = metrics
    ui = spark.sparkContext.uiWebUrl  # the port Spark really got (4041 when 4040 was taken)
    if ui:
        host_port = ui.split("://", 1)[-1].rstrip("/")
        host, _, port = host_port.rpartition(":")
        register_target("spark-driver", host, int(port))
    return metrics
