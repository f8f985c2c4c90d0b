"""The native stack and its command line: idempotent up, honest status, one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from lab_utils import services
from lab_utils.clients import storage
from lab_utils.services import processes
from lab_utils.config import ROOT
from lab_utils.errors import PortInUse, ServiceDied, SetupFailed
from lab_utils.services.builds import fetch_and_build


def lab(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab_utils", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.mark.integration
def test_up_twice_is_fine_and_keeps_the_same_processes(cfg):
    first, second = lab("stack", "up"), lab("stack", "up")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    status = services.status(cfg)["services"]
    for name in ("kafka", "minio"):
        assert status[name]["healthy"] and status[name]["pid"], status
        assert f"pid {status[name]['pid']}" in first.stdout and f"pid {status[name]['pid']}" in second.stdout


@pytest.mark.integration
def test_status_reports_what_runs_where(cfg):
    out = lab("stack", "status")
    assert out.returncode == 0, out.stderr
    assert "127.0.0.1:9092" in out.stdout or cfg.KAFKA_BOOTSTRAP_SERVERS in out.stdout
    assert f"Apache Kafka {services.versions()['kafka']}" in out.stdout
    assert "console http://" in out.stdout and ".lab/logs/kafka.log" in out.stdout


@pytest.mark.integration
def test_down_then_status_says_down_and_data_survives(cfg):
    """down stops only what up started; the topic (Kafka's data) and the bucket survive down/up."""
    down = lab("stack", "down")
    assert down.returncode == 0, down.stderr
    try:
        status = services.status(cfg)["services"]
        assert not status["kafka"]["healthy"] and not status["minio"]["healthy"], status
        assert "DOWN" in lab("stack", "status").stdout
    finally:
        up = lab("stack", "up")
        assert up.returncode == 0, up.stderr
    assert cfg.KAFKA_TOPIC in services.list_topics(cfg)
    assert storage.filesystem(cfg).exists(cfg.LAB_BUCKET)


def test_a_taken_port_gets_a_one_line_fix():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=rf"127.0.0.1:{port} is taken.*KAFKA_BOOTSTRAP_SERVERS in .env"):
            processes.check_port_free("127.0.0.1", port, "Kafka", "KAFKA_BOOTSTRAP_SERVERS")


def test_a_service_that_dies_at_start_shows_its_log(tmp_path):
    log = tmp_path / "dying.log"
    proc = processes.spawn("test-dying", ["sh", "-c", "echo 'FATAL: something broke'; exit 3"], 1, log)
    try:
        with pytest.raises(ServiceDied, match="(?s)exited during start-up.*FATAL: something broke"):
            processes.wait_ready("Dying service", proc, lambda: False, timeout=30)
    finally:
        processes.pidfile("test-dying").unlink(missing_ok=True)


def test_missing_java_is_one_line_naming_the_fix(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no java, no mvn, no go
    out = lab("stack", "up", env=env)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Java 17" in lines[0] and "install" in lines[0], out.stderr


def test_reset_without_yes_refuses_when_not_interactive():
    out = subprocess.run([sys.executable, "-m", "lab_utils", "stack", "reset"], cwd=ROOT, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert out.returncode == 1 and "--yes" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unknown_command_says_what_exists():
    out = lab("stak", "up")
    assert out.returncode == 2 and "invalid choice" in out.stderr and "stack" in out.stderr


def test_fetch_and_build_runs_the_steps_side_by_side_and_raises_after_all_finished():
    """The builds overlap (Maven downloads while Go compiles); a failure waits for the others."""
    both_running = threading.Barrier(2, timeout=30)  # each step waits for the other: only side by side passes
    finished = []

    def step(name, fail=False):
        def run(say):
            both_running.wait()
            finished.append(name)
            if fail:
                raise SetupFailed(f"{name} failed")
        return run

    fetch_and_build([step("a"), step("b")], say=lambda m: None)
    assert sorted(finished) == ["a", "b"]
    both_running.reset()
    finished.clear()
    with pytest.raises(SetupFailed, match="a failed"):
        fetch_and_build([step("a", fail=True), step("b")], say=lambda m: None)
    assert sorted(finished) == ["a", "b"], "the other step finished before the error was raised"
