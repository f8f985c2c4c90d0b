"""Notebook 01's exercise check: counting the messages a topic holds."""

from __future__ import annotations

from ..clients import kafka
from .verdict import Verdict, not_done, placeholder, verdict


def topic_total(answer) -> Verdict:
    """Notebook 01: how many messages the topic holds, summed over its partitions."""
    if not_done(answer):
        return placeholder()
    want = sum(kafka.topic_size().values())
    return verdict(answer == want, f"right: {want:,} messages (end offset minus start offset, summed over partitions)",
                   f"{answer!r} is not it: per partition, subtract the beginning offset from the end offset, then add up")
