"""Is this machine ready for the lab? Every component checked, nothing started or changed.

    from lab_utils.services import readiness
    report = readiness.run()     # Report: rows (component, status, text), settings, seconds
    report.ready                 # no row FAIL

Each row is OK with what was found, FAIL with the one line that names the fix (the same line the
commands print and the notebooks raise: it comes from lab_utils.clients.health and
lab_utils.config), OPTIONAL (Docker, a taken Spark UI port: never blocks) or SKIPPED (it depends on
a setting or a service that already failed). `python -m lab_utils doctor` prints it; notebook
00's environment table can show the same rows.

It lives with the services because it asks what the native stack knows: the pinned versions,
the jars it fetched, the processes it started and the ports they hold.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from .. import config as _config
from .. import i18n
from ..clients import health, kafka, storage
from ..errors import ConfigError, LabError
from . import builds, processes

OK, FAIL, OPTIONAL, SKIPPED = "ok", "fail", "optional", "skipped"
# The connectors a Spark session of the lab cannot do without (stack/spark/pom.xml).
NEEDED_JARS = ("spark-sql-kafka-0-10", "hadoop-aws")

_ = i18n.catalog(__name__, {
    "source_environment": {"en": "environment", "fr": "environnement"},
    "source_env_file": {"en": ".env (line {line})", "fr": ".env (ligne {line})"},
    "source_default": {"en": "default", "fr": "par défaut"},
    "source_kernel": {"en": "use_language()", "fr": "use_language()"},
    "source_missing": {"en": "missing", "fr": "absent"},
    # components
    "python": {"en": "Python", "fr": "Python"},
    "python_fix": {
        "en": "the lab needs Python 3.11: install it, then `make setup PYTHON=python3.11`",
        "fr": "le lab a besoin de Python 3.11 : installez-le, puis `make setup PYTHON=python3.11`",
    },
    "java_kafka": {"en": "Java 17+ on PATH (Kafka)", "fr": "Java 17+ dans le PATH (Kafka)"},
    "java_spark": {"en": "Java 17+ for Spark (JAVA_HOME)", "fr": "Java 17+ pour Spark (JAVA_HOME)"},
    "pyspark": {"en": "PySpark {version} (pinned)", "fr": "PySpark {version} (version fixée)"},
    "pyspark_fix": {
        "en": "PySpark {found} is installed, the lab pins {version}: run `make setup` (it installs the pinned packages)",
        "fr": "PySpark {found} est installé, le lab fixe la version {version} : lancez `make setup` (il installe "
              "les paquets aux versions fixées)",
    },
    "not_installed": {"en": "not installed", "fr": "non installé"},
    "jars": {"en": "Spark connectors (Kafka, S3A)", "fr": "Connecteurs Spark (Kafka, S3A)"},
    "jars_ok": {"en": "{count} jars in {folder}", "fr": "{count} jars dans {folder}"},
    "jars_fix": {
        "en": "missing {missing} in {folder}: run `python -m lab_utils stack up` (it fetches them once with Maven)",
        "fr": "il manque {missing} dans {folder} : lancez `python -m lab_utils stack up` (il les télécharge une "
              "fois avec Maven)",
    },
    "kafka": {"en": "Kafka", "fr": "Kafka"},
    "topic": {"en": "Kafka topic (KAFKA_TOPIC)", "fr": "Topic Kafka (KAFKA_TOPIC)"},
    "minio": {"en": "MinIO (S3)", "fr": "MinIO (S3)"},
    "bucket": {"en": "the lab's key and its bucket", "fr": "la clé du lab et son compartiment"},
    "timezone": {"en": "time zone (LAB_TIMEZONE)", "fr": "fuseau horaire (LAB_TIMEZONE)"},
    "timezone_ok": {"en": "{zone}, UTC{offset} now", "fr": "{zone}, UTC{offset} en ce moment"},
    "rates": {"en": "exchange rates", "fr": "taux de change"},
    "master": {"en": "Spark master (SPARK_MASTER)", "fr": "maître Spark (SPARK_MASTER)"},
    "setting": {"en": "setting {name}", "fr": "réglage {name}"},
    "env_file": {"en": "the .env file", "fr": "le fichier .env"},
    "port_free": {"en": "free", "fr": "libre"},
    "port_ours": {"en": "held by the lab's {service} (pid {pid})", "fr": "tenu par le {service} du lab (pid {pid})"},
    "port_answers": {
        "en": "held by a {service} that answers (not started by lab_utils: docker compose?)",
        "fr": "tenu par un {service} qui répond (pas démarré par lab_utils : docker compose ?)",
    },
    "port_jupyter": {"en": "a JupyterLab already answers there", "fr": "un JupyterLab y répond déjà"},
    "port_spark_ui": {
        "en": "taken (a notebook's Spark session?): a new session's UI moves to the next port",
        "fr": "pris (la session Spark d'un notebook ?) : l'interface d'une nouvelle session passe au port suivant",
    },
    "what_controller": {"en": "Kafka's controller", "fr": "contrôleur de Kafka"},
    "what_console": {"en": "MinIO's console", "fr": "console de MinIO"},
    "what_spark_ui": {"en": "Spark UI", "fr": "interface de Spark"},
    "docker": {"en": "Docker (optional)", "fr": "Docker (facultatif)"},
    "docker_none": {
        "en": "not installed: not needed, the native stack runs without it",
        "fr": "non installé : inutile, la pile native fonctionne sans lui",
    },
    "docker_ok": {"en": "`docker ps` answers", "fr": "`docker ps` répond"},
    "docker_no_engine": {
        "en": "client only, no engine answers `docker ps`: not needed, use the native stack",
        "fr": "client seul, aucun moteur ne répond à `docker ps` : inutile, utilisez la pile native",
    },
    "skipped": {"en": "not checked: {reason}", "fr": "non vérifié : {reason}"},
    "fix_first": {"en": "fix {names} first", "fr": "corrigez d'abord {names}"},
    "needs_kafka": {"en": "Kafka does not answer", "fr": "Kafka ne répond pas"},
    "needs_minio": {"en": "MinIO does not answer", "fr": "MinIO ne répond pas"},
})


@dataclass
class Row:
    """One line of the report: a component, its status (OK, FAIL, OPTIONAL or SKIPPED), and what was
    found or, for FAIL, the one line naming the fix."""

    component: str
    status: str
    text: str


@dataclass
class Report:
    rows: list[Row]
    settings: dict[str, _config.Setting] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.status == FAIL]

    @property
    def ready(self) -> bool:
        return not self.failures


def _check(component: str, check: Callable[[], str]) -> Row:
    """✅ with what `check` found, or ❌ with the LabError it raised (its text names the fix)."""
    try:
        return Row(component, OK, check())
    except LabError as e:
        return Row(component, FAIL, str(e))


def _skipped(component: str, reason: str) -> Row:
    return Row(component, SKIPPED, _("skipped", reason=reason))


# --------------------------------------------------------------------------- components

def _python() -> Row:
    ok = sys.version_info[:2] == (3, 11)
    return Row(_("python"), OK if ok else FAIL, platform.python_version() if ok else _("python_fix"))


def _java_on_path() -> str:
    java = builds.require_java()
    return f"Java {health.java_major_of(java)} ({java})"


def _pyspark() -> Row:
    want = builds.versions().get("spark", "?")
    try:
        found = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        found = _("not_installed")
    ok = found == want
    return Row(_("pyspark", version=want), OK if ok else FAIL, found if ok else _("pyspark_fix", found=found, version=want))


def _jars() -> Row:
    jars = sorted(p.name for p in _config.SPARK_JARS.glob("*.jar"))
    missing = [name for name in NEEDED_JARS if not any(j.startswith(name) for j in jars)]
    if missing:
        return Row(_("jars"), FAIL, _("jars_fix", missing=", ".join(missing), folder=_config.SPARK_JARS))
    return Row(_("jars"), OK, _("jars_ok", count=len(jars), folder=_config.SPARK_JARS))


def _timezone(settings: dict[str, _config.Setting]) -> Row:
    zone = settings["LAB_TIMEZONE"]
    if zone.problem:
        return Row(_("timezone"), FAIL, zone.problem)
    offset = datetime.now(ZoneInfo(zone.value)).strftime("%z")
    return Row(_("timezone"), OK, _("timezone_ok", zone=zone.value, offset=f"{offset[:3]}:{offset[3:]}"))


def _answers_jupyter(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as r:
            return b"version" in r.read(200)
    except OSError:
        return False


def _ports(cfg: _config.LabConfig, bad: set[str]) -> list[Row]:
    """Each port the lab listens on: free, held by the lab's own service, or taken by another program."""
    rows = []
    wanted = []
    if "KAFKA_BOOTSTRAP_SERVERS" not in bad:
        host, port = cfg.kafka_host_port
        wanted += [(host, port, "kafka", "Kafka", "KAFKA_BOOTSTRAP_SERVERS", lambda: kafka.kafka_ready(cfg)),
                   (host, port + 1, "kafka", _("what_controller"), "KAFKA_BOOTSTRAP_SERVERS",
                    lambda: kafka.kafka_ready(cfg))]
    if "AWS_ENDPOINT_URL" not in bad:
        host, port = cfg.s3_host_port
        wanted.append((host, port, "minio", "MinIO", "AWS_ENDPOINT_URL", lambda: storage.minio_ready(cfg)))
    if "MINIO_CONSOLE_ADDRESS" not in bad:
        host, port = cfg.console_host_port
        wanted.append((host, port, "minio", _("what_console"), "MINIO_CONSOLE_ADDRESS", lambda: storage.minio_ready(cfg)))
    if "JUPYTER_PORT" not in bad:
        port = int(cfg.JUPYTER_PORT)
        wanted.append(("127.0.0.1", port, "jupyter", "JupyterLab", "JUPYTER_PORT", lambda: _answers_jupyter(port)))
    for host, port, service, what, setting, answers in wanted:
        component = f"port {host}:{port} ({what})"
        if not kafka.port_open(host, port):
            rows.append(Row(component, OK, _("port_free")))
            continue
        proc = processes.recorded(service)
        name = {"kafka": "Kafka", "minio": "MinIO", "jupyter": "JupyterLab"}[service]
        if proc is not None and proc.alive:
            rows.append(Row(component, OK, _("port_ours", service=name, pid=proc.pid)))
        elif service == "jupyter" and answers():
            rows.append(Row(component, OK, _("port_jupyter")))
        elif answers():
            rows.append(Row(component, OK, _("port_answers", service=name)))
        else:
            rows.append(_check(component, lambda: processes.check_port_free(host, port, name, setting) or ""))
    ui_port = int(cfg.SPARK_UI_PORT)
    ui = f"port 127.0.0.1:{ui_port} ({_('what_spark_ui')})"
    taken = kafka.port_open("127.0.0.1", ui_port)
    rows.append(Row(ui, OPTIONAL if taken else OK, _("port_spark_ui") if taken else _("port_free")))
    return rows


def _docker() -> Row:
    docker = shutil.which("docker")
    if not docker:
        return Row(_("docker"), OPTIONAL, _("docker_none"))
    try:
        engine = subprocess.run([docker, "ps"], capture_output=True, text=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        engine = False
    return Row(_("docker"), OK if engine else OPTIONAL, _("docker_ok") if engine else _("docker_no_engine"))


def _needs(settings: dict[str, _config.Setting], *names: str) -> str | None:
    """Why a check cannot run: the settings among `names` that are missing or malformed (None: it can)."""
    bad = [name for name in names if settings[name].problem]
    return _("fix_first", names=", ".join(bad)) if bad else None


def _services(settings: dict[str, _config.Setting], cfg: _config.LabConfig) -> list[Row]:
    rows = []
    why = _needs(settings, "KAFKA_BOOTSTRAP_SERVERS")
    kafka_row = _skipped(_("kafka"), why) if why else _check(_("kafka"), lambda: health.require_kafka(cfg))
    rows.append(kafka_row)
    why = _needs(settings, "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_TOPIC") or (
        None if kafka_row.status == OK else _("needs_kafka"))
    rows.append(_skipped(_("topic"), why) if why else _check(_("topic"), lambda: health.require_topic(cfg)))
    why = _needs(settings, "AWS_ENDPOINT_URL")
    minio_row = _skipped(_("minio"), why) if why else _check(_("minio"), lambda: health.require_minio(cfg))
    rows.append(minio_row)
    why = _needs(settings, "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "LAB_BUCKET") or (
        None if minio_row.status == OK else _("needs_minio"))
    rows.append(_skipped(_("bucket"), why) if why else _check(_("bucket"), lambda: storage.require_bucket(cfg)))
    why = _needs(settings, "SPARK_MASTER")
    rows.append(_skipped(_("master"), why) if why else _check(_("master"), lambda: health.require_spark_master(cfg)))
    return rows


# --------------------------------------------------------------------------- the report

def run(env: dict[str, str] | None = None, env_file=_config.ENV_FILE) -> Report:
    """Check everything, change nothing; `env`/`env_file` as for config.load (the environment and .env)."""
    t0 = time.monotonic()
    rows = [_python(), _check(_("java_kafka"), _java_on_path), _check(_("java_spark"), health.require_driver_java),
            _pyspark(), _jars()]
    try:
        settings = _config.settings(env, env_file)
    except ConfigError as e:  # a .env line that does not parse: nothing else can be read
        rows += [Row(_("env_file"), FAIL, str(e)), _check(_("rates"), health.require_rates), _docker()]
        return Report(rows, {}, time.monotonic() - t0)
    bad = {name for name, s in settings.items() if s.problem}
    rows += [Row(_("setting", name=name), FAIL, settings[name].problem) for name in settings if name in bad
             and name != "LAB_TIMEZONE"]
    rows.append(_timezone(settings))
    rows.append(_check(_("rates"), health.require_rates))
    cfg = _config.LabConfig(**{name: s.value or "" for name, s in settings.items()},
                            sources={name: s.source for name, s in settings.items() if s.source})
    rows += _services(settings, cfg)
    rows += _ports(cfg, bad)
    rows.append(_docker())
    return Report(rows, settings, time.monotonic() - t0)


def source_label(setting: _config.Setting) -> str:
    """Where a setting came from, in a word or two: environment, .env (line 7), default, missing."""
    src = setting.source
    if src is None:
        return _("source_missing")
    if src.kind == _config.ENV_FILE_SOURCE:
        return _("source_env_file", line=src.line)
    return _({_config.ENVIRONMENT: "source_environment", _config.KERNEL: "source_kernel"}.get(src.kind,
                                                                                              "source_default"))
