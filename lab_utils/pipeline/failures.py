"""A failed streaming query's error in the lab's words: what happened to the stack, and what to run.

Spark's own messages are long JVM traces; a student reads the last line, so it must name the
service and the command that fixes it.
"""

from __future__ import annotations

import re

from .. import config as _config
from ..errors import DataLoss, QueryFailed
from .checkpoint import FIX_RESET


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "===", "Traceback")):
            return line[:500]
    return text.strip()[:500]


def explain_failure(query, cfg: _config.LabConfig | None = None) -> QueryFailed | None:
    """The error of a stopped query in the lab's words, naming the fix; None if it did not fail."""
    exc = query.exception()
    return None if exc is None else explain_error(exc, query.name or "query", cfg)


def explain_error(exc: BaseException, name: str = "query", cfg: _config.LabConfig | None = None) -> QueryFailed:
    """Spark's error `exc` from query `name`, in the lab's words (see explain_failure)."""
    cfg = cfg or _config.load()
    spark_said = _first_line(str(exc))
    text = _error_text(exc)
    if re.search(r"failOnDataLoss|data may have been lost|some data may have been missed|OffsetOutOfRangeException",
                 text, re.I):
        return DataLoss(
            f"query {name} stopped: Kafka no longer holds messages it had not read yet (the topic was deleted "
            f"and created again, or retention removed them), so exactly-once cannot hold. Nothing was skipped: "
            f"{FIX_RESET}. (Spark said: {spark_said})")
    host, port = cfg.s3_host_port
    # One line must name both the S3 side and the network failure: a Kafka timeout inside a task
    # that writes to s3a:// is not MinIO's fault.
    s3_down = re.compile(rf"({re.escape(host)}:{port}|AmazonS3|AWSClientIOException|SdkClientException)"
                         r".*(refused|Unable to execute HTTP request|timed out|UnknownHost|Service Unavailable)", re.I)
    if s3_down.search(text):
        return QueryFailed(
            f"query {name} stopped: MinIO is not reachable at {cfg.AWS_ENDPOINT_URL}: start it "
            f"(`python -m lab_utils stack up`), then start the pipeline again; it resumes from its checkpoint "
            f"and writes nothing twice. (Spark said: {spark_said})")
    if re.search(r"kafka.*(Timeout|timed out|not available|disconnected)", text, re.I):
        return QueryFailed(
            f"query {name} stopped: Kafka did not answer at {cfg.KAFKA_BOOTSTRAP_SERVERS}: check "
            f"`python -m lab_utils stack status`, then start the pipeline again; it resumes from its checkpoint. "
            f"(Spark said: {spark_said})")
    return QueryFailed(f"query {name} failed: {spark_said} (the Spark UI and the driver's log have the details; "
                       "the pipeline resumes from its checkpoint when started again)")


def _error_text(exc) -> str:
    """The messages of a Spark error and of all its causes, one per line, to search.

    A write that fails inside a task can reach the driver as just [TASK_WRITE_FAILED]; what went
    wrong (MinIO refused the connection) is only in a cause. PySpark keeps the JVM cause chain as
    `_cause` (CapturedException has no public accessor in 4.2); a Python error uses __cause__.
    """
    messages, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        messages.append(str(exc))
        exc = getattr(exc, "_cause", None) or exc.__cause__
    return "\n".join(messages)
