"""Is the lab ready to work? Checks that fail fast, each in one line naming the setting or the command.

    from lab_utils.clients import health
    cfg = health.require_ready()     # everything `stream` and a notebook's preflight need, or one LabError
    health.require_services(cfg)     # Kafka and MinIO answer
    health.require_topic(cfg)        # KAFKA_TOPIC exists
    health.require_bucket(cfg)       # the lab's key is valid and may use LAB_BUCKET
    health.require_driver_java()     # JAVA_HOME (or PATH) gives the Spark driver Java 17+
    health.require_spark_master(cfg) # a spark:// or k8s:// master answers
    health.require_rates()           # data/exchange_rates.csv: every line a code and a rate > 0

Each `require_*` returns a short text saying what it found (the `doctor` command and the
environment table show it next to a ✅) or raises a LabError whose text is the fix (shown next to
a ❌, or as the command line's one line). Checking first, rather than translating a late failure,
means nothing has started when the student reads the line: no query has committed half a batch,
no JVM has printed its warnings.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

from .. import config as _config
from .. import i18n, messages
from ..errors import NotSetUp, ServiceDown, ToolMissing
from .kafka import kafka_down_message, kafka_ready, list_topics, port_open, topic_missing_message
from .storage import minio_down_message, minio_ready, require_bucket

# Spark 4 and Kafka 4 run on Java 17 or newer.
MIN_JAVA = 17
# A Debian/Ubuntu JDK 17's home, as an example in the messages (the path differs per system).
JDK_EXAMPLE = "/usr/lib/jvm/java-17-openjdk-amd64"

_ = i18n.catalog(__name__, {
    "kafka_ok": {"en": "Kafka answers at {address}", "fr": "Kafka répond à l'adresse {address}"},
    "minio_ok": {"en": "MinIO answers at {address}", "fr": "MinIO répond à l'adresse {address}"},
    "topic_ok": {"en": "topic {topic} exists", "fr": "le topic {topic} existe"},
    "rates_ok": {"en": "{count} currencies in {path}", "fr": "{count} devises dans {path}"},
    "java_old_home": {
        "en": "the Spark driver needs Java {minimum} or newer, but JAVA_HOME={home} gives Java {major}: point "
              "JAVA_HOME at a JDK {minimum}+ (e.g. `export JAVA_HOME={example}`), or unset it to use the `java` on PATH",
        "fr": "le driver Spark a besoin de Java {minimum} ou plus récent, mais JAVA_HOME={home} donne Java {major} : "
              "faites pointer JAVA_HOME vers un JDK {minimum}+ (par exemple `export JAVA_HOME={example}`), ou "
              "retirez-le pour utiliser le `java` du PATH",
    },
    "java_none_home": {
        "en": "JAVA_HOME={home} holds no bin/java, so the Spark driver cannot start: point JAVA_HOME at a JDK "
              "{minimum}+ (e.g. `export JAVA_HOME={example}`), or unset it to use the `java` on PATH",
        "fr": "JAVA_HOME={home} ne contient pas de bin/java, le driver Spark ne peut pas démarrer : faites pointer "
              "JAVA_HOME vers un JDK {minimum}+ (par exemple `export JAVA_HOME={example}`), ou retirez-le pour "
              "utiliser le `java` du PATH",
    },
    "java_old_path": {
        "en": "the Spark driver needs Java {minimum} or newer, but the `java` on PATH ({java}) is Java {major}: "
              "install OpenJDK {minimum} (e.g. `apt-get install openjdk-17-jdk-headless`) and put it first on PATH, "
              "or set JAVA_HOME to it",
        "fr": "le driver Spark a besoin de Java {minimum} ou plus récent, mais le `java` du PATH ({java}) est "
              "Java {major} : installez OpenJDK {minimum} (par exemple `apt-get install openjdk-17-jdk-headless`) "
              "et placez-le en tête du PATH, ou faites pointer JAVA_HOME vers lui",
    },
    "java_none": {
        "en": "the Spark driver needs Java {minimum} or newer and finds none (no JAVA_HOME, no `java` on PATH): "
              "install OpenJDK {minimum} (e.g. `apt-get install openjdk-17-jdk-headless`) and put it on PATH",
        "fr": "le driver Spark a besoin de Java {minimum} ou plus récent et n'en trouve aucun (ni JAVA_HOME, ni "
              "`java` dans le PATH) : installez OpenJDK {minimum} (par exemple "
              "`apt-get install openjdk-17-jdk-headless`) et ajoutez-le au PATH",
    },
    "master_down": {
        "en": "the Spark master {master} (SPARK_MASTER, {where}) does not answer: start the lab's cluster "
              "(`python -m lab_utils stack up --spark-workers 2`, or with Docker Compose "
              "`docker compose --profile spark-cluster up -d`), or set SPARK_MASTER=local[*] to run Spark in "
              "this process",
        "fr": "le maître Spark {master} (SPARK_MASTER, {where}) ne répond pas : démarrez le cluster du lab "
              "(`python -m lab_utils stack up --spark-workers 2`, ou avec Docker Compose "
              "`docker compose --profile spark-cluster up -d`), ou choisissez SPARK_MASTER=local[*] pour exécuter "
              "Spark dans ce processus",
    },
    "master_ok": {"en": "{master} answers", "fr": "{master} répond"},
    "master_local": {"en": "{master}: Spark runs in this process", "fr": "{master} : Spark s'exécute dans ce processus"},
    "master_unchecked": {"en": "{master}: not checked here", "fr": "{master} : non vérifié ici"},
})


# --------------------------------------------------------------------------- services

def require_kafka(cfg: _config.LabConfig) -> str:
    """Kafka answers a metadata request; ServiceDown naming `stack up` when it does not."""
    if not kafka_ready(cfg):
        raise ServiceDown(kafka_down_message(cfg))
    return _("kafka_ok", address=cfg.KAFKA_BOOTSTRAP_SERVERS)


def require_minio(cfg: _config.LabConfig) -> str:
    """MinIO answers its liveness probe; ServiceDown naming `stack up` when it does not."""
    if not minio_ready(cfg):
        raise ServiceDown(minio_down_message(cfg))
    return _("minio_ok", address=cfg.AWS_ENDPOINT_URL)


def require_services(cfg: _config.LabConfig | None = None) -> _config.LabConfig:
    """The configuration, once Kafka and MinIO answer; ServiceDown naming the fix when one does not."""
    cfg = cfg or _config.load()
    require_kafka(cfg)
    require_minio(cfg)
    return cfg


def require_topic(cfg: _config.LabConfig, topic: str | None = None) -> str:
    """The topic (KAFKA_TOPIC by default) exists; NotSetUp naming KAFKA_TOPIC, `produce` and `stack up` if not.

    The broker does not create topics on first use (auto.create.topics.enable=false), so a typo in
    KAFKA_TOPIC would otherwise surface as Spark's UnknownTopicOrPartitionException mid-query.
    """
    topic = topic or cfg.KAFKA_TOPIC
    if topic not in list_topics(cfg):
        raise NotSetUp(topic_missing_message(cfg, topic))
    return _("topic_ok", topic=topic)


# --------------------------------------------------------------------------- the driver's Java

def driver_java() -> Path | None:
    """The java that pyspark's launcher runs: $JAVA_HOME/bin/java, else the first on PATH (None: none)."""
    home = _config.java_home()
    if home:
        java = Path(home, "bin", "java")
        return java.resolve() if java.exists() else None
    found = shutil.which("java")
    return Path(found).resolve() if found else None


def java_major(java: str | Path = "java") -> int:
    """The major version `java -version` reports (8 for "1.8.0", 17 for "17.0.2"); 0 when it cannot tell."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return 0
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


@functools.lru_cache(maxsize=8)
def _java_major_cached(java: str, mtime_ns: int) -> int:
    return java_major(java)


def java_major_of(java: str | Path) -> int:
    """java_major(), asked once per java binary (and again if the file changes): a JVM start costs a second."""
    path = Path(java).resolve()
    return _java_major_cached(str(path), path.stat().st_mtime_ns)


def require_driver_java() -> str:
    """The Spark driver's java (JAVA_HOME, else PATH) is Java 17+; ToolMissing naming JAVA_HOME or PATH if not.

    pyspark would start an older java and fail with a long launcher error (UnsupportedClassVersionError).
    """
    home = _config.java_home()
    java = driver_java()
    values = {"minimum": MIN_JAVA, "example": JDK_EXAMPLE, "home": home}
    if java is None:
        raise ToolMissing(_("java_none_home" if home else "java_none", **values))
    major = java_major_of(java)
    if major < MIN_JAVA:
        raise ToolMissing(_("java_old_home" if home else "java_old_path", java=java, major=major or "?", **values))
    return f"Java {major} ({java})"


# --------------------------------------------------------------------------- the Spark master

def master_addresses(master: str) -> list[tuple[str, int]]:
    """The host:port pairs a spark:// or k8s:// master URL names (none for local and yarn)."""
    for scheme in ("spark://", "k8s://"):
        if master.startswith(scheme):
            rest = master[len(scheme):].split("://", 1)[-1].rstrip("/")
            return _config.host_ports(rest)
    return []


def require_spark_master(cfg: _config.LabConfig) -> str:
    """A spark:// (or k8s://) master accepts connections; ServiceDown naming SPARK_MASTER if none does.

    Spark itself would retry for about a minute, then stop with "All masters are unresponsive".
    local needs nothing; yarn is found through Hadoop's own configuration, not checked here.
    """
    master = cfg.SPARK_MASTER
    if master.startswith("local"):
        return _("master_local", master=master)
    addresses = master_addresses(master)
    if not addresses:
        return _("master_unchecked", master=master)
    if not any(port_open(host, port, timeout=3) for host, port in addresses):
        raise ServiceDown(_("master_down", master=master, where=cfg.where("SPARK_MASTER")))
    return _("master_ok", master=master)


# --------------------------------------------------------------------------- data

def require_rates(path: Path | None = None) -> str:
    """The rates file parses, every rate finite and > 0, no code twice (ConfigError naming the line if not)."""
    path = path or messages.RATES_CSV
    return _("rates_ok", count=len(messages.load_rates(path)), path=path)


# --------------------------------------------------------------------------- all of it

def require_ready(cfg: _config.LabConfig | None = None, topic: str | None = None,
                  spark: bool = True) -> _config.LabConfig:
    """Everything the pipeline needs before it starts, checked in the order a student fixes it.

    The configuration (config.load: each setting's form), the rates file, Kafka and MinIO, the
    topic, the lab's key and its bucket, and with `spark` the driver's Java and the Spark master.
    Returns the configuration, or raises the first problem as one LabError naming the fix.
    What `python -m lab_utils stream` runs first, and what a notebook's preflight should call.
    """
    cfg = cfg or _config.load()
    require_rates()
    require_services(cfg)
    require_topic(cfg, topic)
    require_bucket(cfg)
    if spark:
        require_driver_java()
        require_spark_master(cfg)
    return cfg
