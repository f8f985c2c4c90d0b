"""The lab's configuration, read in one place.

Order of precedence (docs/contract.md): the process environment, then `.env` at the repository
root, then the defaults below. Nothing else in the lab reads the environment: notebooks,
tests and scripts all call `load()` (or use `lab_utils.config.load()` indirectly).

`.env` is git-ignored. When it is missing, `ensure_env_file()` writes one with freshly
generated secrets, so no two installations share a password and none uses `minioadmin`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields
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
MINIO_DATA = STATE_DIR / "minio" / "data"
CLASS_ARCHIVE_DIR = STATE_DIR / "cds"        # the Spark driver's class-data-sharing archive
LOGS_DIR = STATE_DIR / "logs"
RUN_DIR = STATE_DIR / "run"                  # PID files of the services `stack up` started

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
}
LANGUAGES = i18n.LANGUAGES

# Secrets have no default: they come from `.env` (generated) or the environment.
SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "JUPYTER_TOKEN")


@dataclass(frozen=True)
class LabConfig:
    """Every setting of the lab, with the names of docs/contract.md."""

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

    # Derived values, so that no caller parses URLs of its own.
    @property
    def kafka_host_port(self) -> tuple[str, int]:
        first = self.KAFKA_BOOTSTRAP_SERVERS.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def s3_host_port(self) -> tuple[str, int]:
        url = urlparse(self.AWS_ENDPOINT_URL)
        return url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)

    @property
    def console_host_port(self) -> tuple[str, int]:
        host, _, port = self.MINIO_CONSOLE_ADDRESS.rpartition(":")
        return host or "127.0.0.1", int(port)

    def chargebacks_topic(self, topic: str | None = None) -> str:
        """Where the labels of `topic`'s payments arrive (default KAFKA_TOPIC): `<topic>-chargebacks`.

        Derived, not a setting of its own, so that every topic (a test's too) has its own."""
        return f"{topic or self.KAFKA_TOPIC}-chargebacks"

    def s3a_path(self, *parts: str) -> str:
        """`s3a://LAB_BUCKET/<parts>` for Spark."""
        return "/".join([f"s3a://{self.LAB_BUCKET}", *[p.strip("/") for p in parts if p.strip("/")]])

    def s3_path(self, *parts: str) -> str:
        """`LAB_BUCKET/<parts>` for s3fs / pyarrow."""
        return "/".join([self.LAB_BUCKET, *[p.strip("/") for p in parts if p.strip("/")]])

    def redacted(self) -> dict[str, str]:
        """The settings with secrets masked, for display in notebooks and reports."""
        return {f.name: ("***" if f.name in SECRETS and f.name != "AWS_ACCESS_KEY_ID" else getattr(self, f.name))
                for f in fields(self)}


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """Parse a dotenv file: KEY=VALUE lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
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
            raise ConfigError(f"{path}:{n}: expected KEY=VALUE, got {line!r}: fix or delete that line")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


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
        raise ConfigError(f"LAB_LANG must be one of {', '.join(LANGUAGES)}, got {lang!r}: e.g. use_language(\"fr\")")
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


def load(env: dict[str, str] | None = None, env_file: Path = ENV_FILE) -> LabConfig:
    """The configuration: environment, then `.env`, then defaults.

    Raises ConfigError naming the fix when a secret is missing.
    """
    environ = os.environ if env is None else env
    from_file = read_env_file(env_file)
    values: dict[str, str] = {}
    for f in fields(LabConfig):
        name = f.name
        if environ.get(name):
            values[name] = environ[name]
        elif from_file.get(name):
            values[name] = from_file[name]
        elif name in DEFAULTS:
            values[name] = DEFAULTS[name]
        else:
            raise ConfigError(
                f"{name} is not set (not in the environment nor in {env_file}): "
                "run `python -m lab_utils stack up` once to generate .env, or set it yourself"
            )
    if _chosen_language:
        values["LAB_LANG"] = _chosen_language
    if values["LAB_LANG"] not in LANGUAGES:
        raise ConfigError(f"LAB_LANG={values['LAB_LANG']!r} is not a language of the lab: use one of "
                          f"{', '.join(LANGUAGES)}, e.g. LAB_LANG=fr")
    return LabConfig(**values)
