"""The native stack as commands: `up`, `ensure_up`, `down`, `status` (CLI: `python -m lab_utils stack ...`).

`up()` fetches what is missing (Kafka and Spark jars with Maven, MinIO built with Go),
starts the services, waits until they answer, and sets them up (bucket, the lab's S3 key and
its policy, the topic, the driver's class archive). It is idempotent. `down()` stops only the
processes it started, by the PIDs it recorded. Everything lives in the git-ignored state
folder `.lab/` (paths in lab_utils.config):

    .lab/jars/kafka/   broker jars          .lab/kafka/data/   Kafka's log dirs
    .lab/jars/spark/   Spark's extra jars   .lab/minio/data/   MinIO's objects
    .lab/bin/minio     the MinIO server     .lab/logs/         one log per service
    .lab/run/          PID files            .lab/cds/          the driver's class archive

With LAB_MONITORING=true (or `stack up --monitoring`) it also builds and starts Prometheus, and
starts Kafka and MinIO with their metrics on (lab_utils.services.monitoring):

    .lab/bin/prometheus, promtool      .lab/jars/monitoring/   the JMX exporter agent
    .lab/prometheus/data/              .lab/prometheus/targets/   the live Python exporters

With LAB_KAFKA_BROKERS=3 Kafka runs as three nodes (`kafka-1` .. `kafka-3`, data in
.lab/kafka-3/; lab_utils.services.kafka_cluster), and with LAB_SPARK_WORKERS=N a Spark
standalone master and N workers run beside it (.lab/spark/; lab_utils.services.spark_cluster).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients import storage
from ..clients.kafka import ensure_topic
from ..clients.prometheus import clean_targets, prometheus_ready
from ..clients.storage import minio_ready
from ..errors import CheckpointInUse
from ..pipeline.checkpoint import CheckpointLock
from . import kafka_cluster, monitoring, spark_cluster
from .builds import (ensure_kafka_jars, ensure_minio_binary, ensure_spark_jars, fetch_and_build, require_java,
                     versions)
from .class_archive import ensure_class_archive
from .processes import recorded, stop_process, wait_ready
from .s3_server import setup_minio, start_minio

START_TIMEOUT_S = {"kafka": 120.0, "minio": 60.0, "prometheus": monitoring.START_TIMEOUT_S}

_ = i18n.catalog(__name__, {
    "restart": {
        "en": "restarting {service} with its metrics on (it was started with monitoring off; its data is kept)",
        "fr": "redémarrage de {service} avec ses métriques (il avait été démarré sans supervision ; ses données "
              "sont conservées)",
    },
    "busy": {
        "en": "monitoring needs Kafka and MinIO restarted with their metrics on, and the pipeline is running "
              "({who}, query {query}): stop it first (Ctrl-C, or `pipeline.stop()` in its notebook), then run "
              "`python -m lab_utils stack up --monitoring` again",
        "fr": "la supervision demande de redémarrer Kafka et MinIO avec leurs métriques, et le pipeline tourne "
              "({who}, requête {query}) : arrêtez-le d'abord (Ctrl-C, ou `pipeline.stop()` dans son notebook), "
              "puis relancez `python -m lab_utils stack up --monitoring`",
    },
})


def up(say: Callable[[str], None] = print) -> dict:
    """Fetch, build, start and set up the stack; return what runs where. Idempotent."""
    t0 = time.monotonic()
    if _config.ensure_env_file():
        say(f"wrote {_config.ENV_FILE} with fresh secrets")
    cfg = _config.load()
    require_java()
    # Monitoring's Maven fetch and its long Go + npm build run side by side with the others.
    fetch_and_build([ensure_kafka_jars, ensure_spark_jars, ensure_minio_binary, *monitoring.build_steps(cfg)], say)
    if cfg.monitoring:
        restart_without_metrics(cfg, say)
    # The driver's class archive (a Spark JVM for about a minute, the first time) needs no
    # service: it is built while the services start.
    archive = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab-cds").submit(ensure_class_archive, say)
    procs = {**kafka_cluster.start_kafka_nodes(cfg, say), "minio": start_minio(cfg)}
    if cfg.monitoring:
        procs["prometheus"] = monitoring.start_prometheus(cfg)
    wait_ready("MinIO", procs["minio"], lambda: minio_ready(cfg), START_TIMEOUT_S["minio"])
    setup_minio(cfg)
    for name in kafka_cluster.node_names(cfg.kafka_brokers):  # each node up, and the brokers know each other
        wait_ready("Kafka" if name == kafka_cluster.SINGLE else f"Kafka {name}", procs[name],
                   lambda: kafka_cluster.all_brokers_ready(cfg), START_TIMEOUT_S["kafka"])
    ensure_topic(cfg)
    if cfg.monitoring:
        wait_ready("Prometheus", procs["prometheus"], lambda: prometheus_ready(cfg), START_TIMEOUT_S["prometheus"])
    spark_cluster.up(cfg, say)  # LAB_SPARK_WORKERS: a master and N workers, or none
    archive.result()
    report = status(cfg)
    report["up_seconds"] = round(time.monotonic() - t0, 2)
    return report


def restart_without_metrics(cfg: _config.LabConfig, say: Callable[[str], None]) -> list[str]:
    """Monitoring turned on while Kafka or MinIO run without their metrics: stop them, so that `up`
    starts them again with their metrics (their data is kept). Refused while the pipeline runs."""
    stale = [name for name in ("kafka", "minio")
             if (proc := recorded(name)) and proc.alive and not monitoring.exports_metrics(name, cfg)]
    if stale and minio_ready(cfg):
        for sink in storage.SINKS:
            held = CheckpointLock(cfg.s3a_path("checkpoint", sink), sink, cfg).running_holder()
            if held:
                who, info = held
                raise CheckpointInUse(_("busy", who=who, query=info.get("query")))
    for name in stale:
        say(_("restart", service=name))
        stop_process(recorded(name))
    return stale


def ensure_up(say: Callable[[str], None] = print) -> dict:
    """Start the native stack unless Kafka's brokers and MinIO (and Prometheus, with monitoring on,
    and the Spark workers LAB_SPARK_WORKERS asks for) already answer, natively or from Docker Compose.

    What a notebook calls: it never fights a compose stack for its ports.
    """
    cfg = _config.load()
    cluster = not cfg.spark_workers or len(spark_cluster.alive_workers(cfg)) == cfg.spark_workers
    if kafka_cluster.all_brokers_ready(cfg) and minio_ready(cfg) and cluster \
            and (not cfg.monitoring or prometheus_ready(cfg)):
        ensure_topic(cfg)
        return status(cfg)
    return up(say)


def down(say: Callable[[str], None] = print) -> list[str]:
    """Stop the processes `up` started (by their recorded PIDs), and nothing else."""
    stopped = []
    workers = [spark_cluster.worker_name(n) for n in spark_cluster.running_workers()]
    for name in ("prometheus", *workers, spark_cluster.MASTER, kafka_cluster.SINGLE, *kafka_cluster.NODES, "minio"):
        proc = recorded(name)
        if proc and stop_process(proc):
            stopped.append(name)
            say(f"stopped {name} (pid {proc.pid})")
    clean_targets()
    return stopped


def status(cfg: _config.LabConfig | None = None) -> dict:
    """What runs where: per service its PID, address, health, memory, version and log. Each Kafka
    node is a service of its own; so are the Spark master and each worker, when there are any."""
    cfg = cfg or _config.load()
    vers = versions()
    brokers = kafka_cluster.live_brokers(cfg)
    checks = {}
    for name, node_id, host, port in kafka_cluster.layout_nodes(cfg, kafka_cluster.running_layout(cfg)):
        checks[name] = (f"{host}:{port}", lambda n=node_id: n in brokers, f"Apache Kafka {vers['kafka']} (KRaft)")
    checks["minio"] = (cfg.AWS_ENDPOINT_URL, lambda: minio_ready(cfg), f"MinIO {vers['minio']}")
    prometheus = recorded("prometheus")
    if cfg.monitoring or (prometheus and prometheus.alive):
        checks["prometheus"] = (cfg.PROMETHEUS_URL, lambda: prometheus_ready(cfg),
                                f"Prometheus {monitoring.versions()['prometheus']}")
    workers = max(cfg.spark_workers, *spark_cluster.running_workers(), 0)
    if workers or recorded(spark_cluster.MASTER):
        spark = f"Spark {vers.get('spark', '?')} standalone"
        checks[spark_cluster.MASTER] = (cfg.spark_master_url,
                                        lambda: (spark_cluster.master_state(cfg) or {}).get("status") == "ALIVE", spark)
        for n in range(1, workers + 1):
            checks[spark_cluster.worker_name(n)] = (cfg.spark_worker_ui(n),
                                                    lambda n=n: spark_cluster.worker_registered(cfg, n), spark)
    services = {}
    for name, (address, ready, version) in checks.items():
        proc = recorded(name)
        ours = bool(proc and proc.alive)
        healthy = ready()
        services[name] = {
            "address": address,
            "healthy": healthy,
            "pid": proc.pid if ours else None,
            # a healthy service we did not start is, e.g., the Docker Compose stack
            "managed_by": "lab_utils" if ours else ("other (docker compose?)" if healthy else None),
            "rss_mib": round(proc.rss_mib(), 1) if ours else None,
            "version": version,
            "log": str(proc.log) if proc else None,
        }
    services["minio"]["console"] = f"http://{cfg.MINIO_CONSOLE_ADDRESS}"
    if spark_cluster.MASTER in services:
        services[spark_cluster.MASTER]["console"] = cfg.spark_master_ui
    report = {"services": services, "versions": vers,
              "monitoring": {"on": cfg.monitoring, "source": cfg.where("LAB_MONITORING")}}
    if "prometheus" in services and kafka_cluster.SINGLE in services:
        # Three brokers run without the JMX agent (one port for three JVMs): docs/contract.md.
        services[kafka_cluster.SINGLE]["metrics"] = (f"http://{cfg.KAFKA_METRICS_ADDRESS}/metrics"
                                                     if monitoring.exports_metrics("kafka", cfg) else None)
    if "prometheus" in services:
        report["versions"] = {**vers, **monitoring.versions()}
    return report


def format_status(report: dict) -> str:
    lines = []
    width = max(6, *(len(name) for name in report["services"]))
    for name, s in report["services"].items():
        state = "up" if s["healthy"] else "DOWN"
        who = f"pid {s['pid']}" if s["pid"] else (s["managed_by"] or "not running")
        mem = f", {s['rss_mib']:.0f} MiB" if s.get("rss_mib") else ""
        lines.append(f"{name:{width}} {state:5} {s['address']:24} {who}{mem}  {s['version']}")
        if s.get("console") and s["healthy"]:
            lines.append(f"{'':{width + 6}} console {s['console']}")
        if s.get("metrics"):
            lines.append(f"{'':{width + 6}} metrics {s['metrics']}")
        if s["log"]:
            lines.append(f"{'':{width + 6}} log {s['log']}")
    if "monitoring" in report:
        lines.append(f"monitoring {'on' if report['monitoring']['on'] else 'off'} "
                     f"(LAB_MONITORING: {report['monitoring']['source']})")
    if "up_seconds" in report:
        lines.append(f"ready in {report['up_seconds']:.1f} s")
    return "\n".join(lines)
