"""Monitoring of the native stack (issue 17): Prometheus, and the metrics Kafka and MinIO expose to it.

With LAB_MONITORING=true (or `stack up --monitoring`), `stack up` also
- fetches the JMX exporter's Java agent with Maven (stack/monitoring/pom.xml) and builds Prometheus
  with its web UI, and promtool, with Go and npm (stack/prometheus/build.sh), once, side by side
  with the other fetches and builds;
- starts the broker with the agent (its metrics on KAFKA_METRICS_ADDRESS) and MinIO with its
  metrics readable without a token (MinIO listens on 127.0.0.1 only);
- starts Prometheus on PROMETHEUS_URL's address with stack/monitoring/prometheus.yml rendered for
  this machine, the rules of stack/monitoring/rules/, its data in .lab/prometheus/data.
The producer and the Spark driver export their own metrics (lab_utils.producer,
lab_utils.pipeline.metrics) and Prometheus finds them in .lab/prometheus/targets/.
With monitoring off none of this runs: no download, no process, no setting.
"""

from __future__ import annotations

import re
import shutil
import string
import time
from pathlib import Path
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients.prometheus import clean_targets, prometheus_ready
from ..errors import SetupFailed
from .builds import ensure_jars, pom_property, require_tool, run_build
from .processes import Proc, check_port_free, recorded, spawn

_ = i18n.catalog(__name__, {
    "building": {
        "en": "building Prometheus with its web UI, and promtool (first run only, 15 to 20 minutes on 2 cores) ...",
        "fr": "construction de Prometheus avec son interface web, et de promtool (au premier lancement seulement, "
              "15 à 20 minutes sur 2 cœurs)…",
    },
    "built": {
        "en": "  Prometheus {version} built in {seconds} s -> {binary}",
        "fr": "  Prometheus {version} construit en {seconds} s -> {binary}",
    },
    "not_built": {
        "en": "building Prometheus left no up-to-date {binary} and {promtool}: read {log}, then run "
              "`python -m lab_utils stack up --monitoring` again",
        "fr": "la construction de Prometheus n'a pas laissé {binary} et {promtool} à jour : lisez {log}, puis "
              "relancez `python -m lab_utils stack up --monitoring`",
    },
    "node_why": {
        "en": "once to build Prometheus's web UI (monitoring only)",
        "fr": "une fois, pour construire l'interface web de Prometheus (supervision seulement)",
    },
    "node_install": {
        "en": "install Node.js 20.19 or newer with npm (https://nodejs.org), or leave LAB_MONITORING off",
        "fr": "installez Node.js 20.19 ou plus récent avec npm (https://nodejs.org), ou laissez LAB_MONITORING "
              "désactivé",
    },
})

MONITORING_POM = _config.MONITORING_DIR / "pom.xml"
PROMETHEUS_MOD = _config.STACK_DIR / "prometheus"
BUILD_SCRIPT = PROMETHEUS_MOD / "build.sh"
PROMETHEUS_BIN = _config.BIN_DIR / "prometheus"
PROMTOOL_BIN = _config.BIN_DIR / "promtool"
PROMETHEUS_BUILD_DIR = _config.STATE_DIR / "build" / "prometheus"
TEMPLATE = _config.MONITORING_DIR / "prometheus.yml"
RULES_DIR = _config.MONITORING_DIR / "rules"
JMX_RULES = _config.MONITORING_DIR / "kafka-jmx.yml"
PROMETHEUS_CONFIG = _config.PROMETHEUS_DIR / "prometheus.yml"
PROMETHEUS_DATA = _config.PROMETHEUS_DIR / "data"
# A laptop's lab: a week of history, at most 1 GiB of it.
PROMETHEUS_RETENTION = ["--storage.tsdb.retention.time=7d", "--storage.tsdb.retention.size=1GB"]
START_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------- versions

def versions() -> dict[str, str]:
    """The pinned versions of the monitoring pieces, read from the files that pin them."""
    module = re.search(r"github.com/prometheus/prometheus (v0\.(\d)(\d\d)\.(\d+))", (PROMETHEUS_MOD / "go.mod").read_text())
    # Prometheus 3.x publishes its Go module as v0.3XX.Y for release 3.XX.Y.
    release = f"{module.group(2)}.{int(module.group(3))}.{module.group(4)}" if module else "?"
    return {"prometheus": release, "prometheus_module": module.group(1) if module else "?",
            "jmx_exporter": pom_property(MONITORING_POM, "jmx.exporter.version")}


# --------------------------------------------------------------------------- fetching and building

def jmx_agent_jar() -> Path:
    return _config.MONITORING_JARS / f"jmx_prometheus_javaagent-{versions()['jmx_exporter']}.jar"


def ensure_jmx_agent(say: Callable[[str], None] = print) -> bool:
    """Fetch the JMX exporter's Java agent with Maven (stack/monitoring/pom.xml), once."""
    return ensure_jars(MONITORING_POM, _config.MONITORING_JARS, "JMX exporter agent", say)


def prometheus_built() -> bool:
    """True when Prometheus and promtool were built from the current pins (build.sh's stamp)."""
    stamp = PROMETHEUS_BIN.with_name(PROMETHEUS_BIN.name + ".stamp")
    return PROMETHEUS_BIN.exists() and PROMTOOL_BIN.exists() and stamp.exists() and stamp.read_text().strip() == build_inputs()


def build_inputs() -> str:
    """What build.sh stamps a build with: a digest of go.mod, go.sum, the UI patch and the script."""
    import hashlib

    h = hashlib.sha256()
    for path in (PROMETHEUS_MOD / "go.mod", PROMETHEUS_MOD / "go.sum", PROMETHEUS_MOD / "web-ui-code-highlight.patch",
                 BUILD_SCRIPT):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def ensure_prometheus(say: Callable[[str], None] = print) -> bool:
    """Build Prometheus with its web UI, and promtool, at the version of stack/prometheus/go.mod, once.

    stack/prometheus/build.sh does the work (Go module proxy + npm); its log is
    .lab/logs/prometheus-build.log. Returns True when it built them."""
    if prometheus_built():
        return False
    require_tool("go", "once to build Prometheus from the Go module proxy",
                 "install Go 1.24 or newer (https://go.dev/doc/install) and put it on PATH")
    for tool in ("node", "npm"):
        require_tool(tool, _("node_why"), _("node_install"))
    say(_("building"))
    t0 = time.monotonic()
    run_build(["bash", str(BUILD_SCRIPT), str(PROMETHEUS_BIN), str(PROMETHEUS_BUILD_DIR)], "building Prometheus",
              _config.LOGS_DIR / "prometheus-build.log")
    if not prometheus_built():
        raise SetupFailed(_("not_built", binary=PROMETHEUS_BIN, promtool=PROMTOOL_BIN,
                            log=_config.LOGS_DIR / "prometheus-build.log"))
    # The source copy and the UI's node_modules (about 1 GB) served their purpose; the Go and npm
    # caches keep a rebuild short.
    shutil.rmtree(PROMETHEUS_BUILD_DIR, ignore_errors=True)
    say(_("built", version=versions()["prometheus"], seconds=f"{time.monotonic() - t0:.0f}", binary=PROMETHEUS_BIN))
    return True


def build_steps(cfg: _config.LabConfig) -> list[Callable[[Callable[[str], None]], object]]:
    """The fetch and build steps monitoring adds to `stack up` (none when it is off)."""
    return [ensure_jmx_agent, ensure_prometheus] if cfg.monitoring else []


# --------------------------------------------------------------------------- what Kafka and MinIO get

def kafka_agent_option(cfg: _config.LabConfig) -> str:
    """The broker's -javaagent option: the JMX exporter on KAFKA_METRICS_ADDRESS, with our rules."""
    host, port = cfg.host_port(cfg.KAFKA_METRICS_ADDRESS)
    return f"-javaagent:{jmx_agent_jar()}={host}:{port}:{JMX_RULES}"


def minio_environment(cfg: _config.LabConfig) -> dict[str, str]:
    """MinIO's settings for monitoring: its metrics without a token, because MinIO (like every
    metrics endpoint of the lab) listens on 127.0.0.1 only, and the figures are not secret."""
    return {"MINIO_PROMETHEUS_AUTH_TYPE": "public"} if cfg.monitoring else {}


def exports_metrics(name: str, cfg: _config.LabConfig) -> bool:
    """Whether the running service `name` (kafka, minio) was started with its metrics on."""
    proc = recorded(name)
    if proc is None or not proc.alive:
        return False
    try:
        if name == "kafka":
            return "-javaagent:" + str(jmx_agent_jar()) in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        return b"MINIO_PROMETHEUS_AUTH_TYPE=public" in environ
    except OSError:
        return False


# --------------------------------------------------------------------------- Prometheus

def template_values(cfg: _config.LabConfig) -> dict[str, str]:
    """The template's placeholders on this machine (the compose stack's: COMPOSE_VALUES)."""
    host, port = cfg.prometheus_host_port
    s3_host, s3_port = cfg.s3_host_port
    return {
        "PROMETHEUS": f"{host}:{port}",
        "KAFKA_JMX": cfg.KAFKA_METRICS_ADDRESS,
        "MINIO": f"{s3_host}:{s3_port}",
        "RULES_DIR": str(RULES_DIR),
        "TARGETS_DIR": str(_config.PROMETHEUS_TARGETS),
    }


# The template's placeholders in the Docker Compose stack (docker-compose.monitoring.yml).
COMPOSE_VALUES = {
    "PROMETHEUS": "localhost:9090",
    "KAFKA_JMX": "kafka:9404",
    "MINIO": "minio:9000",
    "RULES_DIR": "/etc/prometheus/rules",
    "TARGETS_DIR": "/etc/prometheus/targets",
}
COMPOSE_CONFIG = _config.MONITORING_DIR / "compose" / "prometheus.yml"
_COMPOSE_HEADER = ("# GENERATED from stack/monitoring/prometheus.yml for Docker Compose (docker-compose.monitoring.yml):\n"
                   "# edit the template, then run  python -m lab_utils.services.monitoring  (a test checks it is up to date).\n")


def compose_config() -> str:
    """The Prometheus configuration of the compose stack: the template with COMPOSE_VALUES."""
    return _COMPOSE_HEADER + render_config(COMPOSE_VALUES)


def render_config(values: dict[str, str]) -> str:
    """stack/monitoring/prometheus.yml with its placeholders filled (a missing one raises KeyError)."""
    return string.Template(TEMPLATE.read_text()).substitute(values)


def start_prometheus(cfg: _config.LabConfig) -> Proc:
    running = recorded("prometheus")
    if running and running.alive:
        return running
    host, port = cfg.prometheus_host_port
    check_port_free(host, port, "Prometheus", "PROMETHEUS_URL")
    PROMETHEUS_DATA.mkdir(parents=True, exist_ok=True)
    _config.PROMETHEUS_TARGETS.mkdir(parents=True, exist_ok=True)
    clean_targets()
    PROMETHEUS_CONFIG.write_text(render_config(template_values(cfg)))
    cmd = [str(PROMETHEUS_BIN), f"--config.file={PROMETHEUS_CONFIG}", f"--storage.tsdb.path={PROMETHEUS_DATA}",
           f"--web.listen-address={host}:{port}", *PROMETHEUS_RETENTION]
    return spawn("prometheus", cmd, port, _config.LOGS_DIR / "prometheus.log")



if __name__ == "__main__":
    COMPOSE_CONFIG.write_text(compose_config())
    print(f"wrote {COMPOSE_CONFIG}")
