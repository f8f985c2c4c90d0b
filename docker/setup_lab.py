"""The one-shot `setup` service of docker-compose.yml: what `python -m lab_utils stack up` does
after starting the native services, with the same functions, against the compose network.

- MinIO: the bucket LAB_BUCKET, the lab's key AWS_ACCESS_KEY_ID and its policy limited to that
  bucket (lab_utils.services.s3_server.setup_minio, with MinIO's root account; nothing else uses root);
- Kafka: the topic KAFKA_TOPIC with 3 partitions (lab_utils.clients.kafka.ensure_topic).

Idempotent, like `stack up`: `docker compose up` runs it on every start. Compose starts it once
Kafka and MinIO are healthy, and JupyterLab only after it exited 0.
"""

from __future__ import annotations

import sys

from lab_utils import config
from lab_utils.clients import kafka
from lab_utils.services import s3_server
from lab_utils.errors import LabError


def main() -> int:
    try:
        cfg = config.load()
        s3_server.setup_minio(cfg)
        created = kafka.ensure_topic(cfg)
    except LabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    topic = "created" if created else "already there"
    print(f"MinIO at {cfg.AWS_ENDPOINT_URL}: bucket {cfg.LAB_BUCKET} and key {cfg.AWS_ACCESS_KEY_ID} ready; "
          f"Kafka at {cfg.KAFKA_BOOTSTRAP_SERVERS}: topic {cfg.KAFKA_TOPIC} {topic} "
          f"({kafka.TOPIC_PARTITIONS} partitions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
