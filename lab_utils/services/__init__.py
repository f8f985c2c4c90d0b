"""The services layer: the native stack (Kafka, MinIO) as local processes, without Docker.

    from lab_utils import services          # also importable as `lab_utils.stack`
    services.up()                           # fetch, build, start, set up (idempotent)
    services.ensure_up()                    # what a notebook calls: never fights Docker Compose
    services.status() / services.down() / services.reset()

Inside: `processes` (spawn, wait, stop by recorded PID), `builds` (Maven and Go, tool checks),
`kafka_broker`, `kafka_cluster` (one Kafka node or three), `spark_cluster` (a standalone master
and workers), `s3_server` (MinIO), `class_archive` (the Spark driver's class-data sharing),
`stack` (up, down, status), `scale` (the lab scaled out for one process), `reset`. A module
here starts processes and knows nothing of Spark queries; the pipeline layer below knows nothing of how processes are started.
"""

from ..clients.health import java_major, require_ready, require_services
from ..clients.kafka import delete_topics, ensure_topic, kafka_ready, list_topics, partition_replicas
from ..clients.storage import minio_ready
from .builds import versions
from .processes import stop_service
from .reset import reset
from .scale import scale_back, scale_out, wait_for_replicas
from .stack import down, ensure_up, format_status, status, up

__all__ = ["delete_topics", "down", "ensure_topic", "ensure_up", "format_status", "java_major", "kafka_ready",
           "list_topics", "minio_ready", "partition_replicas", "require_ready", "require_services", "reset", "scale_back",
           "scale_out", "status", "stop_service", "up", "versions", "wait_for_replicas"]
