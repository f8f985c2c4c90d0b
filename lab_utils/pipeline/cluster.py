"""Where a session's tasks run: its executors, as the Spark UI shows them (lesson 09).

    from lab_utils.pipeline import cluster
    cluster.executors_page(spark)          # the Spark UI's executors page, to open in a browser
    cluster.executors(spark)               # the same as rows: id, address, cores, tasks done
    cluster.wait_for_executors(spark, 2)   # after a worker was added: its executor has joined

Read from the driver's own REST API (`/api/v1/applications/<app>/executors`, what the UI's page
draws), so it works on any master. In local mode the driver is the only executor.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from .. import i18n
from ..errors import LabError

_ = i18n.catalog(__name__, {
    "no_ui": {
        "en": "this Spark session has no UI (spark.ui.enabled=false), so its executors cannot be listed",
        "fr": "cette session Spark n'a pas d'interface (spark.ui.enabled=false) : impossible de lister ses exécuteurs",
    },
    "too_few": {
        "en": "after {seconds} s the session has {have} executor(s) running tasks, not {want}: look at the master's "
              "page {master_ui} (is every worker ALIVE and free?), `python -m lab_utils stack status` and the "
              "workers' logs in .lab/logs/ (executors seen: {seen}; workers: {workers})",
        "fr": "après {seconds} s, la session n'a que {have} exécuteur(s) pour ses tâches, pas {want} : regardez la page "
              "du maître {master_ui} (chaque worker est-il ALIVE et libre ?), `python -m lab_utils stack status` et "
              "les journaux des workers dans .lab/logs/ (exécuteurs vus : {seen} ; workers : {workers})",
    },
})


def ui_url(spark) -> str:
    url = spark.sparkContext.uiWebUrl
    if not url:
        raise LabError(_("no_ui"))
    return url.rstrip("/")


def executors_page(spark) -> str:
    """The address of the Spark UI's executors page for this session."""
    return f"{ui_url(spark)}/executors/"


def executors(spark, include_driver: bool = False) -> list[dict]:
    """The session's live executors: id, host:port, cores, active/completed/failed tasks.

    On a cluster the driver only plans; `include_driver=True` lists it too (in local mode it is
    the one that runs every task)."""
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{ui_url(spark)}/api/v1/applications/{app}/executors", timeout=10) as response:
        rows = json.loads(response.read())
    local = spark.sparkContext.master.startswith("local")
    return [{"executor": e["id"], "address": e["hostPort"], "cores": e["totalCores"],
             "active_tasks": e["activeTasks"], "completed_tasks": e["completedTasks"], "failed_tasks": e["failedTasks"]}
            for e in rows if e.get("isActive", True) and (e["id"] != "driver" or include_driver or local)]


def wait_for_executors(spark, count: int, timeout_s: float = 120.0, master_ui: str = "",
                       exactly: bool = False, with_tasks: bool = False) -> list[dict]:
    """Wait (bounded) until the session has `count` executors (`exactly`: no more either, e.g. after
    a worker left; `with_tasks`: each has completed a task, e.g. a new one took its share of a running
    query); return them. LabError naming where to look after `timeout_s` (a new worker's executor
    needs a JVM start: seconds to a minute)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            rows = executors(spark)
        except (OSError, urllib.error.URLError, ValueError):
            rows = []
        enough = len(rows) == count or (len(rows) > count and not exactly)
        if enough and (not with_tasks or all(r["completed_tasks"] for r in rows)):
            return rows
        if time.monotonic() > deadline:
            have = sum(1 for r in rows if r["completed_tasks"]) if with_tasks else len(rows)
            raise LabError(_("too_few", seconds=f"{timeout_s:.0f}", have=have, want=count,
                             master_ui=master_ui or "?", seen=_seen(rows), workers=_workers(master_ui)))
        time.sleep(0.5)  # a poll interval: returns as soon as the executors are there


def _seen(rows: list[dict]) -> str:
    """The executors as the driver sees them, for an error message: id with tasks done/running/failed."""
    return ", ".join(f"{r['executor']} ({r['completed_tasks']}/{r['active_tasks']}/{r['failed_tasks']} tasks "
                     f"done/running/failed)" for r in rows) or "none"


def _workers(master_ui: str) -> str:
    """The workers as the master sees them (state, cores lent and used), for an error message."""
    try:
        with urllib.request.urlopen(f"{master_ui}/json/", timeout=5) as response:
            workers = json.loads(response.read()).get("workers", [])
    except (OSError, urllib.error.URLError, ValueError):
        return "?"
    return ", ".join(f"{w.get('webuiaddress', '?')} {w.get('state', '?')} {w.get('coresused', '?')}/"
                     f"{w.get('cores', '?')} cores used" for w in workers) or "none"
