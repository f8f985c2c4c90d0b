"""A Spark standalone cluster on this machine: one master and N workers (LAB_SPARK_WORKERS).

Started with pyspark's own launcher, `spark-class` (the pip wheel has no `sbin/` scripts):

    spark-class org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 8080
    spark-class org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 --host 127.0.0.1 \\
                --webui-port 8081 --cores 1 --memory 1g --work-dir .lab/spark/work/worker-1

Every port on 127.0.0.1 (SPARK_LOCAL_IP keeps the UIs there too). A driver whose SPARK_MASTER is
`spark://127.0.0.1:7077` (the lab's session, lab_utils.pipeline.session) gets one executor per
worker, which fetches the lab's jars from the driver. Sizes for a 2-core laptop, the same in the
compose file's `spark-cluster` profile (tests/test_compose.py compares them):

- master and worker daemons: a 256 MiB heap each (they only keep the books);
- each worker lends 1 core and 1 GiB to executors; an executor takes 1 core and a 512 MiB heap
  (lab_utils.pipeline.session). One core per worker, so that adding the second worker doubles
  the task slots, as adding a machine would: 3 Kafka partitions make 3 tasks, which run in
  three waves on one worker and in two on two.

Knows nothing of Spark queries: it starts processes and reads the master's JSON page.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from .. import config as _config
from .. import i18n
from ..errors import SetupFailed
from .processes import Proc, check_port_free, recorded, spawn, stop_process, wait_ready

_ = i18n.catalog(__name__, {
    "no_pyspark": {
        "en": "pyspark is not installed, so the Spark cluster cannot start: run `make setup` (or "
              "`pip install -e .`) first",
        "fr": "pyspark n'est pas installé, le cluster Spark ne peut pas démarrer : lancez d'abord `make setup` "
              "(ou `pip install -e .`)",
    },
    "stopped_worker": {
        "en": "stopped spark-worker-{n} (pid {pid}): LAB_SPARK_WORKERS={workers}",
        "fr": "spark-worker-{n} arrêté (pid {pid}) : LAB_SPARK_WORKERS={workers}",
    },
})

MASTER = "spark-master"
DAEMON_MEMORY = "256m"       # SPARK_DAEMON_MEMORY: the master's and each worker's own heap
WORKER_CORES = 1             # what each worker lends to executors
WORKER_MEMORY = "1g"
# The settings file of the master and the workers (the compose profile passes the same file).
CLUSTER_CONF = _config.STACK_DIR / "spark" / "cluster.conf"
START_TIMEOUT_S = 180.0      # a JVM start on a busy 2-core machine, then the worker's registration


def worker_name(n: int) -> str:
    return f"spark-worker-{n}"


def spark_class() -> Path:
    """pyspark's launcher script, `pyspark/bin/spark-class`."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise SetupFailed(_("no_pyspark"))
    return Path(spec.submodule_search_locations[0]) / "bin" / "spark-class"


def daemon_env() -> dict[str, str]:
    """The environment of the master and the workers (and so of the executors they launch)."""
    conf_dir = _config.SPARK_CLUSTER_DIR / "conf"  # empty on purpose: no spark-env.sh of the machine's
    conf_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ,
            "SPARK_CONF_DIR": str(conf_dir),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_DIRS": str(_config.SPARK_CLUSTER_DIR / "tmp"),
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "SPARK_DAEMON_JAVA_OPTS": f"-Dlog4j2.configurationFile={_config.SPARK_LOG4J2.as_uri()}"}


def master_cmd(cfg: _config.LabConfig) -> list[str]:
    return [str(spark_class()), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
            "--port", cfg.SPARK_MASTER_PORT, "--webui-port", cfg.SPARK_MASTER_WEBUI_PORT,
            "--properties-file", str(CLUSTER_CONF)]


def worker_cmd(cfg: _config.LabConfig, n: int) -> list[str]:
    ui_port = cfg.spark_worker_ui(n).rsplit(":", 1)[1]
    return [str(spark_class()), "org.apache.spark.deploy.worker.Worker", cfg.spark_master_url,
            "--host", "127.0.0.1", "--webui-port", ui_port, "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY,
            "--work-dir", str(_config.SPARK_CLUSTER_DIR / "work" / worker_name(n)),
            "--properties-file", str(CLUSTER_CONF)]


def read_json(url: str, timeout: float = 5.0) -> dict | None:
    """A master's or worker's JSON page, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/json/", timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def master_state(cfg: _config.LabConfig) -> dict | None:
    """The master's view (its UI's /json/): status, workers, running and completed applications."""
    return read_json(cfg.spark_master_ui)


def alive_workers(cfg: _config.LabConfig) -> list[dict]:
    """The workers registered with the master and alive, each with its UI address, cores and memory."""
    state = master_state(cfg) or {}
    return [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]


def worker_registered(cfg: _config.LabConfig, n: int) -> bool:
    ui = cfg.spark_worker_ui(n).rsplit(":", 1)[1]
    return any(str(w.get("webuiaddress", "")).endswith(f":{ui}") for w in alive_workers(cfg))


def start_master(cfg: _config.LabConfig) -> Proc:
    running = recorded(MASTER)
    if running and running.alive:
        return running
    check_port_free("127.0.0.1", int(cfg.SPARK_MASTER_PORT), "the Spark master", "SPARK_MASTER_PORT")
    check_port_free("127.0.0.1", int(cfg.SPARK_MASTER_WEBUI_PORT), "the Spark master's UI", "SPARK_MASTER_WEBUI_PORT")
    return spawn(MASTER, master_cmd(cfg), int(cfg.SPARK_MASTER_PORT), _config.LOGS_DIR / f"{MASTER}.log",
                 env=daemon_env())


def start_worker(cfg: _config.LabConfig, n: int) -> Proc:
    name = worker_name(n)
    running = recorded(name)
    if running and running.alive:
        return running
    ui_port = int(cfg.spark_worker_ui(n).rsplit(":", 1)[1])
    check_port_free("127.0.0.1", ui_port, f"Spark worker {n}'s UI", "SPARK_WORKER_WEBUI_PORT")
    (_config.SPARK_CLUSTER_DIR / "work" / name).mkdir(parents=True, exist_ok=True)
    return spawn(name, worker_cmd(cfg, n), ui_port, _config.LOGS_DIR / f"{name}.log", env=daemon_env())


def running_workers() -> list[int]:
    """The numbers of the workers this stack started and that still run."""
    numbers = []
    for pidfile in _config.RUN_DIR.glob("spark-worker-*.json"):
        n = pidfile.stem.rsplit("-", 1)[1]
        proc = recorded(pidfile.stem)
        if n.isdigit() and proc and proc.alive:
            numbers.append(int(n))
    return sorted(numbers)


def up(cfg: _config.LabConfig, say: Callable[[str], None] = print) -> dict[str, Proc]:
    """Make the cluster match LAB_SPARK_WORKERS: the master and workers 1..N running and registered,
    workers beyond N stopped; with 0, nothing runs. Idempotent. Returns the processes by name."""
    wanted = cfg.spark_workers
    for n in running_workers():
        if n > wanted:
            proc = recorded(worker_name(n))
            if proc and stop_process(proc):
                say(_("stopped_worker", n=n, pid=proc.pid, workers=wanted))
    if wanted == 0:
        down()
        return {}
    procs = {MASTER: start_master(cfg)}
    wait_ready("the Spark master", procs[MASTER], lambda: (master_state(cfg) or {}).get("status") == "ALIVE",
               START_TIMEOUT_S)
    for n in range(1, wanted + 1):
        procs[worker_name(n)] = start_worker(cfg, n)
    for n in range(1, wanted + 1):
        wait_ready(f"Spark worker {n}", procs[worker_name(n)], lambda n=n: worker_registered(cfg, n), START_TIMEOUT_S)
    return procs


def down(say: Callable[[str], None] = lambda _line: None) -> list[str]:
    """Stop every worker, then the master (the executors go with their worker)."""
    stopped = []
    for name in [*(worker_name(n) for n in running_workers()), MASTER]:
        proc = recorded(name)
        if proc and stop_process(proc):
            stopped.append(name)
            say(f"stopped {name} (pid {proc.pid})")
    return stopped


def wait_for_workers(cfg: _config.LabConfig, count: int, timeout: float = 60.0) -> list[dict]:
    """Wait (bounded) until `count` workers are alive at the master; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        workers = alive_workers(cfg)
        if len(workers) >= count or time.monotonic() > deadline:
            return workers
        time.sleep(0.5)
