"""Live progress of the streaming pipeline, from Spark's own events (StreamingQueryListener).

In a notebook it is one panel that updates in place; in a terminal it prints one compact line
per micro-batch. It shows the input and processing rates, the batch duration, the rows written,
the rows rejected by reason (counted in the batch itself by `Dataset.observe`, see
lab_utils.pipeline) and how far the query is behind the end of the Kafka topic.
"""

from __future__ import annotations

import html
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field

from .. import i18n, messages

_ = i18n.catalog(__name__, {
    # one line per micro-batch in a terminal
    "line": {
        "en": "[{name}] batch {batch}: {rows} rows in {seconds} s (in {input}/s, processed {processed}/s){lag}",
        "fr": "[{name}] lot {batch} : {rows} lignes en {seconds} s (reçues {input}/s, traitées {processed}/s){lag}",
    },
    "line_lag": {"en": ", lag {lag}", "fr": ", retard {lag}"},
    "line_written": {"en": "; written so far {written}", "fr": " ; écrites jusqu'ici {written}"},
    "line_rejected": {"en": "; rejected so far {rejected}", "fr": " ; rejetées jusqu'ici {rejected}"},
    "line_stopped": {"en": "[{name}] stopped", "fr": "[{name}] arrêtée"},
    "line_failed": {"en": "[{name}] stopped: {error}", "fr": "[{name}] arrêtée : {error}"},
    # the notebook's panel
    "col_query": {"en": "query", "fr": "requête"},
    "col_status": {"en": "status", "fr": "état"},
    "col_batch": {"en": "batch", "fr": "lot"},
    "col_input": {"en": "input rows/s", "fr": "lignes reçues/s"},
    "col_processed": {"en": "processed rows/s", "fr": "lignes traitées/s"},
    "col_duration": {"en": "batch duration", "fr": "durée du lot"},
    "col_rows": {"en": "rows in batch", "fr": "lignes du lot"},
    "col_lag": {"en": "Kafka lag", "fr": "retard sur Kafka"},
    "status_stopped": {"en": "stopped", "fr": "arrêtée"},
    "status_waiting": {"en": "waiting for data", "fr": "en attente de données"},
    "status_running": {"en": "running", "fr": "en cours"},
    "written": {"en": "rows written to output/:", "fr": "lignes écrites dans output/ :"},
    "rejected": {"en": "rows rejected:", "fr": "lignes rejetées :"},
    "col_reason": {"en": "reject reason", "fr": "motif de rejet"},
    "col_reason_rows": {"en": "rows", "fr": "lignes"},
    "none_yet": {"en": "none yet", "fr": "aucune pour l'instant"},
})
n = i18n.number


@dataclass
class QueryState:
    name: str
    batch_id: int = -1
    input_rows_per_s: float = 0.0
    processed_rows_per_s: float = 0.0
    batch_ms: int = 0
    batch_rows: int = 0
    lag: int | None = None
    batches: int = 0
    terminated: bool = False
    error: str | None = None


@dataclass
class Totals:
    written: int = 0
    rejected: Counter = field(default_factory=Counter)


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class ProgressTracker:
    """Follows the named queries; `close()` (or the pipeline's `stop()`) detaches it."""

    def __init__(self, spark, query_names: list[str], mode: str = "auto"):
        from pyspark.sql.streaming import StreamingQueryListener

        self._spark = spark
        self._names = set(query_names)
        self.states = {name: QueryState(name) for name in query_names}
        self.totals = Totals()
        self._lock = threading.Lock()
        self._ids: dict[str, str] = {}
        self._counted: set[tuple[str, int]] = set()
        self._mode = ("panel" if in_notebook() else "lines") if mode == "auto" else mode
        self._display = None
        if self._mode == "panel":
            from IPython.display import HTML, display

            self._display = display(HTML(self._html()), display_id=True)
        tracker = self

        class _Listener(StreamingQueryListener):
            def onQueryStarted(self, event):
                tracker._on_started(event)

            def onQueryProgress(self, event):
                tracker._on_progress(event.progress)

            def onQueryIdle(self, event):
                pass

            def onQueryTerminated(self, event):
                tracker._on_terminated(event)

        self._listener = _Listener()
        spark.streams.addListener(self._listener)
        self._closed = False

    # -- events (called on Spark's listener thread)

    def _on_progress(self, p) -> None:
        name = p.name or ""
        if name not in self._names:
            return
        with self._lock:
            if (name, p.batchId) in self._counted:  # already seen (catch_up after a late event)
                return
            self._counted.add((name, p.batchId))
            s = self.states[name]
            s.batch_id = p.batchId
            s.batches += 1
            s.batch_rows = p.numInputRows
            s.input_rows_per_s = p.inputRowsPerSecond or 0.0
            s.processed_rows_per_s = p.processedRowsPerSecond or 0.0
            s.batch_ms = p.batchDuration
            lag = None
            for source in p.sources:
                metrics = getattr(source, "metrics", None) or {}
                if "maxOffsetsBehindLatest" in metrics:
                    lag = int(float(metrics["maxOffsetsBehindLatest"]))
            s.lag = lag
            observed = p.observedMetrics or {}
            if "written" in observed:
                self.totals.written += int(observed["written"]["rows"])
            if "rejected" in observed:
                row = observed["rejected"]
                for code in messages.REJECT_REASONS:
                    n = int(row[code] or 0)
                    if n:
                        self.totals.rejected[code] += n
            line = self._line(s)
        self._render(line)

    def _on_started(self, event) -> None:
        if event.name in self._names:
            with self._lock:
                self._ids[str(event.id)] = event.name

    def _on_terminated(self, event) -> None:
        with self._lock:
            name = self._ids.get(str(event.id))
            if name is None:
                return
            self.states[name].terminated = True
            self.states[name].error = event.exception
        self._render(_("line_failed", name=name, error=event.exception.splitlines()[0]) if event.exception
                     else _("line_stopped", name=name))

    # -- rendering

    def _line(self, s: QueryState) -> str:
        lag = _("line_lag", lag=n(s.lag)) if s.lag is not None else ""
        head = _("line", name=s.name, batch=s.batch_id, rows=n(s.batch_rows), seconds=n(s.batch_ms / 1000, 1),
                 input=n(s.input_rows_per_s), processed=n(s.processed_rows_per_s), lag=lag)
        if s.name.startswith("rejected"):
            by_reason = ", ".join(f"{k} {n(v)}" for k, v in self.totals.rejected.most_common())
            return head + _("line_rejected", rejected=n(sum(self.totals.rejected.values()))) + (
                f" ({by_reason})" if by_reason else "")
        return head + _("line_written", written=n(self.totals.written))

    def _html(self) -> str:
        rows = []
        for s in self.states.values():
            status = _("status_stopped") if s.terminated else (
                _("status_waiting") if s.batch_id < 0 else _("status_running"))
            rows.append(
                f"<tr><td><b>{html.escape(s.name)}</b></td><td>{status}</td><td>{max(s.batch_id, 0)}</td>"
                f"<td>{n(s.input_rows_per_s)}</td><td>{n(s.processed_rows_per_s)}</td>"
                f"<td>{n(s.batch_ms / 1000, 2)} s</td><td>{n(s.batch_rows)}</td>"
                f"<td>{'' if s.lag is None else n(s.lag)}</td></tr>")
        reasons = "".join(f"<tr><td>{html.escape(k)}</td><td>{n(v)}</td></tr>"
                          for k, v in self.totals.rejected.most_common()) or f"<tr><td colspan=2>{_('none_yet')}</td></tr>"
        header = "".join(f"<th>{html.escape(_(key))}</th>" for key in (
            "col_query", "col_status", "col_batch", "col_input", "col_processed", "col_duration", "col_rows", "col_lag"))
        return (
            "<div style='font-family:monospace'>"
            f"<table><tr>{header}</tr>"
            + "".join(rows) + "</table>"
            f"<p><b>{html.escape(_('written'))}</b> {n(self.totals.written)} &nbsp; "
            f"<b>{html.escape(_('rejected'))}</b> {n(sum(self.totals.rejected.values()))}</p>"
            f"<table><tr><th>{html.escape(_('col_reason'))}</th><th>{html.escape(_('col_reason_rows'))}</th></tr>"
            + reasons + "</table></div>")

    def _render(self, line: str | None) -> None:
        if self._closed:
            return
        if self._mode == "panel":
            from IPython.display import HTML

            with self._lock:
                self._display.update(HTML(self._html()))
        elif line and self._mode == "lines":
            print(line, file=sys.stdout, flush=True)

    def catch_up(self, queries) -> None:
        """Count the batches whose events Spark's listener bus has not delivered yet.

        Listener events arrive asynchronously, so right after an availableNow query ends its
        last batches may still be on their way; each query's `recentProgress` already has them.
        """
        for q in queries:
            for p in q.recentProgress:
                self._on_progress(p)

    def close(self) -> None:
        """Detach from Spark; the panel keeps its last state."""
        if self._closed:
            return
        with self._lock:  # close() follows the queries' stop; their last events may still be queued
            for state in self.states.values():
                state.terminated = True
        self._render(None)
        self._closed = True
        try:
            self._spark.streams.removeListener(self._listener)
        except Exception:  # noqa: BLE001 - the session may already be stopped
            pass


def attach_progress(spark, query_names: list[str], mode: str = "auto") -> ProgressTracker:
    """Start following the queries named `query_names` (attach before starting them)."""
    return ProgressTracker(spark, query_names, mode=mode)
