"""The clients layer: how the lab talks to Kafka (`kafka`) and to the bucket (`storage`).

Below the producer and the pipeline, above the message contract and the configuration.
"""

from . import kafka, storage
from .health import require_services

__all__ = ["kafka", "require_services", "storage"]
