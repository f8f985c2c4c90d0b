"""Both sides of Prometheus (issue 17): asking it (its HTTP API) and being asked by it (an exporter).

    from lab_utils.clients import prometheus
    prometheus.query("sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesin_total[1m]))")
    prometheus.query_range("query_topic:lab_stream_lag_messages:sum", minutes=5)   # a pandas DataFrame
    prometheus.alerts() / prometheus.targets()       # what fires, what is scraped and how it went
    prometheus.dashboard_queries()                   # every Grafana panel's PromQL, by panel title

    exporter = prometheus.Exporter(registry, cfg.PRODUCER_METRICS_ADDRESS, job="producer")
    exporter.close()

An exporter is a prometheus-client HTTP server on the configured address (or, when another process
holds that port, the next free one, as Spark moves its UI from 4040 to 4041). It tells Prometheus
where it is with a file in `.lab/prometheus/targets/` (file-based service discovery, which
Prometheus re-reads on every change), and removes that file when it closes or its process ends.
Prometheus thus scrapes every live producer and Spark driver of this checkout, whichever port it
got, and nobody else's.
"""

from __future__ import annotations

import atexit
import errno
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .. import config as _config
from .. import i18n
from ..errors import LabError, PromQLError, ServiceDown

_ = i18n.catalog(__name__, {
    "down": {
        "en": "Prometheus is not reachable at {url}: run `python -m lab_utils stack up --monitoring` "
              "(or set LAB_MONITORING=true in .env, then `stack up`)",
        "fr": "Prometheus ne répond pas à l'adresse {url} : lancez `python -m lab_utils stack up --monitoring` "
              "(ou mettez LAB_MONITORING=true dans .env, puis `stack up`)",
    },
    "refused": {
        "en": "Prometheus refused the query {promql!r}: {error}",
        "fr": "Prometheus a refusé la requête {promql!r} : {error}",
    },
    "no_data": {
        "en": "{promql} returned no data within {seconds} s: is the producer or the pipeline running, and with "
              "monitoring on? (`prometheus.targets()` shows what Prometheus scrapes)",
        "fr": "{promql} n'a renvoyé aucune donnée en {seconds} s : le producteur ou le pipeline tourne-t-il, avec "
              "la supervision activée ? (`prometheus.targets()` montre ce que Prometheus collecte)",
    },
    "no_alert": {
        "en": "alert {name} {labels} is not {state} after {seconds} s (now: {now}): look at the rules and the alerts "
              "in Prometheus's UI (Alerts), or wait again with a longer timeout_s",
        "fr": "l'alerte {name} {labels} n'est pas {state} au bout de {seconds} s (maintenant : {now}) : regardez "
              "les règles et les alertes dans l'interface de Prometheus (Alerts), ou attendez encore avec un "
              "timeout_s plus long",
    },
    "no_port": {
        "en": "no free port for the {job} metrics from {first} to {last} ({error}): stop the programs holding them "
              "(`ss -ltnp` shows them), or change that address in .env",
        "fr": "aucun port libre pour les métriques {job} de {first} à {last} ({error}) : arrêtez les programmes qui "
              "les occupent (`ss -ltnp` les montre), ou changez cette adresse dans .env",
    },
    "no_dashboard": {
        "en": "the dashboard {path} is missing: restore it from git",
        "fr": "le tableau de bord {path} est absent : restaurez-le depuis git",
    },
})

# Every panel's PromQL lives in the Grafana dashboard; the notebook and the tests read it there.
DASHBOARD = _config.MONITORING_DIR / "grafana" / "dashboards" / "streaming-lab.json"
# Like Spark's UI (spark.port.maxRetries): the configured port, then the next ones.
PORT_TRIES = 16
API_TIMEOUT_S = 10.0


# --------------------------------------------------------------------------- asking Prometheus

def prometheus_down_message(cfg: _config.LabConfig) -> str:
    return _("down", url=cfg.PROMETHEUS_URL)


def prometheus_ready(cfg: _config.LabConfig | None = None) -> bool:
    """True when Prometheus answers its readiness probe (`/-/ready`)."""
    cfg = cfg or _config.load()
    try:
        with urllib.request.urlopen(cfg.PROMETHEUS_URL.rstrip("/") + "/-/ready", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def api(path: str, params: dict | None = None, cfg: _config.LabConfig | None = None,
        timeout: float = API_TIMEOUT_S):
    """GET `/api/v1/<path>` and return its `data`; ServiceDown when Prometheus does not answer,
    PromQLError when it refuses the query (a syntax error, an unknown function, ...)."""
    cfg = cfg or _config.load()
    url = f"{cfg.PROMETHEUS_URL.rstrip('/')}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:  # 400/422: the query is wrong; the body says why
        try:
            body = json.load(e)
        except ValueError:
            raise ServiceDown(f"{prometheus_down_message(cfg)} (HTTP {e.code})") from e
    except OSError as e:
        raise ServiceDown(prometheus_down_message(cfg)) from e
    if body.get("status") != "success":
        raise PromQLError(_("refused", promql=(params or {}).get("query", path), error=body.get("error", body)))
    return body["data"]


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and its value."""

    labels: dict
    value: float


def query(promql: str, at: float | None = None, cfg: _config.LabConfig | None = None) -> list[Sample]:
    """Evaluate `promql` now (or at the Unix time `at`); one Sample per series.

    A scalar or a string result comes back as one Sample without labels."""
    params = {"query": promql}
    if at is not None:
        params["time"] = f"{at:.3f}"
    data = api("query", params, cfg)
    result = data["result"]
    if data["resultType"] in ("scalar", "string"):
        return [Sample({}, float(result[1]))]
    return [Sample(dict(r["metric"]), float(r["value"][1])) for r in result]


def query_range(promql: str, minutes: float = 5, step_s: float = 5, end: float | None = None,
                label: str | None = None, cfg: _config.LabConfig | None = None):
    """`promql` over the last `minutes` (up to `end`), one point every `step_s` seconds, as a pandas
    DataFrame: a row per time (local time), a column per series, named by its `label` (or by all
    its labels). Empty when no series has data."""
    import pandas as pd

    end = time.time() if end is None else end
    data = api("query_range", {"query": promql, "start": f"{end - minutes * 60:.3f}", "end": f"{end:.3f}",
                               "step": f"{step_s:g}"}, cfg)
    columns = {}
    for r in data["result"]:
        labels = {k: v for k, v in r["metric"].items() if k != "__name__"}
        name = labels.get(label) if label else None
        name = name or ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or promql
        columns[name] = pd.Series([float(v) for _, v in r["values"]],
                                  index=pd.to_datetime([float(t) for t, _ in r["values"]], unit="s", utc=True))
    frame = pd.DataFrame(columns).sort_index()
    if len(frame.index):
        frame.index = frame.index.tz_convert(_config.load().LAB_TIMEZONE).tz_localize(None)
    return frame


def local_now():
    """Now, as a pandas Timestamp in LAB_TIMEZONE without its zone: the clock of query_range()'s rows."""
    import pandas as pd

    return pd.Timestamp.now(tz=_config.load().LAB_TIMEZONE).tz_localize(None)


def query_frame(promql: str, at: float | None = None, cfg: _config.LabConfig | None = None):
    """`query()` as a pandas DataFrame: one row per series, its labels as columns, then `value`."""
    import pandas as pd

    rows = [{**{k: v for k, v in s.labels.items() if k != "__name__"}, "value": s.value}
            for s in query(promql, at, cfg)]
    return pd.DataFrame(rows)


def wait_for_data(promql: str, timeout_s: float = 120, cfg: _config.LabConfig | None = None) -> list[Sample]:
    """Poll `promql` (every second, at most `timeout_s`) until it returns a series; return them.

    Prometheus scrapes every 5 s and a rate needs two scrapes: a new exporter's data appears after
    10 to 15 s. LabError, saying what it waited for, when time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = query(promql, cfg=cfg)
        if samples:
            return samples
        if time.monotonic() > deadline:
            raise LabError(_("no_data", promql=promql, seconds=f"{timeout_s:.0f}"))
        time.sleep(1.0)  # a poll interval, not a fixed wait: it returns as soon as data is there


def wait_for_alert(name: str, state: str | None, timeout_s: float = 180, cfg: _config.LabConfig | None = None,
                   **labels: str) -> dict | None:
    """Poll Prometheus's alerts (every second, at most `timeout_s`) until alert `name` with `labels` is in
    `state` ("pending" or "firing"), or, with state=None, until it is gone (resolved). Returns the
    alert (None once resolved); LabError, saying what it waited for, when time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [a for a in alerts(cfg) if a["alertname"] == name
                 and all(a["labels"].get(k) == v for k, v in labels.items())]
        if state is None and not found:
            return None
        matching = [a for a in found if a["state"] == state]
        if state is not None and matching:
            return matching[0]
        if time.monotonic() > deadline:
            raise LabError(_("no_alert", name=name, labels=labels or "", state=state or "resolved",
                             seconds=f"{timeout_s:.0f}", now=", ".join(a["state"] for a in found) or "inactive"))
        time.sleep(1.0)  # a poll interval: Prometheus evaluates the rules every 5 s


def alerts(cfg: _config.LabConfig | None = None) -> list[dict]:
    """The alerts pending or firing now: name, state, labels, since when (resolved ones are gone)."""
    return [{"alertname": a["labels"].get("alertname"), "state": a["state"], "labels": a["labels"],
             "active_at": a.get("activeAt"), "value": a.get("value")} for a in api("alerts", cfg=cfg)["alerts"]]


def targets(cfg: _config.LabConfig | None = None) -> list[dict]:
    """What Prometheus scrapes: job, address, health (up/down/unknown), last error, last scrape."""
    return [{"job": t["labels"].get("job"), "instance": t["labels"].get("instance"), "health": t["health"],
             "url": t.get("scrapeUrl"), "last_error": t.get("lastError", ""),
             "last_scrape_s": t.get("lastScrapeDuration")} for t in api("targets", {"state": "active"}, cfg)["activeTargets"]]


def dashboard_queries(path: Path = DASHBOARD) -> dict[str, list[str]]:
    """Every panel of the Grafana dashboard: its title and its PromQL expressions (one per curve)."""
    try:
        dashboard = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise LabError(_("no_dashboard", path=path)) from e
    panels = {}
    for panel in dashboard["panels"]:
        exprs = [t["expr"] for t in panel.get("targets", []) if t.get("expr")]
        if exprs:
            panels[panel["title"]] = exprs
    return panels


# --------------------------------------------------------------------------- being asked: exporters

_EXPORTERS: list["Exporter"] = []
_EXPORTERS_LOCK = threading.Lock()
_OWN_TARGETS: set[Path] = set()  # target files this process wrote: removed when it exits


def _target_file(job: str, port: int, pid: int) -> Path:
    return _config.PROMETHEUS_TARGETS / f"{job}.{port}.{pid}.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_targets() -> list[Path]:
    """Remove the target files of processes that are gone (killed, say). Returns what it removed."""
    removed = []
    for path in _config.PROMETHEUS_TARGETS.glob("*.json"):
        try:
            pid = int(path.stem.rsplit(".", 1)[1])
        except (IndexError, ValueError):
            continue  # not ours (the compose stack's static files live elsewhere)
        if not _pid_alive(pid):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def register_target(job: str, host: str, port: int) -> Path:
    """Tell Prometheus (file-based discovery) that this process serves /metrics on host:port for `job`.

    The file replaces any other file for the same job and port (a process that died without
    removing its own), and is written whole before it appears (rename), as Prometheus reads it
    as soon as it changes."""
    _config.PROMETHEUS_TARGETS.mkdir(parents=True, exist_ok=True)
    clean_targets()
    for old in _config.PROMETHEUS_TARGETS.glob(f"{job}.{port}.*.json"):
        old.unlink(missing_ok=True)
    path = _target_file(job, port, os.getpid())
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps([{"targets": [f"{host}:{port}"], "labels": {}}]))
    tmp.replace(path)
    _OWN_TARGETS.add(path)
    return path


class Exporter:
    """A /metrics endpoint of this process for `registry`, found by Prometheus through its target file.

    Binds `address` ("127.0.0.1:9101"), or the next free port when another process holds it.
    `close()` stops serving and removes the target file (also done when the process exits)."""

    def __init__(self, registry, address: str, job: str):
        from prometheus_client import start_http_server

        host, port = _config.LabConfig.host_port(address)
        self.job, self.host = job, host
        last_error: OSError | None = None
        for candidate in range(port, port + PORT_TRIES):
            try:
                self._server, self._thread = start_http_server(candidate, addr=host, registry=registry)
                self.port = candidate
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                last_error = e
        else:
            raise ServiceDown(_("no_port", job=job, first=f"{host}:{port}", last=port + PORT_TRIES - 1,
                                error=last_error)) from last_error
        self.target = register_target(job, host, self.port)
        self.closed = False
        with _EXPORTERS_LOCK:
            _EXPORTERS.append(self)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.target.unlink(missing_ok=True)
        self._server.shutdown()
        self._server.server_close()
        with _EXPORTERS_LOCK:
            if self in _EXPORTERS:
                _EXPORTERS.remove(self)


@atexit.register
def _close_exporters() -> None:
    for exporter in list(_EXPORTERS):
        try:
            exporter.close()
        except Exception:  # noqa: BLE001 - the process is ending; the target file is what matters
            exporter.target.unlink(missing_ok=True)
    for path in list(_OWN_TARGETS):
        path.unlink(missing_ok=True)
