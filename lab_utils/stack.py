"""The native stack: Apache Kafka (KRaft) and MinIO as local processes, without Docker.

`up()` fetches what is missing (Kafka and Spark jars with Maven, MinIO built with Go),
starts the services, waits until they answer, and sets them up (bucket, the lab's S3 key and
its policy, the topic). It is idempotent. `down()` stops only the processes it started,
by the PIDs it recorded. Everything lives in the git-ignored state folder `.lab/`:

    .lab/jars/kafka/   broker jars          .lab/kafka/data/   Kafka's log dirs
    .lab/jars/spark/   Spark's extra jars   .lab/minio/data/   MinIO's objects
    .lab/bin/minio     the MinIO server     .lab/logs/         one log per service
    .lab/run/          PID files

Versions are pinned once: Kafka in stack/kafka/pom.xml, Spark's connectors in
stack/spark/pom.xml, MinIO in stack/minio/go.mod, Python packages in pyproject.toml.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import config as _config
from .errors import PortInUse, ServiceDied, ServiceDown, SetupFailed, ToolMissing

ROOT = _config.ROOT
STATE = _config.STATE_DIR
STACK_DIR = ROOT / "stack"
KAFKA_POM = STACK_DIR / "kafka" / "pom.xml"
SPARK_POM = STACK_DIR / "spark" / "pom.xml"
MINIO_MOD = STACK_DIR / "minio"
KAFKA_JARS = STATE / "jars" / "kafka"
SPARK_JARS = STATE / "jars" / "spark"
MINIO_BIN = STATE / "bin" / "minio"
COMPOSE_MOD = STACK_DIR / "compose"
COMPOSE_BIN = STATE / "bin" / "docker-compose"
LOGS = STATE / "logs"
RUN = STATE / "run"

# A broker for one student: capped heap, so Kafka + MinIO + the Spark driver fit in a laptop.
KAFKA_HEAP = ["-Xms256m", "-Xmx512m"]
KAFKA_JVM_FLAGS = ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExplicitGCInvokesConcurrent",
                   "-Djava.awt.headless=true"]
TOPIC_PARTITIONS = 3
START_TIMEOUT_S = {"kafka": 120.0, "minio": 60.0}
STOP_TIMEOUT_S = 30.0
POLICY_NAME = "lab-bucket-readwrite"
FIX_STATUS = "check `python -m lab_utils stack status`"


# --------------------------------------------------------------------------- versions

def _pom_property(pom: Path, name: str) -> str:
    m = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    if not m:
        raise SetupFailed(f"{pom} has no <{name}> property: restore it from git")
    return m.group(1).strip()


def versions() -> dict[str, str]:
    """The pinned versions of the stack, read from the files that pin them."""
    minio = re.search(r"github.com/minio/minio (\S+)", (MINIO_MOD / "go.mod").read_text())
    out = {
        "kafka": _pom_property(KAFKA_POM, "kafka.version"),
        "minio": minio.group(1) if minio else "?",
    }
    if SPARK_POM.exists():
        out["spark"] = _pom_property(SPARK_POM, "spark.version")
        out["hadoop"] = _pom_property(SPARK_POM, "hadoop.version")
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


def _require_java() -> str:
    java = shutil.which("java")
    major = java_major(java) if java else 0
    if major < 17:
        found = f"Java {major}" if major else "no `java` on PATH"
        raise ToolMissing(f"Kafka 4 and Spark 4 need Java 17 or newer, found {found}: "
                          "install OpenJDK 17 (e.g. `apt-get install openjdk-17-jdk-headless`) and put it on PATH")
    return java


def _require(tool: str, why: str, install: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolMissing(f"`{tool}` is not installed and is needed {why}: {install}")
    return path


# --------------------------------------------------------------------------- fetching and building

def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _run_build(cmd: list[str], what: str, log: Path, cwd: Path = ROOT, env: dict | None = None) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise SetupFailed(f"{what} failed (exit {proc.returncode}): see {log}; "
                          f"last lines: {' | '.join(_tail(log, 3))}")


def _ensure_jars(pom: Path, dest: Path, what: str, say: Callable[[str], None]) -> bool:
    """Run Maven for `pom` into `dest` unless `dest` already holds that pom's jars."""
    stamp = dest / ".pom-sha256"
    # The pom and any Java sources next to it (stack/spark builds our checkpoint manager).
    digest = _digest(pom, *sorted(p for p in (pom.parent / "src").rglob("*") if p.is_file()))
    if stamp.exists() and stamp.read_text() == digest:
        return False
    mvn = _require("mvn", f"once to fetch the {what} jars from Maven Central",
                   "install Maven (e.g. `apt-get install maven`)")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    say(f"fetching {what} jars with Maven (first run only) ...")
    t0 = time.monotonic()
    _run_build([mvn, "-q", "-B", "-f", str(pom), f"-Dlab.jars.dir={dest}", "package"],
               f"fetching the {what} jars", LOGS / f"mvn-{pom.parent.name}.log")
    stamp.write_text(digest)
    say(f"  {what} jars: {_dir_mib(dest):.0f} MiB in {time.monotonic() - t0:.0f} s -> {dest}")
    return True


def ensure_kafka_jars(say: Callable[[str], None] = print) -> bool:
    return _ensure_jars(KAFKA_POM, KAFKA_JARS, "Kafka broker", say)


def ensure_spark_jars(say: Callable[[str], None] = print) -> bool:
    return _ensure_jars(SPARK_POM, SPARK_JARS, "Spark connector", say)


def _go_build(mod_dir: Path, package: str, binary: Path, what: str, say: Callable[[str], None],
              ldflags: str = "") -> bool:
    """`go build` a tool pinned by `mod_dir`/go.mod + go.sum, unless `binary` was built from them already."""
    stamp = binary.with_name(binary.name + ".go-sum-sha256")
    digest = _digest(mod_dir / "go.mod", mod_dir / "go.sum")
    if binary.exists() and stamp.exists() and stamp.read_text() == digest:
        return False
    go = _require("go", f"once to build {what} from the Go module proxy",
                  "install Go 1.24 or newer (https://go.dev/doc/install) and put it on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    say(f"building {what} with Go (first run only, a few minutes) ...")
    t0 = time.monotonic()
    # -trimpath: reproducible binary; the module graph is fixed by go.mod/go.sum (GOFLAGS=-mod=readonly).
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    cmd = [go, "build", "-trimpath", *(["-ldflags", ldflags] if ldflags else []), "-o", str(binary), package]
    _run_build(cmd, f"building {what}", LOGS / f"go-build-{binary.name}.log", cwd=mod_dir, env=env)
    stamp.write_text(digest)
    say(f"  {what} built in {time.monotonic() - t0:.0f} s -> {binary}")
    return True


def ensure_minio_binary(say: Callable[[str], None] = print) -> bool:
    """Build MinIO from the Go module proxy at the version pinned in stack/minio/go.mod."""
    return _go_build(MINIO_MOD, "github.com/minio/minio", MINIO_BIN, "MinIO", say)


def ensure_compose_binary(say: Callable[[str], None] = print) -> Path:
    """Build Docker Compose (only to validate docker-compose.yml here; no engine needed) at the
    version pinned in stack/compose/go.mod."""
    module, version = re.search(r"^\s*(github\.com/docker/compose/v\d+) (v\S+)",
                                (COMPOSE_MOD / "go.mod").read_text(), re.M).groups()
    _go_build(COMPOSE_MOD, f"{module}/cmd", COMPOSE_BIN, "Docker Compose", say,
              ldflags=f"-X {module}/internal.Version={version}")
    return COMPOSE_BIN


def _dir_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# --------------------------------------------------------------------------- processes

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
        return _pid_is_ours(self.pid)

    def rss_mib(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


def _pid_is_ours(pid: int) -> bool:
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
    return str(STATE) in cmdline


def _pidfile(name: str) -> Path:
    return RUN / f"{name}.json"


def _recorded(name: str) -> Proc | None:
    try:
        data = json.loads(_pidfile(name).read_text())
    except (OSError, ValueError):
        return None
    return Proc(name=name, pid=int(data["pid"]), port=int(data["port"]), log=Path(data["log"]))


def _spawn(name: str, cmd: list[str], port: int, log: Path, env: dict | None = None) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab")
    out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} lab_utils starts {name}\n".encode())
    out.flush()
    # Own session: Ctrl-C in a notebook or terminal does not kill the services, `down` does.
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    out.close()
    proc = Proc(name=name, pid=p.pid, port=port, log=log, popen=p)
    _pidfile(name).write_text(json.dumps({"pid": p.pid, "port": port, "log": str(log), "cmd": cmd}))
    return proc


def _tail(path: Path, n: int = 15) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _check_port_free(host: str, port: int, service: str, setting: str) -> None:
    if port_open(host, port):
        raise PortInUse(f"port {host}:{port} is taken by another program, so {service} cannot start: "
                        f"stop that program (`ss -ltnp 'sport = :{port}'` shows it) or change {setting} in .env")


def _wait(what: str, proc: Proc, ready: Callable[[], bool], timeout: float) -> None:
    """Poll `ready` until it is true; fail with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    while time.monotonic() < deadline:
        if not proc.alive:
            tail = "\n    ".join(_tail(proc.log))
            raise ServiceDied(f"{what} exited during start-up; last lines of {proc.log}:\n    {tail}")
        if ready():
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise ServiceDown(f"{what} did not become ready within {timeout:.0f} s: read {proc.log}, "
                      "then `python -m lab_utils stack down` and `stack up` again")


def _stop(proc: Proc) -> bool:
    if not proc.alive:
        _pidfile(proc.name).unlink(missing_ok=True)
        return False
    os.killpg(proc.pid, signal.SIGTERM) if _is_group_leader(proc.pid) else os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while proc.alive and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.alive:
        os.kill(proc.pid, signal.SIGKILL)
        while proc.alive:
            time.sleep(0.05)
    _pidfile(proc.name).unlink(missing_ok=True)
    return True


def _files_closed(pid: int) -> bool:
    """True once `pid` holds no open file (it exited, even if not reaped yet)."""
    try:
        return not os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True


def _is_group_leader(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


# --------------------------------------------------------------------------- Kafka

KAFKA_DATA = STATE / "kafka" / "data"
KAFKA_PROPS = STATE / "kafka" / "server.properties"


def _kafka_properties(cfg: _config.LabConfig) -> str:
    host, port = cfg.kafka_host_port
    controller = port + 1  # 9093 by default (CONTRACT)
    return f"""# Generated by lab_utils.stack from the lab's configuration; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={host}:{controller}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}
advertised.listeners=PLAINTEXT://{host}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={KAFKA_DATA}
num.partitions={TOPIC_PARTITIONS}
# One broker: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Topics are created on purpose (stack up, produce), so a typo in a topic name fails loudly.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
log.retention.hours=168
"""


def _kafka_java_cmd(cfg: _config.LabConfig, main: list[str]) -> list[str]:
    return [_require_java(), *KAFKA_HEAP, *KAFKA_JVM_FLAGS,
            f"-Dlog4j2.configurationFile={STACK_DIR / 'kafka' / 'log4j2.properties'}",
            "-cp", f"{KAFKA_JARS}/*", *main]


def _format_kafka_storage(cfg: _config.LabConfig) -> None:
    """Format the KRaft log dir once; later starts reuse it, so topics survive down/up."""
    if (KAFKA_DATA / "meta.properties").exists():
        return
    KAFKA_DATA.mkdir(parents=True, exist_ok=True)
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    cmd = _kafka_java_cmd(cfg, ["kafka.tools.StorageTool", "format", "--standalone",
                                "-t", cluster_id, "-c", str(KAFKA_PROPS)])
    _run_build(cmd, "formatting Kafka's storage", LOGS / "kafka-format.log")


def kafka_ready(cfg: _config.LabConfig) -> bool:
    """True when the broker answers a metadata request."""
    host, port = cfg.kafka_host_port
    if not port_open(host, port):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError
    try:
        admin = KafkaAdminClient(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, request_timeout_ms=5000,
                                 client_id="lab-healthcheck")
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def start_kafka(cfg: _config.LabConfig) -> Proc:
    running = _recorded("kafka")
    if running and running.alive:
        return running
    host, port = cfg.kafka_host_port
    _check_port_free(host, port, "Kafka", "KAFKA_BOOTSTRAP_SERVERS")
    _check_port_free(host, port + 1, "Kafka's controller", "KAFKA_BOOTSTRAP_SERVERS")
    KAFKA_PROPS.parent.mkdir(parents=True, exist_ok=True)
    KAFKA_PROPS.write_text(_kafka_properties(cfg))
    _format_kafka_storage(cfg)
    return _spawn("kafka", _kafka_java_cmd(cfg, ["kafka.Kafka", str(KAFKA_PROPS)]), port, LOGS / "kafka.log")


# --------------------------------------------------------------------------- MinIO

MINIO_DATA = STATE / "minio" / "data"


def minio_ready(cfg: _config.LabConfig) -> bool:
    try:
        with urllib.request.urlopen(cfg.AWS_ENDPOINT_URL.rstrip("/") + "/minio/health/live", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def start_minio(cfg: _config.LabConfig) -> Proc:
    running = _recorded("minio")
    if running and running.alive:
        return running
    host, port = cfg.s3_host_port
    chost, cport = cfg.console_host_port
    _check_port_free(host, port, "MinIO", "AWS_ENDPOINT_URL")
    _check_port_free(chost, cport, "MinIO's console", "MINIO_CONSOLE_ADDRESS")
    MINIO_DATA.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(ROOT)),
        "MINIO_ROOT_USER": cfg.MINIO_ROOT_USER, "MINIO_ROOT_PASSWORD": cfg.MINIO_ROOT_PASSWORD,
        # A teaching lab phones nobody: no update checks, no call-home.
        "MINIO_UPDATE": "off", "MINIO_CALLHOME_ENABLE": "off",
    }
    cmd = [str(MINIO_BIN), "server", str(MINIO_DATA), "--address", f"{host}:{port}",
           "--console-address", f"{chost}:{cport}", "--quiet"]
    return _spawn("minio", cmd, port, LOGS / "minio.log", env=env)


def bucket_policy(bucket: str) -> dict:
    """The lab key may do anything inside LAB_BUCKET, and nothing elsewhere."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket",
                                           "s3:ListBucketMultipartUploads"],
             "Resource": [f"arn:aws:s3:::{bucket}"]},
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{bucket}/*"]},
        ],
    }


def setup_minio(cfg: _config.LabConfig) -> None:
    """Create the bucket, the lab's access key and its bucket-only policy (idempotent).

    MinIO's root account is used here and nowhere else; the lab itself uses AWS_ACCESS_KEY_ID.
    """
    from minio import Minio, MinioAdmin
    from minio.credentials import StaticProvider
    from minio.error import MinioAdminException, S3Error

    host, port = cfg.s3_host_port
    secure = cfg.AWS_ENDPOINT_URL.startswith("https")
    try:
        s3 = Minio(f"{host}:{port}", access_key=cfg.MINIO_ROOT_USER, secret_key=cfg.MINIO_ROOT_PASSWORD,
                   secure=secure)
        if not s3.bucket_exists(cfg.LAB_BUCKET):
            s3.make_bucket(cfg.LAB_BUCKET)
        admin = MinioAdmin(endpoint=f"{host}:{port}", secure=secure,
                           credentials=StaticProvider(cfg.MINIO_ROOT_USER, cfg.MINIO_ROOT_PASSWORD))
        admin.policy_add(POLICY_NAME, policy=bucket_policy(cfg.LAB_BUCKET))
        admin.user_add(cfg.AWS_ACCESS_KEY_ID, cfg.AWS_SECRET_ACCESS_KEY)
        try:
            admin.attach_policy([POLICY_NAME], user=cfg.AWS_ACCESS_KEY_ID)
        except MinioAdminException as e:
            if "already" not in str(e).lower():  # attaching twice is not an error for us
                raise
    except (S3Error, MinioAdminException) as e:
        hint = ""
        if "InvalidAccessKeyId" in str(e) or "SignatureDoesNotMatch" in str(e) or "403" in str(e):
            hint = (" (MinIO's data was created with other root credentials than MINIO_ROOT_USER/"
                    "MINIO_ROOT_PASSWORD in .env: restore the old .env, or `stack down` and delete .lab/minio)")
        raise SetupFailed(f"setting up MinIO failed: {e}{hint}") from e


# --------------------------------------------------------------------------- topic

def ensure_topic(cfg: _config.LabConfig, topic: str | None = None, partitions: int = TOPIC_PARTITIONS) -> bool:
    """Create the topic if it is missing. Returns True when it created it."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    topic = topic or cfg.KAFKA_TOPIC
    admin = _kafka_admin(cfg)
    try:
        if topic in admin.list_topics():
            return False
        try:
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        except TopicAlreadyExistsError:
            return False
        return True
    finally:
        admin.close()


def list_topics(cfg: _config.LabConfig) -> set[str]:
    admin = _kafka_admin(cfg)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def delete_topics(cfg: _config.LabConfig, topics: list[str], wait_s: float = 0) -> None:
    """Delete topics that exist; with `wait_s`, also wait (bounded) until the broker lists them no more."""
    admin = _kafka_admin(cfg)
    try:
        present = [t for t in topics if t in admin.list_topics()]
        if not present:
            return
        admin.delete_topics(present, timeout_ms=30_000)
        deadline = time.monotonic() + wait_s
        while wait_s and set(present) & set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise ServiceDown(f"Kafka did not delete {', '.join(present)} within {wait_s:.0f} s: {FIX_STATUS}")
            time.sleep(0.2)
    finally:
        admin.close()


def _kafka_admin(cfg: _config.LabConfig):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        return KafkaAdminClient(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, request_timeout_ms=15000,
                                client_id="lab-admin")
    except (KafkaError, OSError) as e:
        raise ServiceDown(kafka_down_message(cfg)) from e


def kafka_down_message(cfg: _config.LabConfig) -> str:
    return (f"Kafka is not reachable at {cfg.KAFKA_BOOTSTRAP_SERVERS}: run `make lab` or "
            f"`python -m lab_utils stack up` (or `docker compose up -d`) and {FIX_STATUS}")


def minio_down_message(cfg: _config.LabConfig) -> str:
    return (f"MinIO is not reachable at {cfg.AWS_ENDPOINT_URL}: run `make lab` or "
            f"`python -m lab_utils stack up` (or `docker compose up -d`) and {FIX_STATUS}")


def require_services(cfg: _config.LabConfig | None = None) -> _config.LabConfig:
    """Fail fast, in one line naming the fix, when Kafka or MinIO is down."""
    cfg = cfg or _config.load()
    if not kafka_ready(cfg):
        raise ServiceDown(kafka_down_message(cfg))
    if not minio_ready(cfg):
        raise ServiceDown(minio_down_message(cfg))
    return cfg


# --------------------------------------------------------------------------- one service at a time

def stop_service(name: str, kill: bool = False) -> bool:
    """Stop one service this stack started: SIGTERM (a clean stop), or SIGKILL to simulate a crash.

    Returns False if it was not running. The reliability tests use it; `up()` starts it again.
    """
    proc = _recorded(name)
    if proc is None or not proc.alive:
        return False
    if not kill:
        return _stop(proc)
    os.killpg(proc.pid, signal.SIGKILL) if _is_group_leader(proc.pid) else os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    # A killed JVM's main thread turns zombie before its other threads have exited and closed
    # its sockets: wait for the files too, or `up()` finds the port still taken.
    while proc.alive or not _files_closed(proc.pid):
        if time.monotonic() > deadline:
            raise ServiceDown(f"{name} (pid {proc.pid}) survived SIGKILL for {STOP_TIMEOUT_S:.0f} s: {FIX_STATUS}")
        time.sleep(0.05)
    _pidfile(name).unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- commands

def up(say: Callable[[str], None] = print) -> dict:
    """Fetch, build, start and set up the stack; return what runs where. Idempotent."""
    t0 = time.monotonic()
    if _config.ensure_env_file():
        say(f"wrote {_config.ENV_FILE} with fresh secrets")
    cfg = _config.load()
    _require_java()
    ensure_kafka_jars(say)
    ensure_spark_jars(say)
    ensure_minio_binary(say)
    procs = {"kafka": start_kafka(cfg), "minio": start_minio(cfg)}
    _wait("MinIO", procs["minio"], lambda: minio_ready(cfg), START_TIMEOUT_S["minio"])
    setup_minio(cfg)
    _wait("Kafka", procs["kafka"], lambda: kafka_ready(cfg), START_TIMEOUT_S["kafka"])
    ensure_topic(cfg)
    from .session import ensure_class_archive  # session imports this module

    ensure_class_archive(say)
    report = status(cfg)
    report["up_seconds"] = round(time.monotonic() - t0, 2)
    return report


def ensure_up(say: Callable[[str], None] = print) -> dict:
    """Start the native stack unless Kafka and MinIO already answer (natively or from Docker Compose).

    What a notebook calls: it never fights a compose stack for its ports.
    """
    cfg = _config.load()
    if kafka_ready(cfg) and minio_ready(cfg):
        ensure_topic(cfg)
        return status(cfg)
    return up(say)


def down(say: Callable[[str], None] = print) -> list[str]:
    """Stop the processes `up` started (by their recorded PIDs), and nothing else."""
    stopped = []
    for name in ("kafka", "minio"):
        proc = _recorded(name)
        if proc and _stop(proc):
            stopped.append(name)
            say(f"stopped {name} (pid {proc.pid})")
    return stopped


def status(cfg: _config.LabConfig | None = None) -> dict:
    """What runs where: per service its PID, address, health, memory, version and log."""
    cfg = cfg or _config.load()
    vers = versions()
    checks = {
        "kafka": (cfg.KAFKA_BOOTSTRAP_SERVERS, lambda: kafka_ready(cfg), f"Apache Kafka {vers['kafka']} (KRaft)"),
        "minio": (cfg.AWS_ENDPOINT_URL, lambda: minio_ready(cfg), f"MinIO {vers['minio']}"),
    }
    services = {}
    for name, (address, ready, version) in checks.items():
        proc = _recorded(name)
        ours = bool(proc and proc.alive)
        healthy = ready()
        services[name] = {
            "address": address,
            "healthy": healthy,
            "pid": proc.pid if ours else None,
            # a healthy service we did not start is, e.g., the Docker Compose stack
            "managed_by": "lab_utils" if ours else ("other (docker compose?)" if healthy else None),
            "rss_mib": round(proc.rss_mib(), 1) if ours else None,
            "version": version,
            "log": str(proc.log) if proc else None,
        }
    services["minio"]["console"] = f"http://{cfg.MINIO_CONSOLE_ADDRESS}"
    return {"services": services, "versions": vers}


def format_status(report: dict) -> str:
    lines = []
    for name, s in report["services"].items():
        state = "up" if s["healthy"] else "DOWN"
        who = f"pid {s['pid']}" if s["pid"] else (s["managed_by"] or "not running")
        mem = f", {s['rss_mib']:.0f} MiB" if s.get("rss_mib") else ""
        lines.append(f"{name:6} {state:5} {s['address']:24} {who}{mem}  {s['version']}")
        if name == "minio" and s["healthy"]:
            lines.append(f"{'':12} console {s['console']}")
        if s["log"]:
            lines.append(f"{'':12} log {s['log']}")
    if "up_seconds" in report:
        lines.append(f"ready in {report['up_seconds']:.1f} s")
    return "\n".join(lines)


def reset(cfg: _config.LabConfig | None = None, say: Callable[[str], None] = print) -> None:
    """Empty the topic and the bucket's output/, rejected/ and checkpoint/ together.

    Together on purpose: a checkpoint without its output (or the reverse) breaks exactly-once.
    Refuses while a pipeline runs on these checkpoints. Checkpoints go first: if MinIO fails
    half-way, what is left is an output without its checkpoint, which `pipeline.start()`
    refuses (naming this command) instead of skipping batches.
    """
    from . import checkpoint, storage

    from kafka.errors import KafkaError

    cfg = require_services(cfg)
    for sink in storage.SINKS:
        lock = checkpoint.CheckpointLock(cfg.s3a_path("checkpoint", sink), sink, cfg)
        info = lock._read()
        who = lock.holder(info) if info else None
        if who:
            raise checkpoint.CheckpointInUse(
                f"the pipeline is running ({who}, query {info.get('query')}): stop it first (Ctrl-C, or "
                "`pipeline.stop()` in its notebook), then run `python -m lab_utils stack reset` again")
    delete_topics(cfg, [cfg.KAFKA_TOPIC], wait_s=60)
    say(f"emptied topic {cfg.KAFKA_TOPIC}")
    # The broker may report the topic gone a moment before it accepts the same name again.
    deadline = time.monotonic() + 60
    while True:
        try:
            ensure_topic(cfg)
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    removed = storage.clear(cfg, ("checkpoint", "output", "rejected"))
    say(f"removed {removed} objects under s3://{cfg.LAB_BUCKET}/{{output,rejected,checkpoint}}/")
