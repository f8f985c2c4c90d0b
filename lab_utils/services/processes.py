"""Processes of the native stack: start one in its own session, record its PID, wait until it
answers, stop it (cleanly, or with SIGKILL to simulate a crash).

Knows nothing of what a process is (Kafka, MinIO, ...) nor of Spark queries: the modules that
start a service hand it a command line and a readiness probe. PID files live in `.lab/run/`,
one JSON per service; a recorded PID counts as ours only while its command line names the
lab's state folder, so a reused PID is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients.kafka import fix_status, port_open
from ..errors import PortInUse, ServiceDied, ServiceDown

STOP_TIMEOUT_S = 30.0

_ = i18n.catalog(__name__, {
    "port_taken": {
        "en": "port {host}:{port} is taken by another program, so {service} cannot start: stop that program "
              "(`ss -ltnp 'sport = :{port}'` shows it) or change {setting} in .env",
        "fr": "le port {host}:{port} est déjà pris par un autre programme, {service} ne peut donc pas démarrer : "
              "arrêtez ce programme (`ss -ltnp 'sport = :{port}'` le montre) ou changez {setting} dans .env",
    },
    "died": {
        "en": "{what} exited during start-up; last lines of {log}:\n    {last}",
        "fr": "{what} s'est arrêté pendant son démarrage ; dernières lignes de {log} :\n    {last}",
    },
    "not_ready": {
        "en": "{what} did not become ready within {seconds} s: read {log}, then `python -m lab_utils stack down` "
              "and `stack up` again",
        "fr": "{what} n'est toujours pas prêt après {seconds} s : lisez {log}, puis lancez "
              "`python -m lab_utils stack down` et de nouveau `stack up`",
    },
    "survived": {
        "en": "{name} (pid {pid}) survived SIGKILL for {seconds} s: {fix}",
        "fr": "{name} (pid {pid}) a survécu {seconds} s à SIGKILL : {fix}",
    },
})


@dataclass
class Proc:
    name: str
    pid: int
    port: int
    log: Path
    popen: subprocess.Popen | None = None  # set when this process started it

    @property
    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_is_ours(self.pid)

    def rss_mib(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def pid_is_ours(pid: int) -> bool:
    """True if `pid` runs and is a process this stack started (its command line names our state dir)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if not cmdline:  # a zombie: exited, not yet reaped
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        return False
    return str(_config.STATE_DIR) in cmdline


def pidfile(name: str) -> Path:
    return _config.RUN_DIR / f"{name}.json"


def recorded(name: str) -> Proc | None:
    try:
        data = json.loads(pidfile(name).read_text())
    except (OSError, ValueError):
        return None
    return Proc(name=name, pid=int(data["pid"]), port=int(data["port"]), log=Path(data["log"]))


def spawn(name: str, cmd: list[str], port: int, log: Path, env: dict | None = None) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    _config.RUN_DIR.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab")
    out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} lab_utils starts {name}\n".encode())
    out.flush()
    # Own session: Ctrl-C in a notebook or terminal does not kill the services, `down` does.
    p = subprocess.Popen(cmd, cwd=_config.ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    out.close()
    proc = Proc(name=name, pid=p.pid, port=port, log=log, popen=p)
    pidfile(name).write_text(json.dumps({"pid": p.pid, "port": port, "log": str(log), "cmd": cmd}))
    return proc


def tail(path: Path, n: int = 15) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def check_port_free(host: str, port: int, service: str, setting: str) -> None:
    if port_open(host, port):
        raise PortInUse(_("port_taken", host=host, port=port, service=service, setting=setting))


def wait_ready(what: str, proc: Proc, ready: Callable[[], bool], timeout: float) -> None:
    """Poll `ready` until it is true; fail with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while time.monotonic() < deadline:
        if not proc.alive:
            last = "\n    ".join(tail(proc.log))
            raise ServiceDied(_("died", what=what, log=proc.log, last=last))
        if ready():
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise ServiceDown(_("not_ready", what=what, seconds=f"{timeout:.0f}", log=proc.log))


def stop_process(proc: Proc) -> bool:
    if not proc.alive:
        pidfile(proc.name).unlink(missing_ok=True)
        return False
    os.killpg(proc.pid, signal.SIGTERM) if is_group_leader(proc.pid) else os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while proc.alive and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.alive:
        os.kill(proc.pid, signal.SIGKILL)
        while proc.alive:
            time.sleep(0.05)
    pidfile(proc.name).unlink(missing_ok=True)
    return True


def files_closed(pid: int) -> bool:
    """True once `pid` holds no open file (it exited, even if not reaped yet)."""
    try:
        return not os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True


def is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


def stop_service(name: str, kill: bool = False) -> bool:
    """Stop one service this stack started: SIGTERM (a clean stop), or SIGKILL to simulate a crash.

    Returns False if it was not running. The reliability tests use it; `up()` starts it again.
    """
    proc = recorded(name)
    if proc is None or not proc.alive:
        return False
    if not kill:
        return stop_process(proc)
    os.killpg(proc.pid, signal.SIGKILL) if is_group_leader(proc.pid) else os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    # A killed JVM's main thread turns zombie before its other threads have exited and closed
    # its sockets: wait for the files too, or `up()` finds the port still taken.
    while proc.alive or not files_closed(proc.pid):
        if time.monotonic() > deadline:
            raise ServiceDown(_("survived", name=name, pid=proc.pid, seconds=f"{STOP_TIMEOUT_S:.0f}", fix=fix_status()))
        time.sleep(0.05)
    pidfile(name).unlink(missing_ok=True)
    return True
