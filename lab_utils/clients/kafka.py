"""Every Kafka client the lab builds, in one place: admin, reader, producers; topics and offsets.

    from lab_utils.clients import kafka
    kafka.ensure_topic(cfg)                 # create KAFKA_TOPIC (3 partitions) if missing
    kafka.end_offsets(cfg=cfg)              # {partition: next offset}, what a reader must reach
    with kafka.admin(cfg) as admin: ...     # a KafkaAdminClient, closed on exit

When the broker does not answer, each factory raises ServiceDown with one line naming the
fix (`kafka_down_message`), never kafka-python's own error.
"""

from __future__ import annotations

import contextlib
import socket
import time

from .. import config as _config
from .. import i18n
from ..errors import NotSetUp, ServiceDown

# docs/contract.md: the topic is created with 3 partitions.
TOPIC_PARTITIONS = 3

_ = i18n.catalog(__name__, {
    "kafka_down": {
        "en": "Kafka is not reachable at {address}: run `make lab` or `python -m lab_utils stack up` "
              "(or `docker compose up -d`) and check `python -m lab_utils stack status`",
        "fr": "Kafka ne répond pas à l'adresse {address} : lancez `make lab` ou `python -m lab_utils stack up` "
              "(ou `docker compose up -d`) puis vérifiez `python -m lab_utils stack status`",
    },
    "check_status": {
        "en": "check `python -m lab_utils stack status`",
        "fr": "vérifiez `python -m lab_utils stack status`",
    },
    "not_deleted": {
        "en": "Kafka did not delete {topics} within {seconds} s: check `python -m lab_utils stack status`",
        "fr": "Kafka n'a pas supprimé {topics} en {seconds} s : vérifiez `python -m lab_utils stack status`",
    },
    "topic_missing": {
        "en": "Kafka at {address} has no topic {topic} (KAFKA_TOPIC, {where}): fix KAFKA_TOPIC if it is a typo, "
              "or create the topic with `python -m lab_utils produce` or `python -m lab_utils stack up`",
        "fr": "Kafka ({address}) n'a pas de topic {topic} (KAFKA_TOPIC, {where}) : corrigez KAFKA_TOPIC s'il "
              "s'agit d'une faute de frappe, ou créez le topic avec `python -m lab_utils produce` ou "
              "`python -m lab_utils stack up`",
    },
    "no_topic": {
        "en": "topic {topic} does not exist: `python -m lab_utils stack up` creates {default_topic}, "
              "`produce` creates any other",
        "fr": "le topic {topic} n'existe pas : `python -m lab_utils stack up` crée {default_topic}, "
              "`produce` crée tous les autres",
    },
})


def fix_status() -> str:
    """The end of a message that sends the student to `stack status`, in the lab's language."""
    return _("check_status")


def kafka_down_message(cfg: _config.LabConfig) -> str:
    return _("kafka_down", address=cfg.KAFKA_BOOTSTRAP_SERVERS)


def topic_missing_message(cfg: _config.LabConfig, topic: str | None = None) -> str:
    """The topic does not exist: name KAFKA_TOPIC (and where it was read) when it is the lab's topic."""
    topic = topic or cfg.KAFKA_TOPIC
    if topic == cfg.KAFKA_TOPIC:
        return _("topic_missing", address=cfg.KAFKA_BOOTSTRAP_SERVERS, topic=topic, where=cfg.where("KAFKA_TOPIC"))
    return _("no_topic", topic=topic, default_topic=cfg.KAFKA_TOPIC)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- factories

@contextlib.contextmanager
def admin(cfg: _config.LabConfig, request_timeout_ms: int = 15_000, client_id: str = "lab-admin"):
    """A kafka-python KafkaAdminClient for the lab's broker, closed when the block ends."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        client = KafkaAdminClient(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS,
                                  request_timeout_ms=request_timeout_ms, client_id=client_id)
    except (KafkaError, OSError, ValueError) as e:
        raise ServiceDown(kafka_down_message(cfg)) from e
    try:
        yield client
    finally:
        client.close()


# With three brokers (LAB_KAFKA_BROKERS=3) a request may go to a broker that just died: kafka-python
# sends it to a node of the cluster's metadata and does not try another. The controllers fence a dead
# broker within broker.session.timeout.ms (9 s); then the metadata no longer names it. So a request
# refused that way (no connection), or that timed out waiting for it (a fresh client's metadata still
# named the dead broker as a partition's leader: notebook 09's producer, started as the broker died,
# met that on this machine), is asked again, on a new client, for up to this long; with one broker it fails at
# once (its error names the fix).
FAILOVER_S = 30.0


def failover(cfg: _config.LabConfig, attempt):
    """`attempt()`, asked again while a dead broker is being fenced (only with several brokers).

    `attempt` opens its own client each time: a kafka-python client that met the dead node keeps it.
    """
    from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError

    deadline = time.monotonic() + (FAILOVER_S if "," in cfg.KAFKA_BOOTSTRAP_SERVERS else 0.0)
    while True:
        try:
            return attempt()
        except (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)  # a poll, bounded by the deadline


def admin_call(cfg: _config.LabConfig, call, **settings):
    """`call(client)` on an admin client (see `admin`), asked again while a dead broker is being fenced."""
    def attempt():
        with admin(cfg, **settings) as client:
            return call(client)

    return failover(cfg, attempt)


def reader(cfg: _config.LabConfig, client_id: str, **settings):
    """A KafkaConsumer without a group: it reads, and moves nobody's offsets."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, enable_auto_commit=False,
                             client_id=client_id, **{"request_timeout_ms": 15_000, **settings})
    except (KafkaError, OSError) as e:
        raise ServiceDown(kafka_down_message(cfg)) from e


def kafka_python_producer(cfg: _config.LabConfig, **settings):
    """A kafka-python KafkaProducer for the lab's broker with `settings` (see lab_utils.producer)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        return KafkaProducer(bootstrap_servers=cfg.KAFKA_BOOTSTRAP_SERVERS, **settings)
    except (KafkaError, OSError) as e:
        raise ServiceDown(kafka_down_message(cfg)) from e


def confluent_producer(cfg: _config.LabConfig, **settings):
    """A confluent-kafka (librdkafka) Producer for the lab's broker with `settings`."""
    from confluent_kafka import Producer

    return Producer({"bootstrap.servers": cfg.KAFKA_BOOTSTRAP_SERVERS, **settings})


# --------------------------------------------------------------------------- health

def kafka_ready(cfg: _config.LabConfig) -> bool:
    """True when the broker answers a metadata request."""
    from kafka.errors import KafkaError

    # Any one of the bootstrap brokers will do (with three, one may be down: that is the point).
    addresses = [a.strip().rpartition(":") for a in cfg.KAFKA_BOOTSTRAP_SERVERS.split(",") if a.strip()]
    if not any(port.isdigit() and port_open(host or "127.0.0.1", int(port)) for host, _sep, port in addresses):
        return False
    try:
        return bool(admin_call(cfg, lambda client: client.describe_cluster().get("brokers"),
                               request_timeout_ms=5000, client_id="lab-healthcheck"))
    except (ServiceDown, KafkaError, OSError):
        return False


# --------------------------------------------------------------------------- topics

def list_topics(cfg: _config.LabConfig) -> set[str]:
    return set(admin_call(cfg, lambda client: client.list_topics()))


def replication(cfg: _config.LabConfig) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) of the lab's topics: (1, 1) on one broker; (3, 2)
    on three (LAB_KAFKA_BROKERS=3), so an acks=all write is on two brokers and any one may die."""
    return (3, 2) if cfg.kafka_brokers >= 3 else (1, 1)


def ensure_topic(cfg: _config.LabConfig, topic: str | None = None, partitions: int = TOPIC_PARTITIONS,
                 replication_factor: int | None = None) -> bool:
    """Create the topic if it is missing, replicated as `replication(cfg)` says (or with
    `replication_factor`, and then min.insync.replicas = min(2, it)). Returns True when it created it."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    topic = topic or cfg.KAFKA_TOPIC
    factor, min_insync = replication(cfg) if replication_factor is None else (replication_factor,
                                                                              min(2, replication_factor))

    def create(client) -> bool:
        if topic in client.list_topics():
            return False
        try:
            client.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=factor,
                                           topic_configs={"min.insync.replicas": str(min_insync)})])
        except TopicAlreadyExistsError:  # also when a first try created it, then lost its answer
            return False
        return True

    return admin_call(cfg, create)


def delete_topics(cfg: _config.LabConfig, topics: list[str], wait_s: float = 0) -> None:
    """Delete topics that exist; with `wait_s`, also wait (bounded) until the broker lists them no more."""
    def delete(client) -> None:
        present = [t for t in topics if t in client.list_topics()]
        if not present:
            return
        client.delete_topics(present, timeout_ms=30_000)
        deadline = time.monotonic() + wait_s
        while wait_s and set(present) & set(client.list_topics()):
            if time.monotonic() > deadline:
                raise ServiceDown(_("not_deleted", topics=", ".join(present), seconds=f"{wait_s:.0f}"))
            time.sleep(0.2)

    admin_call(cfg, delete)


def topic_id(cfg: _config.LabConfig, topic: str) -> str | None:
    """Kafka's id of the topic's current incarnation (a new one each time it is created), or None."""
    with admin(cfg) as client:
        for t in client.describe_topics([topic]):
            if t.get("name") == topic and not t.get("error_code"):
                return t.get("topic_id")
    return None


# --------------------------------------------------------------------------- offsets

def partition_offsets(consumer, topic: str):
    """The topic's partitions (sorted TopicPartitions) with their start and end offsets."""
    from kafka import TopicPartition

    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not tps:
        return [], {}, {}
    return tps, consumer.beginning_offsets(tps), consumer.end_offsets(tps)


def topic_offsets(topic: str | None = None, cfg: _config.LabConfig | None = None) -> dict[int, tuple[int, int]]:
    """Per partition of the topic, its (start, end) offsets; LabError naming the fix if the topic is missing."""
    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    def attempt():
        consumer = reader(cfg, "lab-topic-offsets")
        try:
            return partition_offsets(consumer, topic)
        finally:
            consumer.close()

    tps, starts, ends = failover(cfg, attempt)
    if not tps:
        raise NotSetUp(topic_missing_message(cfg, topic))
    return {tp.partition: (starts[tp], ends[tp]) for tp in tps}


def topic_size(topic: str | None = None, cfg: _config.LabConfig | None = None) -> dict[int, int]:
    """Messages currently in each partition of the topic (end offset minus start offset)."""
    return {p: end - start for p, (start, end) in topic_offsets(topic, cfg).items()}


def end_offsets(topic: str | None = None, cfg: _config.LabConfig | None = None) -> dict[int, int]:
    """The offset the next message of each partition will get (what a reader has to reach)."""
    return {p: end for p, (_, end) in topic_offsets(topic, cfg).items()}


# --------------------------------------------------------------------------- replicas

def partition_replicas(topic: str | None = None, cfg: _config.LabConfig | None = None) -> list[dict]:
    """Per partition of the topic: its leader, its replicas and its in-sync replicas (ISR), as the
    cluster's metadata says now: [{"partition": 0, "leader": 2, "replicas": [2, 3, 1], "isr": [2, 3, 1]}, ...].
    A partition without a leader has leader -1."""
    cfg = cfg or _config.load()
    topic = topic or cfg.KAFKA_TOPIC
    described = [t for t in admin_call(cfg, lambda client: client.describe_topics([topic])) if t.get("name") == topic]
    if not described or described[0].get("error_code"):
        raise NotSetUp(topic_missing_message(cfg, topic))
    return [{"partition": p["partition_index"], "leader": p["leader_id"], "replicas": list(p["replica_nodes"]),
             "isr": list(p["isr_nodes"])}
            for p in sorted(described[0]["partitions"], key=lambda p: p["partition_index"])]
