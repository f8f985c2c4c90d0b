"""Fetching and building what the native stack runs, once: jars with Maven, binaries with Go.

Each artifact is rebuilt only when the file that pins it changes (a sha256 stamp next to it):
Kafka in stack/kafka/pom.xml, Spark's connectors in stack/spark/pom.xml, MinIO in
stack/minio/go.mod, Docker Compose (to validate the compose file) in stack/compose/go.mod.
Also the tools check: Java 17+, Maven, Go, with the install command when one is missing.

`make` runs these steps while pip installs (lab_utils.services.prefetch).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients.health import MIN_JAVA, java_major_of
from ..errors import SetupFailed, ToolMissing
from .processes import tail

_ = i18n.catalog(__name__, {
    "no_property": {
        "en": "{pom} has no <{name}> property: restore it from git (`git checkout {pom}`)",
        "fr": "{pom} n'a pas de propriété <{name}> : restaurez-le depuis git (`git checkout {pom}`)",
    },
    "java_missing": {
        "en": "Kafka 4 and Spark 4 need Java {minimum} or newer, found {found}: install OpenJDK 17 "
              "(e.g. `apt-get install openjdk-17-jdk-headless`) and put it on PATH",
        "fr": "Kafka 4 et Spark 4 ont besoin de Java {minimum} ou plus récent, trouvé : {found} ; installez "
              "OpenJDK 17 (par exemple `apt-get install openjdk-17-jdk-headless`) et ajoutez-le au PATH",
    },
    "java_found": {"en": "Java {major}", "fr": "Java {major}"},
    "java_not_found": {"en": "no `java` on PATH", "fr": "aucun `java` dans le PATH"},
    "tool_missing": {
        "en": "`{tool}` is not installed and is needed {why}: {install}",
        "fr": "`{tool}` n'est pas installé ; il est nécessaire {why} : {install}",
    },
    "why_maven": {
        "en": "once to fetch the jars of {pom} from Maven Central",
        "fr": "une fois, pour télécharger les jars de {pom} depuis Maven Central",
    },
    "install_maven": {
        "en": "install Maven (e.g. `apt-get install maven`)",
        "fr": "installez Maven (par exemple `apt-get install maven`)",
    },
    "why_go": {
        "en": "once to build {what} from the Go module proxy",
        "fr": "une fois, pour compiler {what} depuis le proxy de modules Go",
    },
    "install_go": {
        "en": "install Go 1.24 or newer (https://go.dev/doc/install) and put it on PATH",
        "fr": "installez Go 1.24 ou plus récent (https://go.dev/doc/install) et ajoutez-le au PATH",
    },
    "fetching_jars": {"en": "fetching the jars of {pom} with Maven", "fr": "le téléchargement des jars de {pom} avec Maven"},
    "building": {"en": "building {what} with Go", "fr": "la compilation de {what} avec Go"},
    "build_failed": {
        "en": "{what} failed (exit {code}): see {log}; last lines: {last}",
        "fr": "{what} a échoué (code de sortie {code}) : voyez {log} ; dernières lignes : {last}",
    },
})

KAFKA_POM = _config.STACK_DIR / "kafka" / "pom.xml"
SPARK_POM = _config.STACK_DIR / "spark" / "pom.xml"
MINIO_MOD = _config.STACK_DIR / "minio"
COMPOSE_MOD = _config.STACK_DIR / "compose"
MINIO_BIN = _config.BIN_DIR / "minio"
COMPOSE_BIN = _config.BIN_DIR / "docker-compose"


# --------------------------------------------------------------------------- versions

def pom_property(pom: Path, name: str) -> str:
    m = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    if not m:
        raise SetupFailed(_("no_property", pom=pom, name=name))
    return m.group(1).strip()


def versions() -> dict[str, str]:
    """The pinned versions of the stack, read from the files that pin them."""
    minio = re.search(r"github.com/minio/minio (\S+)", (MINIO_MOD / "go.mod").read_text())
    out = {
        "kafka": pom_property(KAFKA_POM, "kafka.version"),
        "minio": minio.group(1) if minio else "?",
    }
    if SPARK_POM.exists():
        out["spark"] = pom_property(SPARK_POM, "spark.version")
        out["hadoop"] = pom_property(SPARK_POM, "hadoop.version")
    return out


# --------------------------------------------------------------------------- tools

def require_java() -> str:
    """The `java` on PATH, which runs Kafka: Java 17+, or ToolMissing naming the install command.

    (The Spark driver's java comes from JAVA_HOME first: lab_utils.clients.health.require_driver_java.)
    """
    java = shutil.which("java")
    major = java_major_of(java) if java else 0
    if major < MIN_JAVA:
        found = _("java_found", major=major) if major else _("java_not_found")
        raise ToolMissing(_("java_missing", minimum=MIN_JAVA, found=found))
    return java


def require_tool(tool: str, why: str, install: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolMissing(_("tool_missing", tool=tool, why=why, install=install))
    return path


# --------------------------------------------------------------------------- fetching and building

def files_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def run_build(cmd: list[str], what: str, log: Path, cwd: Path = _config.ROOT, env: dict | None = None) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise SetupFailed(_("build_failed", what=what, code=proc.returncode, log=log, last=" | ".join(tail(log, 3))))


def ensure_jars(pom: Path, dest: Path, what: str, say: Callable[[str], None]) -> bool:
    """Run Maven for `pom` into `dest` unless `dest` already holds that pom's jars."""
    stamp = dest / ".pom-sha256"
    # The pom and any Java sources next to it (stack/spark builds our checkpoint manager).
    digest = files_digest(pom, *sorted(p for p in (pom.parent / "src").rglob("*") if p.is_file()))
    if stamp.exists() and stamp.read_text() == digest:
        return False
    mvn = require_tool("mvn", _("why_maven", pom=pom.relative_to(_config.ROOT)), _("install_maven"))
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    say(f"fetching {what} jars with Maven (first run only) ...")
    t0 = time.monotonic()
    run_build([mvn, "-q", "-B", "-f", str(pom), f"-Dlab.jars.dir={dest}", "package"],
              _("fetching_jars", pom=pom.relative_to(_config.ROOT)), _config.LOGS_DIR / f"mvn-{pom.parent.name}.log")
    stamp.write_text(digest)
    say(f"  {what} jars: {dir_mib(dest):.0f} MiB in {time.monotonic() - t0:.0f} s -> {dest}")
    return True


def ensure_kafka_jars(say: Callable[[str], None] = print) -> bool:
    return ensure_jars(KAFKA_POM, _config.KAFKA_JARS, "Kafka broker", say)


def ensure_spark_jars(say: Callable[[str], None] = print) -> bool:
    return ensure_jars(SPARK_POM, _config.SPARK_JARS, "Spark connector", say)


def go_build(mod_dir: Path, package: str, binary: Path, what: str, say: Callable[[str], None],
              ldflags: str = "") -> bool:
    """`go build` a tool pinned by `mod_dir`/go.mod + go.sum, unless `binary` was built from them already."""
    stamp = binary.with_name(binary.name + ".go-sum-sha256")
    digest = files_digest(mod_dir / "go.mod", mod_dir / "go.sum")
    if binary.exists() and stamp.exists() and stamp.read_text() == digest:
        return False
    go = require_tool("go", _("why_go", what=what), _("install_go"))
    binary.parent.mkdir(parents=True, exist_ok=True)
    say(f"building {what} with Go (first run only, a few minutes) ...")
    t0 = time.monotonic()
    # -trimpath: reproducible binary; the module graph is fixed by go.mod/go.sum (GOFLAGS=-mod=readonly).
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    cmd = [go, "build", "-trimpath", *(["-ldflags", ldflags] if ldflags else []), "-o", str(binary), package]
    run_build(cmd, _("building", what=what), _config.LOGS_DIR / f"go-build-{binary.name}.log", cwd=mod_dir, env=env)
    stamp.write_text(digest)
    say(f"  {what} built in {time.monotonic() - t0:.0f} s -> {binary}")
    return True


def ensure_minio_binary(say: Callable[[str], None] = print) -> bool:
    """Build MinIO from the Go module proxy at the version pinned in stack/minio/go.mod."""
    return go_build(MINIO_MOD, "github.com/minio/minio", MINIO_BIN, "MinIO", say)


def ensure_compose_binary(say: Callable[[str], None] = print) -> Path:
    """Build Docker Compose (only to validate docker-compose.yml here; no engine needed) at the
    version pinned in stack/compose/go.mod."""
    module, version = re.search(r"^\s*(github\.com/docker/compose/v\d+) (v\S+)",
                                (COMPOSE_MOD / "go.mod").read_text(), re.M).groups()
    go_build(COMPOSE_MOD, f"{module}/cmd", COMPOSE_BIN, "Docker Compose", say,
              ldflags=f"-X {module}/internal.Version={version}")
    return COMPOSE_BIN


def dir_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def fetch_and_build(steps: list[Callable[[Callable[[str], None]], object]], say: Callable[[str], None] = print) -> None:
    """Run the fetch and build steps side by side (Maven downloads while Go compiles), each a no-op
    when its artifact is already there. Waits for all of them; then raises the first failure, so
    no step is left half done behind the error."""
    with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="lab-build") as pool:
        futures = [pool.submit(step, say) for step in steps]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]

