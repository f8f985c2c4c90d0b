"""Fetching and building what the native stack runs, once: jars with Maven, binaries with Go.

Each artifact is rebuilt only when the file that pins it changes (a sha256 stamp next to it):
Kafka in stack/kafka/pom.xml, Spark's connectors in stack/spark/pom.xml, MinIO in
stack/minio/go.mod, Docker Compose (to validate the compose file) in stack/compose/go.mod.
Also the tools check: Java 17+, Maven, Go, with the install command when one is missing.
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
from ..errors import SetupFailed, ToolMissing
from .processes import tail

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
        raise SetupFailed(f"{pom} has no <{name}> property: restore it from git")
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

def java_major(java: str = "java") -> int:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except FileNotFoundError:
        return 0
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return 0
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def require_java() -> str:
    java = shutil.which("java")
    major = java_major(java) if java else 0
    if major < 17:
        found = f"Java {major}" if major else "no `java` on PATH"
        raise ToolMissing(f"Kafka 4 and Spark 4 need Java 17 or newer, found {found}: "
                          "install OpenJDK 17 (e.g. `apt-get install openjdk-17-jdk-headless`) and put it on PATH")
    return java


def require_tool(tool: str, why: str, install: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolMissing(f"`{tool}` is not installed and is needed {why}: {install}")
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
        raise SetupFailed(f"{what} failed (exit {proc.returncode}): see {log}; "
                          f"last lines: {' | '.join(tail(log, 3))}")


def ensure_jars(pom: Path, dest: Path, what: str, say: Callable[[str], None]) -> bool:
    """Run Maven for `pom` into `dest` unless `dest` already holds that pom's jars."""
    stamp = dest / ".pom-sha256"
    # The pom and any Java sources next to it (stack/spark builds our checkpoint manager).
    digest = files_digest(pom, *sorted(p for p in (pom.parent / "src").rglob("*") if p.is_file()))
    if stamp.exists() and stamp.read_text() == digest:
        return False
    mvn = require_tool("mvn", f"once to fetch the {what} jars from Maven Central",
                   "install Maven (e.g. `apt-get install maven`)")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    say(f"fetching {what} jars with Maven (first run only) ...")
    t0 = time.monotonic()
    run_build([mvn, "-q", "-B", "-f", str(pom), f"-Dlab.jars.dir={dest}", "package"],
               f"fetching the {what} jars", _config.LOGS_DIR / f"mvn-{pom.parent.name}.log")
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
    go = require_tool("go", f"once to build {what} from the Go module proxy",
                  "install Go 1.24 or newer (https://go.dev/doc/install) and put it on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    say(f"building {what} with Go (first run only, a few minutes) ...")
    t0 = time.monotonic()
    # -trimpath: reproducible binary; the module graph is fixed by go.mod/go.sum (GOFLAGS=-mod=readonly).
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    cmd = [go, "build", "-trimpath", *(["-ldflags", ldflags] if ldflags else []), "-o", str(binary), package]
    run_build(cmd, f"building {what}", _config.LOGS_DIR / f"go-build-{binary.name}.log", cwd=mod_dir, env=env)
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
