"""Notebook 02's exercise check: the student's own transaction, read back from Kafka."""

from __future__ import annotations

from .. import config as _config
from .. import messages
from ..clients import kafka
from .verdict import Verdict, not_done, placeholder, verdict


def my_transaction(sent, transaction_id) -> Verdict:
    """Notebook 02: `sent` is the RecordMetadata of the student's message; read it back from Kafka."""
    if not_done(sent):
        return placeholder()
    from kafka import TopicPartition

    if not hasattr(sent, "partition") or not hasattr(sent, "offset"):
        return Verdict(False, "`sent` should be what `future.get(timeout=...)` returns (a RecordMetadata)")
    cfg = _config.load()
    consumer = kafka.reader(cfg, "lab-check", consumer_timeout_ms=10_000)
    try:
        tp = TopicPartition(sent.topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        message = next(iter(consumer), None)
    finally:
        consumer.close()
    if message is None or message.offset != sent.offset:
        return Verdict(False, f"no message at partition {sent.partition}, offset {sent.offset}: was it acknowledged?")
    reason = messages.verdict(message.value)
    if reason != "accept":
        return Verdict(False, f"Kafka has it, but the pipeline would reject it ({reason}): {message.value[:120]!r}")
    if message.key != str(transaction_id).encode():
        return Verdict(False, f"the key should be the transaction_id as text ({str(transaction_id)!r}), "
                              f"got {message.key!r}")
    return Verdict(True, f"Kafka holds your transaction {transaction_id} in partition {sent.partition} at offset "
                         f"{sent.offset}, and the pipeline will accept it")
