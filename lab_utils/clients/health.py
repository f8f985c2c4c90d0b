"""Are the services there? One call that fails fast, in one line naming the fix."""

from __future__ import annotations

from .. import config as _config
from ..errors import ServiceDown
from .kafka import kafka_down_message, kafka_ready
from .storage import minio_down_message, minio_ready


def require_services(cfg: _config.LabConfig | None = None) -> _config.LabConfig:
    """The configuration, once Kafka and MinIO answer; ServiceDown naming the fix when one does not."""
    cfg = cfg or _config.load()
    if not kafka_ready(cfg):
        raise ServiceDown(kafka_down_message(cfg))
    if not minio_ready(cfg):
        raise ServiceDown(minio_down_message(cfg))
    return cfg
