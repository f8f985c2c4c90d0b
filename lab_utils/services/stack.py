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
"""

from __future__ import annotations

import time
from typing import Callable

from .. import config as _config
from ..clients.kafka import ensure_topic, kafka_ready
from ..clients.storage import minio_ready
from .builds import (ensure_kafka_jars, ensure_minio_binary, ensure_spark_jars, fetch_and_build, require_java,
                     versions)
from .class_archive import ensure_class_archive
from .kafka_broker import start_kafka
from .processes import recorded, stop_process, wait_ready
from .s3_server import setup_minio, start_minio

START_TIMEOUT_S = {"kafka": 120.0, "minio": 60.0}


def up(say: Callable[[str], None] = print) -> dict:
    """Fetch, build, start and set up the stack; return what runs where. Idempotent."""
    t0 = time.monotonic()
    if _config.ensure_env_file():
        say(f"wrote {_config.ENV_FILE} with fresh secrets")
    cfg = _config.load()
    require_java()
    fetch_and_build([ensure_kafka_jars, ensure_spark_jars, ensure_minio_binary], say)
    procs = {"kafka": start_kafka(cfg), "minio": start_minio(cfg)}
    wait_ready("MinIO", procs["minio"], lambda: minio_ready(cfg), START_TIMEOUT_S["minio"])
    setup_minio(cfg)
    wait_ready("Kafka", procs["kafka"], lambda: kafka_ready(cfg), START_TIMEOUT_S["kafka"])
    ensure_topic(cfg)
    ensure_class_archive(say)
    report = status(cfg)
    report["up_seconds"] = round(time.monotonic() - t0, 2)
    return report


def ensure_up(say: Callable[[str], None] = print) -> dict:
    """Start the native stack unless Kafka and MinIO already answer (natively or from Docker Compose).

    What a notebook calls: it never fights a compose stack for its ports.
    """
    cfg = _config.load()
    if kafka_ready(cfg) and minio_ready(cfg):
        ensure_topic(cfg)
        return status(cfg)
    return up(say)


def down(say: Callable[[str], None] = print) -> list[str]:
    """Stop the processes `up` started (by their recorded PIDs), and nothing else."""
    stopped = []
    for name in ("kafka", "minio"):
        proc = recorded(name)
        if proc and stop_process(proc):
            stopped.append(name)
            say(f"stopped {name} (pid {proc.pid})")
    return stopped


def status(cfg: _config.LabConfig | None = None) -> dict:
    """What runs where: per service its PID, address, health, memory, version and log."""
    cfg = cfg or _config.load()
    vers = versions()
    checks = {
        "kafka": (cfg.KAFKA_BOOTSTRAP_SERVERS, lambda: kafka_ready(cfg), f"Apache Kafka {vers['kafka']} (KRaft)"),
        "minio": (cfg.AWS_ENDPOINT_URL, lambda: minio_ready(cfg), f"MinIO {vers['minio']}"),
    }
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
    return {"services": services, "versions": vers}


def format_status(report: dict) -> str:
    lines = []
    for name, s in report["services"].items():
        state = "up" if s["healthy"] else "DOWN"
        who = f"pid {s['pid']}" if s["pid"] else (s["managed_by"] or "not running")
        mem = f", {s['rss_mib']:.0f} MiB" if s.get("rss_mib") else ""
        lines.append(f"{name:6} {state:5} {s['address']:24} {who}{mem}  {s['version']}")
        if name == "minio" and s["healthy"]:
            lines.append(f"{'':12} console {s['console']}")
        if s["log"]:
            lines.append(f"{'':12} log {s['log']}")
    if "up_seconds" in report:
        lines.append(f"ready in {report['up_seconds']:.1f} s")
    return "\n".join(lines)
