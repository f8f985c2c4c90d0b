"""The environment table (notebook 00) and the preflight (first code cell of every notebook).

    environment(lang="fr")   # every component, ✅/❌, what was found and the fix (a pandas DataFrame)
    preflight(lang="fr")     # one ✅ line, or ServiceDown naming the fix
    docker()                 # the table's Docker row: engine, Compose, or why the lab does without

Both speak the lab's language (LAB_LANG); `lang=` sets it for this kernel first, which is what a
French notebook's first cell does.
"""

from __future__ import annotations

import html
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

from .. import config as _config
from .. import i18n
from ..clients import kafka, storage
from ..clients.health import require_services
from ..errors import ServiceDown
from ..services import java_major, versions
from .verdict import FAIL, OK, OPTIONAL, Verdict

# The table's column names, per language: the cells below are already in that language.
COLUMNS = {"en": ("Component", "Status", "Found", "Fix"),
           "fr": ("Composant", "État", "Constat", "Que faire")}
# `docker ps` on a machine whose engine is asleep can take a while to give up.
DOCKER_TIMEOUT_S = 15

_ = i18n.catalog(__name__, {
    # component names
    "python": {"en": "Python", "fr": "Python"},
    "java": {"en": "Java (JDK 17+)", "fr": "Java (JDK 17 ou plus)"},
    "pyspark": {"en": "PySpark", "fr": "PySpark"},
    "connectors": {"en": "Spark connectors (Kafka, S3A)", "fr": "Connecteurs Spark (Kafka, S3A)"},
    "broker": {"en": "Kafka broker", "fr": "Broker Kafka"},
    "topic": {"en": "Kafka topic {topic}", "fr": "Topic Kafka {topic}"},
    "minio": {"en": "MinIO (S3)", "fr": "MinIO (S3)"},
    "bucket": {"en": "Bucket {bucket}", "fr": "Compartiment (bucket) {bucket}"},
    "docker": {"en": "Docker (optional)", "fr": "Docker (facultatif)"},
    # what was found, and the fix
    "python_old": {"en": "the lab needs Python 3.10 or newer (3.11 recommended)",
                   "fr": "le lab demande Python 3.10 ou plus récent (3.11 conseillé)"},
    "java_found": {"en": "Java {major}", "fr": "Java {major}"},
    "java_missing": {"en": "no `java` on PATH", "fr": "pas de `java` dans le PATH"},
    "java_fix": {"en": "install OpenJDK 17 (`apt-get install openjdk-17-jdk-headless`) and put it on PATH",
                 "fr": "installez OpenJDK 17 (`apt-get install openjdk-17-jdk-headless`) et mettez-le dans le PATH"},
    "not_installed": {"en": "not installed", "fr": "non installé"},
    "pyspark_fix": {"en": "the lab pins Spark {want}: run `make lab` (it installs the pinned packages)",
                    "fr": "le lab fixe la version de Spark à {want} : lancez `make lab` (il installe les paquets "
                          "aux versions fixées)"},
    "jars_found": {"en": "{count} jars in .lab/jars/spark", "fr": "{count} fichiers jar dans .lab/jars/spark"},
    "jars_missing": {"en": "missing {names}", "fr": "il manque {names}"},
    "jars_fix": {"en": "run `python -m lab_utils stack up` (it fetches them once with Maven)",
                 "fr": "lancez `python -m lab_utils stack up` (il les télécharge une fois avec Maven)"},
    "nothing_answers": {"en": "nothing answers at {address}", "fr": "rien ne répond à l'adresse {address}"},
    "start_stack": {"en": "run `make lab` or `python -m lab_utils stack up` (or `docker compose up -d`)",
                    "fr": "lancez `make lab` ou `python -m lab_utils stack up` (ou `docker compose up -d`)"},
    "broker_found": {"en": "Apache Kafka {version} at {address}", "fr": "Apache Kafka {version} à l'adresse {address}"},
    "broker_down": {"en": "broker down", "fr": "broker arrêté"},
    "broker_first": {"en": "start the broker first", "fr": "démarrez d'abord le broker"},
    "exists": {"en": "exists", "fr": "existe"},
    "missing": {"en": "missing", "fr": "absent"},
    "topic_fix": {"en": "run `python -m lab_utils stack up` (it creates the topic)",
                  "fr": "lancez `python -m lab_utils stack up` (il crée le topic)"},
    "minio_found": {"en": "MinIO {version} at {address}", "fr": "MinIO {version} à l'adresse {address}"},
    "minio_down": {"en": "MinIO down", "fr": "MinIO arrêté"},
    "minio_first": {"en": "start MinIO first", "fr": "démarrez d'abord MinIO"},
    "bucket_found": {"en": "readable with the lab's key {access_key}", "fr": "lisible avec la clé du lab {access_key}"},
    "bucket_fix": {"en": "run `python -m lab_utils stack up` (it creates the bucket and the lab's key)",
                   "fr": "lancez `python -m lab_utils stack up` (il crée le compartiment et la clé du lab)"},
    "docker_absent": {"en": "not installed", "fr": "non installé"},
    "docker_absent_fix": {"en": "not needed: the native stack runs without it (`make lab`)",
                          "fr": "inutile ici : la pile native tourne sans lui (`make lab`)"},
    "docker_no_engine": {"en": "the `docker` client only: no engine answers `docker ps` ({why})",
                         "fr": "seulement le client `docker` : aucun moteur ne répond à `docker ps` ({why})"},
    "docker_no_engine_fix": {
        "en": "not needed: use the native stack (`python -m lab_utils stack up`); where Docker Engine or Docker "
              "Desktop runs, `docker compose up -d` starts the same services",
        "fr": "inutile ici : utilisez la pile native (`python -m lab_utils stack up`) ; là où Docker Engine ou "
              "Docker Desktop tourne, `docker compose up -d` démarre les mêmes services"},
    "docker_no_compose": {"en": "the engine answers, but `docker compose` is missing",
                          "fr": "le moteur répond, mais `docker compose` manque"},
    "docker_no_compose_fix": {
        "en": "install the Compose plugin (`apt-get install docker-compose-plugin`) to use `docker compose up -d`, "
              "or use the native stack",
        "fr": "installez le greffon Compose (`apt-get install docker-compose-plugin`) pour utiliser "
              "`docker compose up -d`, ou utilisez la pile native"},
    "docker_ok": {"en": "the engine answers; {compose}", "fr": "le moteur répond ; {compose}"},
    "row": {"en": "{status} {component}: {found}", "fr": "{status} {component} : {found}"},
    # the preflight
    "no_topic": {"en": "topic {topic} does not exist: run `python -m lab_utils stack up` (it creates it)",
                 "fr": "le topic {topic} n'existe pas : lancez `python -m lab_utils stack up` (il le crée)"},
    "ready": {"en": "ready: Kafka {kafka} (topic {topic}), MinIO {minio} (bucket {bucket}), PySpark {pyspark}",
              "fr": "prêt : Kafka {kafka} (topic {topic}), MinIO {minio} (compartiment {bucket}), PySpark {pyspark}"},
})


@dataclass
class Component:
    """One row of the environment table, in the lab's language."""

    component: str
    status: str
    found: str
    fix: str = ""

    def __str__(self) -> str:
        line = _("row", status=self.status, component=self.component, found=self.found)
        return line + (f"\n   → {self.fix}" if self.fix else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """One row of the table, with its headers, as a notebook shows it."""
        cells = (self.component, self.status, self.found, self.fix)
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in COLUMNS[i18n.language()])
        row = "".join(f"<td style='text-align:left'>{html.escape(c)}</td>" for c in cells)
        return f"<table><tr>{head}</tr><tr>{row}</tr></table>"


def _java() -> Component:
    java = shutil.which("java")
    major = java_major(java) if java else 0
    ok = major >= 17
    return Component(_("java"), OK if ok else FAIL, _("java_found", major=major) if major else _("java_missing"),
                     "" if ok else _("java_fix"))


def _pyspark() -> Component:
    want = versions().get("spark", "?")
    try:
        import pyspark
        have = pyspark.__version__
    except ImportError:
        have = _("not_installed")
    ok = have == want
    return Component(_("pyspark"), OK if ok else FAIL, have, "" if ok else _("pyspark_fix", want=want))


def _spark_jars() -> Component:
    jars = sorted(p.name for p in _config.SPARK_JARS.glob("*.jar"))
    needed = ("spark-sql-kafka-0-10", "hadoop-aws")
    missing = [n for n in needed if not any(j.startswith(n) for j in jars)]
    return Component(_("connectors"), FAIL if missing else OK,
                     _("jars_missing", names=", ".join(missing)) if missing else _("jars_found", count=len(jars)),
                     _("jars_fix") if missing else "")


def _kafka(cfg: _config.LabConfig) -> list[Component]:
    topic = _("topic", topic=cfg.KAFKA_TOPIC)
    if not kafka.kafka_ready(cfg):
        return [Component(_("broker"), FAIL, _("nothing_answers", address=cfg.KAFKA_BOOTSTRAP_SERVERS),
                          _("start_stack")),
                Component(topic, FAIL, _("broker_down"), _("broker_first"))]
    has_topic = cfg.KAFKA_TOPIC in kafka.list_topics(cfg)
    return [Component(_("broker"), OK, _("broker_found", version=versions()["kafka"],
                                         address=cfg.KAFKA_BOOTSTRAP_SERVERS)),
            Component(topic, OK if has_topic else FAIL, _("exists") if has_topic else _("missing"),
                      "" if has_topic else _("topic_fix"))]


def _minio(cfg: _config.LabConfig) -> list[Component]:
    bucket_name = _("bucket", bucket=cfg.LAB_BUCKET)
    if not storage.minio_ready(cfg):
        return [Component(_("minio"), FAIL, _("nothing_answers", address=cfg.AWS_ENDPOINT_URL), _("start_stack")),
                Component(bucket_name, FAIL, _("minio_down"), _("minio_first"))]
    try:
        storage.filesystem(cfg).ls(cfg.LAB_BUCKET, refresh=True)
        bucket = Component(bucket_name, OK, _("bucket_found", access_key=cfg.AWS_ACCESS_KEY_ID))
    except Exception as e:  # noqa: BLE001 - shown in the table with its fix
        bucket = Component(bucket_name, FAIL, f"{type(e).__name__}: {e}"[:120], _("bucket_fix"))
    return [Component(_("minio"), OK, _("minio_found", version=versions()["minio"], address=cfg.AWS_ENDPOINT_URL)),
            bucket]


def _run(*command: str) -> tuple[bool, str]:
    """(exit status 0, first line of its output) for a short command; (False, why) when it cannot run."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, type(e).__name__
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, (lines[0][:100] if lines else f"exit {done.returncode}")


def docker() -> Component:
    """The Docker row: an engine with Compose (✅), or why the lab does without it (➖), never ❌.

    Docker is the seed's way (`docker compose up -d`, notebook 01); the native stack is the other."""
    client = shutil.which("docker")
    if not client:
        return Component(_("docker"), OPTIONAL, _("docker_absent"), _("docker_absent_fix"))
    engine, said = _run(client, "ps")
    if not engine:
        return Component(_("docker"), OPTIONAL, _("docker_no_engine", why=said), _("docker_no_engine_fix"))
    compose, version = _run(client, "compose", "version")
    if not compose:
        return Component(_("docker"), OPTIONAL, _("docker_no_compose"), _("docker_no_compose_fix"))
    return Component(_("docker"), OK, _("docker_ok", compose=version))


def environment(cfg: _config.LabConfig | None = None, lang: str | None = None):
    """Every component the lab needs, as a pandas DataFrame in the lab's language: component, status
    (✅ ❌ ➖), what was found, and the fix for each ❌. `lang` ("fr", "en") sets this kernel's language first."""
    import pandas as pd

    if lang is not None:
        _config.use_language(lang)
    cfg = cfg or _config.load()
    py_ok = sys.version_info[:2] >= (3, 10)
    rows = [Component(_("python"), OK if py_ok else FAIL, platform.python_version(), "" if py_ok else _("python_old")),
            _java(), _pyspark(), _spark_jars(), *_kafka(cfg), *_minio(cfg), docker()]
    return pd.DataFrame([vars(c) for c in rows], columns=list(vars(rows[0]))).set_axis(
        list(COLUMNS[i18n.language()]), axis=1)


def preflight(cfg: _config.LabConfig | None = None, lang: str | None = None) -> Verdict:
    """The first code cell of a lesson: `lang` ("fr", "en") sets this kernel's language, then Kafka, its
    topic and MinIO must answer, or ServiceDown says in one line what to run.

    Returns a one-line ✅ saying what was found."""
    if lang is not None:
        _config.use_language(lang)
    cfg = require_services(cfg)
    if cfg.KAFKA_TOPIC not in kafka.list_topics(cfg):
        raise ServiceDown(_("no_topic", topic=cfg.KAFKA_TOPIC))
    import pyspark

    return Verdict(True, _("ready", kafka=cfg.KAFKA_BOOTSTRAP_SERVERS, topic=cfg.KAFKA_TOPIC,
                           minio=cfg.AWS_ENDPOINT_URL, bucket=cfg.LAB_BUCKET, pyspark=pyspark.__version__))
