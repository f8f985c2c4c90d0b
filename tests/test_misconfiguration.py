"""Every misconfiguration a student can make gets one line that names the fix, before any work starts.

A table of cases (issue 21): each runs the real command on the real stack with one setting
wrong, in the environment or in a `.env`, and asserts a non-zero exit, exactly one line on stderr,
no traceback, and that the line names the setting or the command to run. `doctor` says ✅ to a
healthy lab and ❌ with the same fix to each broken one. Some cases run again in French.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lab_utils import config, messages, pipeline, producer
from lab_utils.clients import health
from lab_utils.config import ROOT
from lab_utils.errors import ConfigError, LabError, NotSetUp, ToolMissing
from lab_utils.generator import TransactionGenerator

# French lines start like this (the catalog puts a no-break space before the colon).
FR_ERROR = "erreur\u00a0: "


def lab(*args: str, env: dict | None = None, unset: tuple[str, ...] = (), cwd: Path = ROOT,
        timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m lab_utils ...` with `env` on top of this process's environment, `unset` removed."""
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run([sys.executable, "-m", "lab_utils", *args], cwd=cwd, env={**environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def one_line(out: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed command; fails unless it is exactly one line and no traceback."""
    lines = out.stderr.strip().splitlines()
    assert out.returncode != 0, f"exit {out.returncode}\nstdout: {out.stdout[-1500:]}\nstderr: {out.stderr[-1500:]}"
    assert "Traceback" not in out.stderr + out.stdout and "\tat " not in out.stderr, out.stderr[-3000:]
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{out.stderr[-3000:]}"
    return lines[0]


@pytest.fixture(scope="module")
def taken_port():
    """Yields a port on 127.0.0.1 that another program (this test) listens on. Closes it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture(scope="module")
def old_java(tmp_path_factory):
    """Yields a JAVA_HOME whose bin/java says it is Java 11 (and does nothing else). Removed with tmp_path."""
    home = tmp_path_factory.mktemp("jdk11")
    java = home / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n'
                    'echo "OpenJDK Runtime Environment (build 11.0.22+7)" >&2\n')
    java.chmod(0o755)
    return str(home)


@dataclass
class Case:
    """One mistake: the command a student runs, the setting(s) they got wrong, what the line must say."""

    id: str
    args: tuple[str, ...]
    env: dict[str, str]
    says: tuple[str, ...]
    says_fr: tuple[str, ...] = ()        # when set, the case runs again with LAB_LANG=fr
    needs: tuple[str, ...] = field(default=())  # fixtures that fill {placeholders} in env


STREAM = ("stream", "--available-now")
CASES = [
    # the table
    Case("wrong-secret", STREAM, {"AWS_SECRET_ACCESS_KEY": "not-the-lab-secret-0000"},
         ("AWS_SECRET_ACCESS_KEY", "stack up"), ("AWS_SECRET_ACCESS_KEY", "n'est pas son secret", "stack up")),
    Case("bucket-missing", STREAM, {"LAB_BUCKET": "no-such-bucket-here"}, ("LAB_BUCKET", "stack up")),
    Case("topic-missing", STREAM, {"KAFKA_TOPIC": "no-such-topic-here"}, ("KAFKA_TOPIC", "produce", "stack up"),
         ("KAFKA_TOPIC", "n'a pas de topic", "produce")),
    Case("timezone-typo", STREAM, {"LAB_TIMEZONE": "Europe/Pariss"},
         ("LAB_TIMEZONE='Europe/Pariss'", "set in the environment", "LAB_TIMEZONE=Europe/Paris"),
         ("LAB_TIMEZONE='Europe/Pariss'", "défini dans l'environnement", "n'est pas un fuseau horaire",
          "LAB_TIMEZONE=Europe/Paris")),
    # added: settings of the wrong form, caught by config.load before anything starts
    Case("bucket-name", ("stack", "status"), {"LAB_BUCKET": "My_Bucket"}, ("LAB_BUCKET='My_Bucket'", "LAB_BUCKET=transactions")),
    Case("topic-name", ("produce", "--count", "1"), {"KAFKA_TOPIC": "bad topic!"},
         ("KAFKA_TOPIC='bad topic!'", "KAFKA_TOPIC=transactions")),
    Case("url-without-scheme", ("stack", "status"), {"AWS_ENDPOINT_URL": "127.0.0.1:9000"},
         ("AWS_ENDPOINT_URL='127.0.0.1:9000'", "AWS_ENDPOINT_URL=http://127.0.0.1:9000")),
    Case("url-in-host-port", ("produce", "--count", "1"), {"KAFKA_BOOTSTRAP_SERVERS": "http://127.0.0.1:9092"},
         ("KAFKA_BOOTSTRAP_SERVERS=", "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092")),
    Case("console-without-port", ("stack", "status"), {"MINIO_CONSOLE_ADDRESS": "127.0.0.1"},
         ("MINIO_CONSOLE_ADDRESS='127.0.0.1'",)),
    Case("spark-master-form", STREAM, {"SPARK_MASTER": "local[two]"}, ("SPARK_MASTER='local[two]'", "SPARK_MASTER=local[*]")),
    Case("spark-master-down", STREAM, {"SPARK_MASTER": "spark://127.0.0.1:1"}, ("SPARK_MASTER", "local[*]"),
         ("SPARK_MASTER", "ne répond pas", "local[*]")),
    Case("java-11", STREAM, {"JAVA_HOME": "{old_java}"}, ("JAVA_HOME", "Java 11", "17"), needs=("old_java",)),
    Case("jupyter-port-taken", ("jupyter",), {"JUPYTER_PORT": "{taken_port}"}, ("JUPYTER_PORT", "is taken"),
         ("JUPYTER_PORT", "est déjà pris"), needs=("taken_port",)),
    Case("jupyter-port-negative", ("jupyter",), {"JUPYTER_PORT": "-8888"}, ("JUPYTER_PORT='-8888'", "JUPYTER_PORT=8888")),
    Case("language", ("stack", "status"), {"LAB_LANG": "de"}, ("LAB_LANG='de'", "en, fr")),
    Case("secret-too-short", ("stack", "status"), {"MINIO_ROOT_PASSWORD": "short"},
         ("MINIO_ROOT_PASSWORD", "8 characters")),
    Case("unknown-access-key", STREAM, {"AWS_ACCESS_KEY_ID": "nobody-knows-me"},
         ("AWS_ACCESS_KEY_ID", "stack up")),
    # services down: the lab's classic line
    Case("kafka-down", STREAM, {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, ("Kafka", "127.0.0.1:1", "stack up"),
         ("Kafka ne répond pas", "stack up")),
    Case("minio-down", STREAM, {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, ("MinIO", "127.0.0.1:1", "stack up"),
         ("MinIO ne répond pas", "stack up")),
]


def case_env(case: Case, request) -> dict[str, str]:
    values = {name: request.getfixturevalue(name) for name in case.needs}
    return {k: v.format(**values) for k, v in case.env.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_command_stops_with_one_line_naming_the_fix(cfg, case, request):
    t0 = time.monotonic()
    out = lab(*case.args, env=case_env(case, request))
    line = one_line(out)
    assert line.startswith("error: "), line
    for needle in case.says:
        assert needle in line, f"{needle!r} not in: {line}"
    print(f"\n{case.id} ({' '.join(case.args)}, {time.monotonic() - t0:.1f} s): {line}")


FRENCH = [c for c in CASES if c.says_fr]


@pytest.mark.parametrize("case", FRENCH, ids=[c.id for c in FRENCH])
def test_the_same_line_in_french(cfg, case, request):
    out = lab(*case.args, env={**case_env(case, request), "LAB_LANG": "fr"})
    line = one_line(out)
    assert line.startswith(FR_ERROR), line
    for needle in case.says_fr:
        assert needle in line, f"{needle!r} not in: {line}"
    print(f"\n{case.id} (fr): {line}")


# --------------------------------------------------------------------------- read from .env

@pytest.fixture
def lab_copy(tmp_path):
    """Yields a copy of the package with its own `.env` (the lab's secrets and settings), so a case can
    put a bad line in a .env without touching the real one. Removed with tmp_path."""
    shutil.copytree(ROOT / "lab_utils", tmp_path / "lab_utils", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / ".env").write_text(config.ENV_FILE.read_text())
    return tmp_path


SETTING_NAMES = tuple(f.name for f in config.fields(config.LabConfig))


@pytest.mark.parametrize("lang, says", [
    ("en", ("LAB_TIMEZONE='Europe/Pariss'", "read from", ".env, line", "LAB_TIMEZONE=Europe/Paris")),
    ("fr", ("LAB_TIMEZONE='Europe/Pariss'", "lu dans", ".env, ligne", "LAB_TIMEZONE=Europe/Paris")),
])
def test_a_bad_line_in_env_file_is_named_with_its_line(lab_copy, lang, says):
    env_file = lab_copy / ".env"
    lines = env_file.read_text().splitlines() + [f"LAB_LANG={lang}", "LAB_TIMEZONE=Europe/Pariss"]
    env_file.write_text("\n".join(lines) + "\n")
    out = lab(*STREAM, cwd=lab_copy, unset=SETTING_NAMES + ("PYTHONPATH",))
    line = one_line(out)
    for needle in says:
        assert needle in line, f"{needle!r} not in: {line}"
    assert f"{env_file}, {'line' if lang == 'en' else 'ligne'} {len(lines)}" in line, line


# --------------------------------------------------------------------------- doctor

def test_doctor_reports_a_healthy_lab_as_ready(cfg):
    t0 = time.monotonic()
    out = lab("doctor")
    seconds = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    assert "❌" not in out.stdout and out.stderr == "", out.stdout + out.stderr
    for component in ("Python", "Java 17+ for Spark (JAVA_HOME)", "PySpark", "Kafka topic", "the lab's key and its bucket",
                      "time zone", "Ready"):
        assert component in out.stdout, component
    # The settings and where each came from, secrets masked.
    secret = next(line for line in out.stdout.splitlines() if line.strip().startswith("AWS_SECRET_ACCESS_KEY"))
    assert "***" in secret and cfg.AWS_SECRET_ACCESS_KEY not in out.stdout, secret
    assert "LAB_TIMEZONE" in out.stdout and "default" in out.stdout
    print(f"\ndoctor on a healthy lab: {seconds:.1f} s (command included)\n{out.stdout}")


def test_doctor_says_where_each_setting_came_from(cfg):
    out = lab("doctor", env={"LAB_TIMEZONE": "Asia/Tokyo"})
    settings = out.stdout.split("Settings", 1)[1]
    zone = next(line for line in settings.splitlines() if line.strip().startswith("LAB_TIMEZONE"))
    assert "Asia/Tokyo" in zone and "environment" in zone, zone
    if cfg.source("AWS_ACCESS_KEY_ID") == config.ENV_FILE_SOURCE:
        key = next(line for line in settings.splitlines() if line.strip().startswith("AWS_ACCESS_KEY_ID"))
        assert ".env (line " in key, key


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_doctor_shows_each_broken_case_with_its_fix(cfg, case, request):
    out = lab("doctor", env=case_env(case, request))
    line = one_line(out)
    assert "doctor" in line, line
    failed = [row for row in out.stdout.splitlines() if row.strip().startswith("❌")]
    assert failed, out.stdout
    assert any(all(needle in row for needle in case.says) for row in failed), "\n".join(failed)


def test_doctor_in_french(cfg):
    out = lab("doctor", env={"LAB_LANG": "fr", "LAB_TIMEZONE": "Europe/Pariss"})
    line = one_line(out)
    assert line.startswith(FR_ERROR) and "doctor" in line, line
    assert "Composants" in out.stdout and "n'est pas un fuseau horaire" in out.stdout, out.stdout


# --------------------------------------------------------------------------- the checkpoint of a running kernel

def test_stream_refuses_the_checkpoint_a_notebook_kernel_holds(cfg, spark, topic, run_prefix):
    """A notebook's pipeline runs (here: this test process plays the kernel); `stream` on the same
    checkpoint says who holds it and how to stop it, in one line, before its own Spark starts."""
    producer.produce(records=TransactionGenerator(seed=91).take(100), count=100, topic=topic, progress=False)
    with pipeline.start(spark, topic=topic, root=run_prefix, trigger_s=1, cfg=cfg):
        for lang, says in (("en", ("another query uses checkpoint", f"process {os.getpid()}", "pipeline.stop()")),
                           ("fr", ("une autre requête utilise le point de contrôle", f"processus {os.getpid()}",
                                   "pipeline.stop()"))):
            t0 = time.monotonic()
            out = lab("stream", "--prefix", run_prefix, env={"KAFKA_TOPIC": topic, "LAB_LANG": lang})
            line = one_line(out)
            for needle in says:
                assert needle in line, f"{needle!r} not in: {line}"
            assert time.monotonic() - t0 < 60, "refused before a Spark session started"


# --------------------------------------------------------------------------- the same lines reach a notebook

def test_require_ready_raises_the_same_lines_in_process(cfg, old_java, monkeypatch):
    """What a notebook's preflight calls: the same one-line errors, as LabErrors, for each case."""
    import dataclasses

    with pytest.raises(NotSetUp, match="AWS_SECRET_ACCESS_KEY.*stack up"):
        health.require_ready(dataclasses.replace(cfg, AWS_SECRET_ACCESS_KEY="not-the-lab-secret-0000"))
    with pytest.raises(NotSetUp, match="LAB_BUCKET.*stack up"):
        health.require_ready(dataclasses.replace(cfg, LAB_BUCKET="no-such-bucket-here"))
    with pytest.raises(NotSetUp, match="KAFKA_TOPIC.*produce"):
        health.require_ready(dataclasses.replace(cfg, KAFKA_TOPIC="no-such-topic-here"))
    with pytest.raises(LabError, match="SPARK_MASTER.*local"):
        health.require_ready(dataclasses.replace(cfg, SPARK_MASTER="spark://127.0.0.1:1"))
    with pytest.raises(ConfigError, match=r"LAB_TIMEZONE='Europe/Pariss' \(set in the environment\)"):
        config.load(env={**os.environ, "LAB_TIMEZONE": "Europe/Pariss"})
    assert health.require_ready(cfg) is cfg
    monkeypatch.setenv("JAVA_HOME", old_java)
    with pytest.raises(ToolMissing, match=rf"JAVA_HOME={old_java} gives Java 11"):
        health.require_ready(cfg)


def test_a_notebook_cell_shows_one_line_not_a_traceback(cfg):
    """In a kernel (nbclient, as nbval and the demo run notebooks), a lab error is its one line."""
    import nbformat
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from nbclient import NotebookClient

    class ThisPython(KernelSpecManager):  # a kernel of this interpreter, whatever kernelspecs are installed
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="lab", language="python")

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import dataclasses, os\nfrom lab_utils import config, storage\n"
                                  "cfg = config.load()"),
        nbformat.v4.new_code_cell("os.environ['LAB_TIMEZONE'] = 'Europe/Pariss'\nconfig.load()"),
        nbformat.v4.new_code_cell("del os.environ['LAB_TIMEZONE']\nconfig.use_language('fr')\n"
                                  "storage.read_committed('output', cfg=dataclasses.replace(cfg, "
                                  "AWS_SECRET_ACCESS_KEY='not-the-lab-secret-0000'))"),
    ])
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
    try:
        NotebookClient(nb, timeout=300, km=km, allow_errors=True, resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:  # nbclient leaves a kernel it was handed running (it owns only the ones it creates)
        if km.is_alive():
            km.shutdown_kernel(now=True)
    errors = [o for cell in nb.cells[1:] for o in cell.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ConfigError", "NotSetUp"], errors
    for error in errors:
        assert len(error.traceback) == 1 and "Traceback" not in error.traceback[0], error.traceback
    assert "LAB_TIMEZONE" in errors[0].traceback[0] and "Europe/Paris" in errors[0].traceback[0]
    assert "AWS_SECRET_ACCESS_KEY" in errors[1].traceback[0] and "n'est pas son secret" in errors[1].traceback[0]


# --------------------------------------------------------------------------- the rates file

@pytest.mark.parametrize("lines, says", [
    (["EUR,1.0", "USD,abc"], ("line 3", "'USD,abc'", "USD,0.8621")),
    (["EUR,1.0", "USD,0"], ("line 3", "'USD,0'",)),
    (["EUR,1.0", "USD,-0.86"], ("line 3",)),
    (["EUR,1.0", "USD,nan"], ("line 3",)),
    (["EUR,1.0", "USD,inf"], ("line 3",)),
    (["EUR,1.0", ",0.86"], ("line 3",)),
    (["EUR,1.0", "USD,0.86,1"], ("line 3", "'USD,0.86,1'")),
    (["EUR,1.0", "USD,0.86", "usd ,0.87"], ("line 4", "USD already has a rate on line 3")),
])
def test_the_rates_file_names_the_bad_line(tmp_path, lines, says):
    path = tmp_path / "rates.csv"
    path.write_text("devise,taux_eur\n" + "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as err:
        messages.load_rates(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    for needle in says:
        assert needle in str(err.value), str(err.value)


def test_the_rates_file_header_and_the_lab_file(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("code,rate\nEUR,1\n")
    with pytest.raises(ConfigError, match="devise,taux_eur.*git checkout"):
        messages.load_rates(path)
    assert messages.load_rates()["EUR"] == 1.0
    assert "currencies" in health.require_rates()
