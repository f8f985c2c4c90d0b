"""`stack reset`: empty the topic (and its chargebacks topic) and the bucket's output/, rejected/, lake/
and checkpoint/ together."""

from __future__ import annotations

import time
from typing import Callable

from .. import config as _config
from .. import i18n
from ..clients import storage
from ..clients.health import require_services
from ..clients.kafka import delete_topics, ensure_topic
from ..errors import CheckpointInUse
from ..pipeline.checkpoint import CheckpointLock, describe_holder

_ = i18n.catalog(__name__, {
    "running": {
        "en": "the pipeline is running ({who}, query {query}): stop it first (Ctrl-C, or `pipeline.stop()` in its "
              "notebook), then run `python -m lab_utils stack reset` again",
        "fr": "le pipeline est en cours d'exécution ({who}, requête {query}) : arrêtez-le d'abord (Ctrl-C, ou `pipeline.stop()` dans "
              "son notebook), puis relancez `python -m lab_utils stack reset`",
    },
})


def reset(cfg: _config.LabConfig | None = None, say: Callable[[str], None] = print) -> None:
    """Empty the topic and the bucket's output/, rejected/, lake/ and checkpoint/ together.

    Together on purpose: a checkpoint without its output (or the reverse) breaks exactly-once.
    Refuses while a pipeline runs on these checkpoints. Checkpoints go first: if MinIO fails
    half-way, what is left is an output without its checkpoint, which `pipeline.start()`
    refuses (naming this command) instead of skipping batches.
    """
    from kafka.errors import KafkaError

    cfg = require_services(cfg)
    for sink in storage.SINKS:
        held = CheckpointLock(cfg.s3a_path("checkpoint", sink), sink, cfg).running_holder()
        if held:
            who, info = held
            raise CheckpointInUse(_("running", who=describe_holder(who), query=info.get("query")))
    # The chargebacks go too: ids start again at 1 after a reset, and an old chargeback would
    # label a new payment that happens to get its id. The models stay (they hold no ids).
    delete_topics(cfg, [cfg.KAFKA_TOPIC, cfg.chargebacks_topic()], wait_s=60)
    say(f"emptied topic {cfg.KAFKA_TOPIC} (and {cfg.chargebacks_topic()})")
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
    removed = storage.clear(cfg, ("checkpoint", *storage.SINKS))
    say(f"removed {removed} objects under s3://{cfg.LAB_BUCKET}/{{output,rejected,lake,checkpoint}}/")
