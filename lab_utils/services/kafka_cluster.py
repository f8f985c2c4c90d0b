"""The native Kafka as one node or three (LAB_KAFKA_BROKERS), and the switch between the two.

- One node, `kafka` (lab_utils.services.kafka_broker): broker and controller in one process,
  data in `.lab/kafka/data/`.
- Three nodes, `kafka-1` .. `kafka-3`: three KRaft processes on 127.0.0.1, each a broker and one
  of three controller voters. Node i listens on the bootstrap port + 2 (i - 1) and its
  controller on the next port (9092/9093, 9094/9095, 9096/9097 by default), data in
  `.lab/kafka-3/node-i/`. Every topic has three replicas and `min.insync.replicas=2`: a write
  acknowledged with `acks=all` is on at least two brokers, so any one broker may die.

The two layouts are two Kafka clusters with their own data; they share the ports, so one runs at
a time. `start_kafka_nodes()` stops the layout that is not configured (its data stays on disk and
comes back when it is configured again) before it starts the configured one.
"""

from __future__ import annotations

import base64
import uuid
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients.kafka import admin, port_open
from ..errors import LabError
from .builds import require_java, run_build
from .kafka_broker import KAFKA_HEAP, KAFKA_JVM_FLAGS, kafka_properties, start_kafka
from .processes import Proc, check_port_free, recorded, spawn, stop_process

_ = i18n.catalog(__name__, {
    "stopped_other": {
        "en": "stopped {name} (pid {pid}): LAB_KAFKA_BROKERS={brokers} runs the other Kafka; its data stays in {data}",
        "fr": "{name} arrêté (pid {pid}) : LAB_KAFKA_BROKERS={brokers} fait tourner l'autre Kafka ; ses données "
              "restent dans {data}",
    },
})

SINGLE = "kafka"
NODES = ("kafka-1", "kafka-2", "kafka-3")
# A replicated topic: three copies, and a write acknowledged (acks=all) once two of them have it.
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2


def node_names(brokers: int) -> list[str]:
    """The services of a layout: ["kafka"], or ["kafka-1", "kafka-2", "kafka-3"]."""
    return [SINGLE] if brokers == 1 else list(NODES[:brokers])


def node_dir(node_id: int):
    return _config.KAFKA_CLUSTER_DIR / f"node-{node_id}"


def node_properties(cfg: _config.LabConfig, node_id: int) -> str:
    """Node `node_id`'s settings: the single broker's (kafka_broker.kafka_properties), with the
    addresses, the quorum and the replication of three nodes."""
    nodes = {n: (host, port, controller) for n, host, port, controller in cfg.kafka_nodes}
    host, port, controller = nodes[node_id]
    voters = ",".join(f"{n}@{h}:{c}" for n, (h, _port, c) in nodes.items())
    overrides = {
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "log.dirs": str(node_dir(node_id)),
        "default.replication.factor": str(REPLICATION_FACTOR),
        "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
        "offsets.topic.replication.factor": str(REPLICATION_FACTOR),
        "transaction.state.log.replication.factor": str(REPLICATION_FACTOR),
        "transaction.state.log.min.isr": str(MIN_INSYNC_REPLICAS),
        "share.coordinator.state.topic.replication.factor": str(REPLICATION_FACTOR),
        "share.coordinator.state.topic.min.isr": str(MIN_INSYNC_REPLICAS),
        # A broker back in the ISR takes back the partitions it prefers to lead (the first replica)
        # within 15 s, not Kafka's 5 minutes: lesson 09 watches the leaders move away and back.
        "leader.imbalance.check.interval.seconds": "15",
    }
    lines = []
    for line in kafka_properties(cfg).splitlines():
        key = line.split("=", 1)[0]
        if line.startswith("#") or not line.strip():
            if "One broker" not in line:  # the single broker's comment on its replication
                lines.append(line)
        elif key == "controller.quorum.bootstrap.servers":
            continue  # a static quorum of three voters instead
        else:
            lines.append(f"{key}={overrides.pop(key)}" if key in overrides else line)
    lines.append("# Three nodes: three replicas per partition, writes acknowledged by two (docs/contract.md).")
    lines += [f"{k}={v}" for k, v in overrides.items()]
    return "\n".join(lines) + "\n"


def node_java_cmd(main: list[str]) -> list[str]:
    return [require_java(), *KAFKA_HEAP, *KAFKA_JVM_FLAGS,
            f"-Dlog4j2.configurationFile={_config.STACK_DIR / 'kafka' / 'log4j2.properties'}",
            "-cp", f"{_config.KAFKA_JARS}/*", *main]


def cluster_id() -> str:
    """The three nodes' cluster id: the one a node was formatted with, else a new one."""
    for node_id in range(1, len(NODES) + 1):
        meta = node_dir(node_id) / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def start_node(cfg: _config.LabConfig, node_id: int, cluster: str) -> Proc:
    name = NODES[node_id - 1]
    running = recorded(name)
    if running and running.alive:
        return running
    _id, host, port, controller = cfg.kafka_nodes[node_id - 1]
    check_port_free(host, port, f"Kafka node {node_id}", "KAFKA_BOOTSTRAP_SERVERS")
    check_port_free(host, controller, f"Kafka node {node_id}'s controller", "KAFKA_BOOTSTRAP_SERVERS")
    props = node_dir(node_id).with_suffix(".properties")
    props.parent.mkdir(parents=True, exist_ok=True)
    props.write_text(node_properties(cfg, node_id))
    if not (node_dir(node_id) / "meta.properties").exists():
        # Formatted once, all three with the same cluster id; later starts reuse the data.
        node_dir(node_id).mkdir(parents=True, exist_ok=True)
        run_build(node_java_cmd(["kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(props)]),
                  f"formatting Kafka node {node_id}'s storage", _config.LOGS_DIR / f"{name}-format.log")
    return spawn(name, node_java_cmd(["kafka.Kafka", str(props)]), port, _config.LOGS_DIR / f"{name}.log")


def stop_other_layout(cfg: _config.LabConfig, say: Callable[[str], None]) -> list[str]:
    """Stop the Kafka nodes of the layout LAB_KAFKA_BROKERS does not ask for (their data stays)."""
    stopped = []
    for name in [SINGLE, *NODES]:
        if name in node_names(cfg.kafka_brokers):
            continue
        proc = recorded(name)
        if proc and stop_process(proc):
            stopped.append(name)
            data = _config.KAFKA_DATA if name == SINGLE else _config.KAFKA_CLUSTER_DIR
            say(_("stopped_other", name=name, pid=proc.pid, brokers=cfg.kafka_brokers, data=data))
    return stopped


def start_kafka_nodes(cfg: _config.LabConfig, say: Callable[[str], None] = print) -> dict[str, Proc]:
    """Start the Kafka that LAB_KAFKA_BROKERS asks for (one node or three), after stopping the
    other one. Returns the processes by service name; idempotent."""
    stop_other_layout(cfg, say)
    if cfg.kafka_brokers == 1:
        return {SINGLE: start_kafka(cfg)}
    cluster = cluster_id()
    return {NODES[n - 1]: start_node(cfg, n, cluster) for n, *_ in cfg.kafka_nodes}


def running_layout(cfg: _config.LabConfig) -> int:
    """How many Kafka nodes this stack runs now: 3 or 1 by the processes it recorded, else what
    LAB_KAFKA_BROKERS says. A process that did not choose the layout (`stack status` after
    `stack up --kafka-brokers 3`) still reports what runs."""
    if any((proc := recorded(name)) and proc.alive for name in NODES):
        return len(NODES)
    if (proc := recorded(SINGLE)) and proc.alive:
        return 1
    return cfg.kafka_brokers


def layout_nodes(cfg: _config.LabConfig, brokers: int) -> list[tuple[str, int, str, int]]:
    """(service name, node id, host, port) of each node of a layout of `brokers` nodes, on the
    ports LabConfig.kafka_layout gives them."""
    return [(name, i, host, port) for name, (i, host, port, _controller)
            in zip(node_names(brokers), cfg.kafka_layout(brokers))]


def live_brokers(cfg: _config.LabConfig) -> set[int]:
    """The node ids of the brokers the cluster's metadata lists as alive (empty when none answers)."""
    from kafka.errors import KafkaError

    if not any(port_open(host, port) for _id, host, port, _controller in cfg.kafka_nodes):
        return set()
    try:
        with admin(cfg, request_timeout_ms=5000, client_id="lab-healthcheck") as client:
            return {int(b.get("broker_id", b.get("node_id"))) for b in client.describe_cluster().get("brokers", [])}
    except (KafkaError, OSError, LabError):
        return set()


def all_brokers_ready(cfg: _config.LabConfig) -> bool:
    """True when every node of the configured layout is a live broker and accepts clients: a node
    registers with the controllers a few seconds before its listener accepts connections, and a
    client sent to it then fails (kafka-python does not try another broker)."""
    return all(port_open(host, port) for _id, host, port, _controller in cfg.kafka_nodes) and \
        live_brokers(cfg) >= {n for n, *_rest in cfg.kafka_nodes}
