"""The lab's configuration, read in one place.

Order of precedence (docs/contract.md): the process environment, then `.env` at the repository
root, then the defaults below. Nothing else in the lab reads the environment: notebooks,
tests and scripts all call `load()` (or use `lab_utils.config.load()` indirectly).

`.env` is git-ignored. When it is missing, `ensure_env_file()` writes one with freshly
generated secrets, so no two installations share a password and none uses `minioadmin`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import zoneinfo
from dataclasses import InitVar, dataclass, fields
from pathlib import Path
from urllib.parse import urlparse

from . import i18n
from .errors import ConfigError

# --------------------------------------------------------------------------- paths
# Every path the lab uses, in one place: the repository's own files, then the git-ignored
# state folder where the native stack keeps what it downloads, builds and stores.
ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".env"
ENV_EXAMPLE = ROOT / ".env.example"
STACK_DIR = ROOT / "stack"            # how each service is fetched and built (poms, go.mod, log configs)
RATES_CSV = ROOT / "data" / "exchange_rates.csv"
NOTEBOOKS_DIR = ROOT / "notebooks"
SPARK_LOG4J2 = STACK_DIR / "spark" / "log4j2.properties"

STATE_DIR = ROOT / ".lab"
KAFKA_JARS = STATE_DIR / "jars" / "kafka"    # the broker (stack/kafka/pom.xml)
SPARK_JARS = STATE_DIR / "jars" / "spark"    # Spark's connectors (stack/spark/pom.xml)
BIN_DIR = STATE_DIR / "bin"                  # binaries built with Go (MinIO, Docker Compose)
KAFKA_DATA = STATE_DIR / "kafka" / "data"
KAFKA_CLUSTER_DIR = STATE_DIR / "kafka-3"    # LAB_KAFKA_BROKERS=3: node-1/, node-2/, node-3/, apart from KAFKA_DATA
SPARK_CLUSTER_DIR = STATE_DIR / "spark"      # the standalone master and workers: work/, tmp/, conf/
MINIO_DATA = STATE_DIR / "minio" / "data"
CLASS_ARCHIVE_DIR = STATE_DIR / "cds"        # the Spark driver's class-data-sharing archive
LOGS_DIR = STATE_DIR / "logs"
RUN_DIR = STATE_DIR / "run"                  # PID files of the services `stack up` started
MONITORING_JARS = STATE_DIR / "jars" / "monitoring"   # the JMX exporter agent (stack/monitoring/pom.xml)
PROMETHEUS_DIR = STATE_DIR / "prometheus"    # its rendered configuration and its data
# Where the lab's Python processes (producer, Spark driver) tell Prometheus they can be scraped
# (file-based service discovery: one JSON file per live exporter, see lab_utils.clients.prometheus).
PROMETHEUS_TARGETS = PROMETHEUS_DIR / "targets"
MONITORING_DIR = STACK_DIR / "monitoring"    # Prometheus's template, rules, the JMX rules, Grafana

DEFAULTS = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "KAFKA_TOPIC": "transactions",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    "LAB_BUCKET": "transactions",
    "LAB_TIMEZONE": "Europe/Paris",
    "SPARK_MASTER": "local[*]",
    "MINIO_CONSOLE_ADDRESS": "127.0.0.1:9001",
    "JUPYTER_PORT": "8888",
    "LAB_LANG": "en",
    # Monitoring (issue 17): off by default, so that it costs nothing; the addresses of docs/contract.md.
    "LAB_MONITORING": "false",
    "PROMETHEUS_URL": "http://127.0.0.1:9090",
    "KAFKA_METRICS_ADDRESS": "127.0.0.1:9404",
    "PRODUCER_METRICS_ADDRESS": "127.0.0.1:9101",
    "STREAM_METRICS_ADDRESS": "127.0.0.1:9102",
    "SPARK_UI_PORT": "4040",
    # Scaling out (issue 20; docs/contract.md): a Spark standalone cluster and a three-node Kafka.
    "LAB_SPARK_WORKERS": "0",
    "LAB_KAFKA_BROKERS": "1",
    "SPARK_MASTER_PORT": "7077",
    "SPARK_MASTER_WEBUI_PORT": "8080",
    "SPARK_WORKER_WEBUI_PORT": "8081",
}
# What LAB_MONITORING accepts, and what each means.
BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
LANGUAGES = i18n.LANGUAGES

# Secrets have no default: they come from `.env` (generated) or the environment.
SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "JUPYTER_TOKEN")

_ = i18n.catalog(__name__, {
    # where a setting was read (docs/contract.md: environment, then .env, then defaults)
    "from_environment": {"en": "set in the environment", "fr": "défini dans l'environnement"},
    "from_env_file": {"en": "read from {path}, line {line}", "fr": "lu dans {path}, ligne {line}"},
    "from_default": {"en": "the default", "fr": "la valeur par défaut"},
    "from_kernel": {"en": "chosen with `config.use_language()`", "fr": "choisi avec `config.use_language()`"},
    "from_process": {"en": "chosen in this process (`config.use_monitoring()` or `--monitoring`; "
                           "`config.use_settings()` or `stack up --spark-workers`/`--kafka-brokers`)",
                     "fr": "choisi dans ce processus (`config.use_monitoring()` ou `--monitoring` ; "
                           "`config.use_settings()` ou `stack up --spark-workers`/`--kafka-brokers`)"},
    "from_code": {"en": "given in code", "fr": "donné dans le code"},
    "env_file_line": {
        "en": "{path}:{line}: expected KEY=VALUE, got {text}: fix or delete that line",
        "fr": "{path}:{line} : une ligne CLÉ=VALEUR était attendue, pas {text} : corrigez ou supprimez cette ligne",
    },
    "missing": {
        "en": "{name} is not set (not in the environment nor in {env_file}): run `python -m lab_utils stack up` "
              "once to generate .env, or set it yourself",
        "fr": "{name} n'est pas défini (ni dans l'environnement ni dans {env_file}) : lancez une fois "
              "`python -m lab_utils stack up` pour générer .env, ou définissez-le vous-même",
    },
    "use_language": {
        "en": "LAB_LANG must be one of {languages}, got {value}: e.g. use_language(\"fr\")",
        "fr": "LAB_LANG doit valoir l'une de ces langues : {languages} (reçu {value}) ; par exemple use_language(\"fr\")",
    },
    # One line per bad setting: the setting, its bad value, where it was read, a good example.
    "bad_LAB_LANG": {
        "en": "{setting} ({where}) is not a language of the lab: use one of {languages}, e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une langue du lab : utilisez {languages}, par exemple {example}",
    },
    "bad_LAB_TIMEZONE": {
        "en": "{setting} ({where}) is not a time zone: use an IANA name, e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un fuseau horaire : utilisez un nom IANA, par exemple {example}",
    },
    "bad_LAB_BUCKET": {
        "en": "{setting} ({where}) is not a valid S3 bucket name (3 to 63 lowercase letters, digits, hyphens "
              "or dots, starting and ending with a letter or a digit): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un nom de compartiment (bucket) S3 valide (3 à 63 minuscules, "
              "chiffres, tirets ou points, commençant et finissant par une lettre ou un chiffre) : "
              "par exemple {example}",
    },
    "bad_KAFKA_TOPIC": {
        "en": "{setting} ({where}) is not a valid Kafka topic name (1 to 249 letters, digits, dots, underscores "
              "or hyphens): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un nom de topic Kafka valide (1 à 249 lettres, chiffres, points, "
              "tirets bas ou tirets) : par exemple {example}",
    },
    "bad_KAFKA_BOOTSTRAP_SERVERS": {
        "en": "{setting} ({where}) is not a list of HOST:PORT (port 1 to 65535, no http://): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une liste HÔTE:PORT (port de 1 à 65535, sans http://) : "
              "par exemple {example}",
    },
    "bad_AWS_ENDPOINT_URL": {
        "en": "{setting} ({where}) is not an S3 endpoint URL (http:// or https://, a host, an optional port, "
              "no path): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas l'URL d'un point d'accès S3 (http:// ou https://, un hôte, "
              "un port facultatif, sans chemin) : par exemple {example}",
    },
    "bad_MINIO_CONSOLE_ADDRESS": {
        "en": "{setting} ({where}) is not a HOST:PORT address (port 1 to 65535): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une adresse HÔTE:PORT (port de 1 à 65535) : par exemple {example}",
    },
    "bad_SPARK_MASTER": {
        "en": "{setting} ({where}) is not a Spark master URL (local, local[N], local[*], spark://HOST:PORT, yarn "
              "or k8s://HOST:PORT): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une URL de maître Spark (local, local[N], local[*], "
              "spark://HÔTE:PORT, yarn ou k8s://HÔTE:PORT) : par exemple {example}",
    },
    "too_short": {
        "en": "{name} ({where}) is {length} characters long, but MinIO needs at least {minimum} characters: set a "
              "longer one (the .env that set-up writes holds random values of 24 or more)",
        "fr": "{name} ({where}) fait {length} caractères, mais MinIO en exige au moins {minimum} : choisissez une "
              "valeur plus longue (le .env écrit à l'installation contient des valeurs aléatoires de 24 ou plus)",
    },
    "bad_LAB_MONITORING": {
        "en": "{setting} ({where}) is neither true nor false: set {example} to turn monitoring on, "
              "LAB_MONITORING=false to leave it off",
        "fr": "{setting} ({where}) ne vaut ni true ni false : mettez {example} pour activer la supervision, "
              "LAB_MONITORING=false pour la laisser éteinte",
    },
    "bad_PROMETHEUS_URL": {
        "en": "{setting} ({where}) is not an http:// or https:// URL with a host: e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une URL http:// ou https:// avec un hôte : par exemple {example}",
    },
    "bad_KAFKA_METRICS_ADDRESS": {
        "en": "{setting} ({where}) is not one HOST:PORT address (port 1 to 65535): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une adresse HÔTE:PORT (port de 1 à 65535) : par exemple {example}",
    },
    "bad_PRODUCER_METRICS_ADDRESS": {
        "en": "{setting} ({where}) is not one HOST:PORT address (port 1 to 65535): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une adresse HÔTE:PORT (port de 1 à 65535) : par exemple {example}",
    },
    "bad_STREAM_METRICS_ADDRESS": {
        "en": "{setting} ({where}) is not one HOST:PORT address (port 1 to 65535): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas une adresse HÔTE:PORT (port de 1 à 65535) : par exemple {example}",
    },
    "bad_SPARK_UI_PORT": {
        "en": "{setting} ({where}) is not a port number (a whole number from 1 to 65535): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un numéro de port (un entier de 1 à 65535) : par exemple {example}",
    },
    "unknown_setting": {
        "en": "{name} is not a setting of the lab: use one of docs/contract.md's names",
        "fr": "{name} n'est pas un réglage du lab : utilisez un des noms de docs/contract.md",
    },
    "bad_LAB_SPARK_WORKERS": {
        "en": "{setting} ({where}) is not a number of Spark workers: use 0 (Spark in the kernel) up to {most}, "
              "e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un nombre de workers Spark : utilisez 0 (Spark dans le noyau) "
              "à {most}, par exemple {example}",
    },
    "bad_LAB_KAFKA_BROKERS": {
        "en": "{setting} ({where}): the lab runs 1 or 3 Kafka brokers, e.g. {example}",
        "fr": "{setting} ({where}) : le lab fait tourner 1 ou 3 brokers Kafka, par exemple {example}",
    },
    "bad_cluster_port": {
        "en": "{setting} ({where}) is not a TCP port for a service of the lab: use a number from 1024 to 65535, "
              "e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un port TCP pour un service du lab : utilisez un nombre de 1024 à "
              "65535, par exemple {example}",
    },
    "bad_JUPYTER_PORT": {
        "en": "{setting} ({where}) is not a port number (a whole number from 1 to 65535): e.g. {example}",
        "fr": "{setting} ({where}) n'est pas un numéro de port (un entier de 1 à 65535) : par exemple {example}",
    },
})

# How each setting is checked (`check_setting`) and what a good value looks like in its error.
EXAMPLES = {
    "KAFKA_BOOTSTRAP_SERVERS": "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092",
    "KAFKA_TOPIC": "KAFKA_TOPIC=transactions",
    "AWS_ENDPOINT_URL": "AWS_ENDPOINT_URL=http://127.0.0.1:9000",
    "LAB_BUCKET": "LAB_BUCKET=transactions",
    "LAB_TIMEZONE": "LAB_TIMEZONE=Europe/Paris",
    "SPARK_MASTER": "SPARK_MASTER=local[*]",
    "MINIO_CONSOLE_ADDRESS": "MINIO_CONSOLE_ADDRESS=127.0.0.1:9001",
    "JUPYTER_PORT": "JUPYTER_PORT=8888",
    "LAB_LANG": "LAB_LANG=fr",
    "LAB_MONITORING": "LAB_MONITORING=true",
    "PROMETHEUS_URL": "PROMETHEUS_URL=http://127.0.0.1:9090",
    "KAFKA_METRICS_ADDRESS": "KAFKA_METRICS_ADDRESS=127.0.0.1:9404",
    "PRODUCER_METRICS_ADDRESS": "PRODUCER_METRICS_ADDRESS=127.0.0.1:9101",
    "STREAM_METRICS_ADDRESS": "STREAM_METRICS_ADDRESS=127.0.0.1:9102",
    "SPARK_UI_PORT": "SPARK_UI_PORT=4040",
    "LAB_SPARK_WORKERS": "LAB_SPARK_WORKERS=2",
    "LAB_KAFKA_BROKERS": "LAB_KAFKA_BROKERS=3",
    "SPARK_MASTER_PORT": "SPARK_MASTER_PORT=7077",
    "SPARK_MASTER_WEBUI_PORT": "SPARK_MASTER_WEBUI_PORT=8080",
    "SPARK_WORKER_WEBUI_PORT": "SPARK_WORKER_WEBUI_PORT=8081",
}
# Where a setting's value came from (LabConfig.source).
ENVIRONMENT, ENV_FILE_SOURCE, DEFAULT, KERNEL, PROCESS = "environment", ".env", "default", "kernel", "process"


@dataclass(frozen=True)
class LabConfig:
    """Every setting of the lab, with the names of docs/contract.md.

    `sources` (given by `load()`) says where each value was read: `source(name)` and `where(name)`.
    """

    KAFKA_BOOTSTRAP_SERVERS: str
    KAFKA_TOPIC: str
    AWS_ENDPOINT_URL: str
    AWS_ACCESS_KEY_ID: str
    AWS_SECRET_ACCESS_KEY: str
    MINIO_ROOT_USER: str
    MINIO_ROOT_PASSWORD: str
    LAB_BUCKET: str
    LAB_TIMEZONE: str
    SPARK_MASTER: str
    MINIO_CONSOLE_ADDRESS: str
    JUPYTER_PORT: str
    JUPYTER_TOKEN: str
    LAB_LANG: str
    LAB_MONITORING: str
    PROMETHEUS_URL: str
    KAFKA_METRICS_ADDRESS: str
    PRODUCER_METRICS_ADDRESS: str
    STREAM_METRICS_ADDRESS: str
    SPARK_UI_PORT: str
    LAB_SPARK_WORKERS: str
    LAB_KAFKA_BROKERS: str
    SPARK_MASTER_PORT: str
    SPARK_MASTER_WEBUI_PORT: str
    SPARK_WORKER_WEBUI_PORT: str
    # An init-only value, not a setting: `fields(LabConfig)` stays the list of settings.
    sources: InitVar[dict[str, "Source"] | None] = None

    def __post_init__(self, sources: dict[str, "Source"] | None) -> None:
        object.__setattr__(self, "_sources", dict(sources or {}))

    # Derived values, so that no caller parses URLs of its own.
    @property
    def kafka_host_port(self) -> tuple[str, int]:
        return host_ports(self.KAFKA_BOOTSTRAP_SERVERS)[0]

    @property
    def s3_host_port(self) -> tuple[str, int]:
        url = urlparse(self.AWS_ENDPOINT_URL)
        return url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)

    @property
    def console_host_port(self) -> tuple[str, int]:
        return host_ports(self.MINIO_CONSOLE_ADDRESS)[0]

    @property
    def monitoring(self) -> bool:
        """LAB_MONITORING as a boolean (load() has checked it is one)."""
        return BOOLEANS[self.LAB_MONITORING.strip().lower()]

    @property
    def prometheus_host_port(self) -> tuple[str, int]:
        url = urlparse(self.PROMETHEUS_URL)
        return url.hostname or "127.0.0.1", url.port or 80

    @staticmethod
    def host_port(address: str) -> tuple[str, int]:
        """An address such as KAFKA_METRICS_ADDRESS ("127.0.0.1:9404") as (host, port)."""
        return host_ports(address)[0]

    def chargebacks_topic(self, topic: str | None = None) -> str:
        """Where the labels of `topic`'s payments arrive (default KAFKA_TOPIC): `<topic>-chargebacks`.

        Derived, not a setting of its own, so that every topic (a test's too) has its own."""
        return f"{topic or self.KAFKA_TOPIC}-chargebacks"

    # Scaling out. Kafka node i (1, 2, 3) listens on the bootstrap port + 2 (i - 1), its controller
    # on the next port: 9092/9093, 9094/9095, 9096/9097 by default (README, "Scaling out").
    @property
    def kafka_brokers(self) -> int:
        return int(self.LAB_KAFKA_BROKERS)

    @property
    def kafka_nodes(self) -> list[tuple[int, str, int, int]]:
        """(node id, host, broker port, controller port) of each Kafka node the lab runs."""
        return self.kafka_layout(self.kafka_brokers)

    def kafka_layout(self, brokers: int) -> list[tuple[int, str, int, int]]:
        """The same for a layout of `brokers` nodes: each node takes the next two ports."""
        host, port = self.kafka_host_port
        return [(i, host, port + 2 * (i - 1), port + 2 * (i - 1) + 1) for i in range(1, brokers + 1)]

    @property
    def spark_workers(self) -> int:
        return int(self.LAB_SPARK_WORKERS)

    @property
    def spark_master_url(self) -> str:
        """The standalone master the lab starts when LAB_SPARK_WORKERS > 0 (SPARK_MASTER may name it)."""
        return f"spark://127.0.0.1:{self.SPARK_MASTER_PORT}"

    @property
    def spark_master_ui(self) -> str:
        return f"http://127.0.0.1:{self.SPARK_MASTER_WEBUI_PORT}"

    def spark_worker_ui(self, worker: int) -> str:
        """The UI of worker 1, 2, ...: SPARK_WORKER_WEBUI_PORT, then the next ports."""
        return f"http://127.0.0.1:{int(self.SPARK_WORKER_WEBUI_PORT) + worker - 1}"

    def s3a_path(self, *parts: str) -> str:
        """`s3a://LAB_BUCKET/<parts>` for Spark."""
        return "/".join([f"s3a://{self.LAB_BUCKET}", *[p.strip("/") for p in parts if p.strip("/")]])

    def s3_path(self, *parts: str) -> str:
        """`LAB_BUCKET/<parts>` for s3fs / pyarrow."""
        return "/".join([self.LAB_BUCKET, *[p.strip("/") for p in parts if p.strip("/")]])

    def redacted(self) -> dict[str, str]:
        """The settings with secrets masked, for display in notebooks and reports."""
        return {f.name: mask(f.name, getattr(self, f.name)) for f in fields(self)}

    def source(self, name: str) -> str | None:
        """Where setting `name` came from: "environment", ".env", "default", "kernel"; None when
        unknown (a LabConfig built by hand or by `dataclasses.replace`)."""
        found = self._sources.get(name)
        return found.kind if found else None

    def where(self, name: str) -> str:
        """Where setting `name` was read, as a student reads it ("read from /lab/.env, line 3")."""
        found = self._sources.get(name)
        return found.describe() if found else _("from_code")

    def setting(self, name: str) -> str:
        """`NAME='value' (where it was read)`: how a message names a setting the student should check."""
        return f"{name}={getattr(self, name)!r} ({self.where(name)})"


@dataclass(frozen=True)
class Source:
    """Where one setting's value was read: the environment, a line of `.env`, the default, the kernel."""

    kind: str
    path: Path | None = None
    line: int | None = None

    def describe(self, lang: str | None = None) -> str:
        if self.kind == ENV_FILE_SOURCE:
            return _("from_env_file", in_lang=lang, path=self.path, line=self.line)
        return _({ENVIRONMENT: "from_environment", KERNEL: "from_kernel", PROCESS: "from_process"}.get(
            self.kind, "from_default"), in_lang=lang)


@dataclass(frozen=True)
class Setting:
    """One setting as `settings()` found it: its value (None when missing), where it was read, and
    what is wrong with it (one line naming the fix) or None."""

    name: str
    value: str | None
    source: Source | None
    problem: str | None = None

    @property
    def shown(self) -> str:
        """The value for display, secrets masked."""
        return "" if self.value is None else mask(self.name, self.value)


def mask(name: str, value: str) -> str:
    """The value as reports may show it: secrets masked (the access key id is not secret, and names the key)."""
    return "***" if name in SECRETS and name != "AWS_ACCESS_KEY_ID" else value


# --------------------------------------------------------------------------- validation

# Kafka: kafka.common.internals.Topic (legal characters, at most 249, not "." nor "..").
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")
# S3 general-purpose bucket naming rules (AWS docs, "Bucket naming rules"): 3-63 characters,
# lowercase letters, digits, dots and hyphens, a letter or digit at each end, no "..", not an
# IP address, none of the reserved prefixes and suffixes. MinIO applies the same rules.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BUCKET_RESERVED = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", ".mrap", "--x-s3"))
_HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)")
_LOCAL_MASTER = re.compile(r"local(\[(\*|[1-9][0-9]*)(,[1-9][0-9]*)?\])?")
# MinIO refuses to start with a shorter root user or password, and to create a key with a shorter
# id or secret (its "access key length should be at least 3, and secret key length at least 8").
MIN_LENGTH = {"MINIO_ROOT_USER": 3, "MINIO_ROOT_PASSWORD": 8, "AWS_ACCESS_KEY_ID": 3, "AWS_SECRET_ACCESS_KEY": 8}
# zoneinfo also finds these files in the tz folder, but they are no zone names Spark's Java knows.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}


def host_ports(text: str) -> list[tuple[str, int]]:
    """`host:port[,host:port...]` as pairs; ValueError when one is not HOST:PORT with a port 1-65535."""
    pairs = []
    for item in text.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not _HOST.fullmatch(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(item)
        pairs.append((host.strip("[]"), int(port)))
    return pairs


def valid_bucket(name: str) -> bool:
    if not _BUCKET.fullmatch(name) or ".." in name:
        return False
    try:
        ipaddress.IPv4Address(name)
        return False
    except ValueError:
        pass
    prefixes, suffixes = _BUCKET_RESERVED
    return not name.startswith(prefixes) and not name.endswith(suffixes)


def valid_topic(name: str) -> bool:
    return bool(_TOPIC.fullmatch(name)) and name not in (".", "..")


def valid_zone(name: str) -> bool:
    """A real IANA time zone name (what Spark's `from_utc_timestamp` and Python's zoneinfo accept)."""
    if not name or name in _NOT_ZONES:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def valid_endpoint(url: str) -> bool:
    try:
        u = urlparse(url)
        port = u.port  # ValueError when out of range or not a number
    except ValueError:
        return False
    return (u.scheme in ("http", "https") and bool(u.hostname) and _HOST.fullmatch(u.hostname or "") is not None
            and u.path in ("", "/") and not u.query and not u.params and not u.fragment
            and (port is None or port > 0))


def valid_master(master: str) -> bool:
    if _LOCAL_MASTER.fullmatch(master) or master == "yarn":
        return True
    for scheme in ("spark://", "k8s://"):
        if master.startswith(scheme):
            rest = master[len(scheme):]
            if scheme == "k8s://":  # k8s://https://host:port, or k8s://host:port (https implied)
                rest = rest.split("://", 1)[-1].rstrip("/")
            try:
                return bool(host_ports(rest)) and (scheme == "spark://" or "," not in rest)
            except ValueError:
                return False
    return False


def valid_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


def _valid_host_ports(text: str) -> bool:
    try:
        return bool(host_ports(text))
    except ValueError:
        return False


def _valid_host_port(text: str) -> bool:
    """One HOST:PORT (an exporter's address), not a list."""
    return "," not in text and _valid_host_ports(text)


def _suggest_zone(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
    return f"LAB_TIMEZONE={close[0]}" if close else EXAMPLES["LAB_TIMEZONE"]


_VALIDATORS = {
    "KAFKA_BOOTSTRAP_SERVERS": _valid_host_ports,
    "KAFKA_TOPIC": valid_topic,
    "AWS_ENDPOINT_URL": valid_endpoint,
    "LAB_BUCKET": valid_bucket,
    "LAB_TIMEZONE": valid_zone,
    "SPARK_MASTER": valid_master,
    "MINIO_CONSOLE_ADDRESS": _valid_host_ports,
    "JUPYTER_PORT": valid_port,
    "LAB_LANG": lambda value: value in LANGUAGES,
    "LAB_MONITORING": lambda value: value.strip().lower() in BOOLEANS,
    "PROMETHEUS_URL": valid_endpoint,
    "KAFKA_METRICS_ADDRESS": _valid_host_port,
    "PRODUCER_METRICS_ADDRESS": _valid_host_port,
    "STREAM_METRICS_ADDRESS": _valid_host_port,
    "SPARK_UI_PORT": valid_port,
    "LAB_SPARK_WORKERS": lambda value: value.isdigit() and int(value) <= MAX_SPARK_WORKERS,
    "LAB_KAFKA_BROKERS": lambda value: value in ("1", "3"),
    # The cluster's own listeners: not a privileged port.
    "SPARK_MASTER_PORT": lambda value: valid_port(value) and int(value) >= 1024,
    "SPARK_MASTER_WEBUI_PORT": lambda value: valid_port(value) and int(value) >= 1024,
    "SPARK_WORKER_WEBUI_PORT": lambda value: valid_port(value) and int(value) >= 1024,
}
# Settings whose error line is shared (one text for several names).
_MESSAGES = {name: "bad_cluster_port" for name in ("SPARK_MASTER_PORT", "SPARK_MASTER_WEBUI_PORT",
                                                    "SPARK_WORKER_WEBUI_PORT")}


def check_setting(name: str, value: str, source: Source | None = None, lang: str | None = None) -> str | None:
    """What is wrong with `value` for setting `name`, as one line naming the fix (in `lang`, by default
    the lab's language); None when it is good. A secret's value is never part of the line."""
    where = source.describe(lang) if source else _("from_code", in_lang=lang)
    if len(value) < MIN_LENGTH.get(name, 0):
        return _("too_short", in_lang=lang, name=name, where=where, length=len(value), minimum=MIN_LENGTH[name])
    check = _VALIDATORS.get(name)
    if check is None or check(value):
        return None
    example = _suggest_zone(value) if name == "LAB_TIMEZONE" else EXAMPLES[name]
    return _(_MESSAGES.get(name, f"bad_{name}"), in_lang=lang, setting=f"{name}={value!r}", where=where,
             example=example, languages=", ".join(LANGUAGES), most=MAX_SPARK_WORKERS)


# --------------------------------------------------------------------------- reading

def _env_file_lines(path: Path) -> dict[str, tuple[str, int]]:
    """Parse a dotenv file: KEY=VALUE lines, `#` comments, optional quotes -> {key: (value, line number)}."""
    values: dict[str, tuple[str, int]] = {}
    if not path.exists():
        return values
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(_("env_file_line", path=path, line=n, text=repr(line)))
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = (value, n)
    return values


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """Parse a dotenv file: KEY=VALUE lines, `#` comments, optional quotes."""
    return {key: value for key, (value, _line) in _env_file_lines(path).items()}


def ensure_env_file(path: Path = ENV_FILE) -> bool:
    """Create `.env` with fresh secrets if it is missing. Returns True when it wrote one.

    Secrets are random per installation: the lab never runs with `minioadmin`.
    """
    if path.exists():
        return False
    token = secrets.token_urlsafe
    generated = {
        "MINIO_ROOT_USER": "labroot",
        "MINIO_ROOT_PASSWORD": token(24),
        "AWS_ACCESS_KEY_ID": "lab-" + secrets.token_hex(6),
        "AWS_SECRET_ACCESS_KEY": token(30),
        "JUPYTER_TOKEN": token(24),
    }
    lines = [
        "# Generated by lab_utils on first set-up. Git-ignored: keep it local.",
        "# Every other setting has a default in lab_utils/config.py; see .env.example to override one.",
    ] + [f"{k}={v}" for k, v in generated.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return True


# The language a kernel chose for itself (a French notebook's first cell): it wins over
# LAB_LANG from the environment or .env, for this process only.
_chosen_language: str | None = None


def use_language(lang: str | None) -> str | None:
    """Speak `lang` ("fr" or "en") in this process: checks, errors, the progress panel.

    None goes back to LAB_LANG. Returns the language chosen before (to put it back)."""
    global _chosen_language
    before = _chosen_language
    if lang is None:
        _chosen_language = None
        return before
    if lang not in LANGUAGES:
        raise ConfigError(_("use_language", languages=", ".join(LANGUAGES), value=repr(lang)))
    _chosen_language = lang
    return before


def language(env: dict[str, str] | None = None, env_file: Path = ENV_FILE) -> str:
    """The language of student-facing texts: the kernel's choice, then LAB_LANG (environment, .env), then "en".

    Never raises: it is asked while an error message is being written.
    """
    if _chosen_language:
        return _chosen_language
    environ = os.environ if env is None else env
    try:
        lang = environ.get("LAB_LANG") or read_env_file(env_file).get("LAB_LANG") or DEFAULTS["LAB_LANG"]
    except ConfigError:
        lang = DEFAULTS["LAB_LANG"]
    return lang if lang in LANGUAGES else DEFAULTS["LAB_LANG"]


i18n.set_language_source(language)

# Settings a process chose for itself (a lesson that scales the lab out, a test): they win over
# the environment and .env, for this process only, like a kernel's language.
_chosen_settings: dict[str, str] = {}

# Each worker runs an executor JVM of its own: more than this does not fit a laptop.
MAX_SPARK_WORKERS = 8


def use_settings(**values: object) -> dict[str, str]:
    """In this process only, `values` win over the environment and .env, e.g.
    `use_settings(LAB_KAFKA_BROKERS=3, LAB_SPARK_WORKERS=1)` (lesson 09, `stack up --kafka-brokers 3`).
    No argument: back to the environment, .env and defaults. Returns the settings chosen before (to
    put them back); ConfigError for an unknown name or an invalid value, which then changes nothing."""
    global _chosen_settings
    names = {f.name for f in fields(LabConfig)}
    for name in values:
        if name not in names:
            raise ConfigError(_("unknown_setting", name=name))
    before, chosen = _chosen_settings, {k: str(v) for k, v in values.items()}
    _chosen_settings = chosen
    try:
        load()
    except ConfigError:
        _chosen_settings = before
        raise
    return before


def _all_brokers(values: dict[str, str]) -> str:
    """With three brokers on this machine, clients bootstrap from all three (docs/contract.md), so a
    client started while one is down still finds the others. A list given explicitly stays as is."""
    servers = values["KAFKA_BOOTSTRAP_SERVERS"]
    host, _sep, port = servers.strip().rpartition(":")
    if values["LAB_KAFKA_BROKERS"] == "1" or "," in servers or host not in ("127.0.0.1", "localhost") \
            or not port.isdigit():
        return servers
    return ",".join(f"{host}:{int(port) + 2 * i}" for i in range(int(values["LAB_KAFKA_BROKERS"])))


# Monitoring chosen by a kernel for itself (notebook 06) or by a command line flag
# (`stack up --monitoring`): it wins over LAB_MONITORING, for this process only.
_chosen_monitoring: bool | None = None


def use_monitoring(on: bool | None) -> bool | None:
    """Turn monitoring on (or off) in this process, whatever LAB_MONITORING says: its Spark
    sessions and producers then export their metrics. None goes back to LAB_MONITORING.
    Returns the choice made before (to put it back)."""
    global _chosen_monitoring
    before = _chosen_monitoring
    _chosen_monitoring = None if on is None else bool(on)
    return before


def settings(env: dict[str, str] | None = None, env_file: Path = ENV_FILE) -> dict[str, Setting]:
    """Every setting with its value, where it was read and what is wrong with it (None when good).

    Never stops at a bad value (`doctor` shows them all); raises ConfigError only for a `.env`
    line it cannot parse. `load()` is this, stopping at the first problem.
    """
    environ = os.environ if env is None else env
    # The language these very settings ask for (an error about them must not depend on os.environ
    # when `env` is given).
    lang = language(environ, env_file)
    from_file = _env_file_lines(env_file)
    found: dict[str, Setting] = {}
    for f in fields(LabConfig):
        name = f.name
        if environ.get(name):
            value, source = environ[name], Source(ENVIRONMENT)
        elif from_file.get(name, ("", 0))[0]:
            value, line = from_file[name]
            source = Source(ENV_FILE_SOURCE, env_file, line)
        elif name in DEFAULTS:
            value, source = DEFAULTS[name], Source(DEFAULT)
        else:
            found[name] = Setting(name, None, None, _("missing", in_lang=lang, name=name, env_file=env_file))
            continue
        if name == "LAB_LANG" and _chosen_language:
            value, source = _chosen_language, Source(KERNEL)
        if name == "LAB_MONITORING" and _chosen_monitoring is not None:
            value, source = ("true" if _chosen_monitoring else "false"), Source(PROCESS)
        if name in _chosen_settings:
            value, source = _chosen_settings[name], Source(PROCESS)
        found[name] = Setting(name, value, source, check_setting(name, value, source, lang))
    return found


def load(env: dict[str, str] | None = None, env_file: Path = ENV_FILE) -> LabConfig:
    """The configuration: environment, then `.env`, then defaults, each value checked.

    Raises ConfigError, one line naming the setting, its bad value, where it was read and a good
    example, at the first setting that is missing or malformed (a time zone that does not exist,
    a bucket or topic name the services refuse, a URL or HOST:PORT that is not one, ...), so
    nothing starts with it.
    """
    found = settings(env, env_file)
    for s in found.values():
        if s.problem:
            raise ConfigError(s.problem)
    values = {name: s.value for name, s in found.items()}
    values["KAFKA_BOOTSTRAP_SERVERS"] = _all_brokers(values)
    return LabConfig(**values, sources={name: s.source for name, s in found.items()})


def java_home() -> str | None:
    """JAVA_HOME from the environment: the JDK pyspark's launcher runs the Spark driver with.

    Not a lab setting (not in `.env`): pyspark reads it from the process environment only.
    """
    return os.environ.get("JAVA_HOME") or None
