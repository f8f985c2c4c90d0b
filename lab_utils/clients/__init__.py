"""The clients layer: how the lab talks to Kafka (`kafka`) and to the bucket (`storage`), and the
checks that say whether both are ready (`health`).

Below the producer and the pipeline, above the message contract and the configuration.
"""

from . import health, kafka, storage
from .health import require_ready, require_services

__all__ = ["health", "kafka", "require_ready", "require_services", "storage"]
