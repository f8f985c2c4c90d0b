"""A failed streaming query's error in the lab's words: what happened to the stack, and what to run.

Spark's own messages are long JVM traces; a student reads the last line, so it must name the
service or the setting, and the command that fixes it.
"""

from __future__ import annotations

import re

from .. import config as _config
from .. import i18n
from ..clients import kafka, storage
from ..errors import DataLoss, QueryFailed
from .checkpoint import FIX_RESET

_ = i18n.catalog(__name__, {
    "data_loss": {
        "en": "query {name} stopped: Kafka no longer holds messages it had not read yet (the topic was deleted and "
              "created again, or retention removed them), so exactly-once cannot hold. Nothing was skipped: "
              "{fix}. (Spark said: {spark_said})",
        "fr": "la requête {name} s'est arrêtée : Kafka ne contient plus certains messages qu'elle n'avait pas "
              "encore lus (le topic a été supprimé puis recréé, ou la rétention les a effacés), donc « exactement une fois » ne "
              "peut plus être garanti. Rien n'a été sauté : {fix}. (Spark a dit : {spark_said})",
    },
    "minio_down": {
        "en": "query {name} stopped: MinIO is not reachable at {address}: start it (`python -m lab_utils stack up`), "
              "then start the pipeline again; it resumes from its checkpoint and writes nothing twice. "
              "(Spark said: {spark_said})",
        "fr": "la requête {name} s'est arrêtée : MinIO ne répond pas à l'adresse {address} : démarrez-le "
              "(`python -m lab_utils stack up`), puis relancez le pipeline ; il reprend à son point de contrôle "
              "(checkpoint) et n'écrit rien deux fois. (Spark a dit : {spark_said})",
    },
    "kafka_down": {
        "en": "query {name} stopped: Kafka did not answer at {address}: check `python -m lab_utils stack status`, "
              "then start the pipeline again; it resumes from its checkpoint. (Spark said: {spark_said})",
        "fr": "la requête {name} s'est arrêtée : Kafka n'a pas répondu à l'adresse {address} : vérifiez "
              "`python -m lab_utils stack status`, puis relancez le pipeline ; il reprend à son point de contrôle "
              "(checkpoint). (Spark a dit : {spark_said})",
    },
    "refused": {
        "en": "query {name} stopped: {fix}. (Spark said: {spark_said})",
        "fr": "la requête {name} s'est arrêtée : {fix}. (Spark a dit : {spark_said})",
    },
    "bad_zone": {
        "en": "query {name} stopped: Spark does not know the time zone {zone} (LAB_TIMEZONE, {where}): use one it "
              "knows, e.g. LAB_TIMEZONE=Europe/Paris. (Spark said: {spark_said})",
        "fr": "la requête {name} s'est arrêtée : Spark ne connaît pas le fuseau horaire {zone} (LAB_TIMEZONE, "
              "{where}) : choisissez-en un qu'il connaît, par exemple LAB_TIMEZONE=Europe/Paris. "
              "(Spark a dit : {spark_said})",
    },
    "failed": {
        "en": "query {name} failed: {spark_said} (the Spark UI and the driver's log have the details; the pipeline "
              "resumes from its checkpoint when started again)",
        "fr": "la requête {name} a échoué : {spark_said} (l'interface de Spark et le journal du driver donnent les "
              "détails ; le pipeline reprend à son point de contrôle (checkpoint) quand vous le relancez)",
    },
})


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
    said = {"name": name, "spark_said": spark_said}
    if re.search(r"failOnDataLoss|data may have been lost|some data may have been missed|OffsetOutOfRangeException",
                 text, re.I):
        return DataLoss(_("data_loss", fix=FIX_RESET, **said))
    host, port = cfg.s3_host_port
    # One line must name both the S3 side and the network failure: a Kafka timeout inside a task
    # that writes to s3a:// is not MinIO's fault.
    s3_down = re.compile(rf"({re.escape(host)}:{port}|AmazonS3|AWSClientIOException|SdkClientException)"
                         r".*(refused|Unable to execute HTTP request|timed out|UnknownHost|Service Unavailable)", re.I)
    if s3_down.search(text):
        return QueryFailed(_("minio_down", address=cfg.AWS_ENDPOINT_URL, **said))
    # MinIO answered but refused: the lab's key or the bucket (checked before start, so this means
    # they changed while the query ran: `stack up` with another key, a bucket deleted by hand).
    refusal = storage.refusal_message(cfg, storage.refusal_code(text))
    if refusal:
        return QueryFailed(_("refused", fix=refusal, **said))
    if re.search(r"UnknownTopicOrPartition", text):
        return QueryFailed(_("refused", fix=kafka.topic_missing_message(cfg), **said))
    if re.search(r"INVALID_TIMEZONE|ZoneRulesException|Unknown time-zone ID", text):
        return QueryFailed(_("bad_zone", zone=cfg.LAB_TIMEZONE, where=cfg.where("LAB_TIMEZONE"), **said))
    if re.search(r"kafka.*(Timeout|timed out|not available|disconnected)", text, re.I):
        return QueryFailed(_("kafka_down", address=cfg.KAFKA_BOOTSTRAP_SERVERS, **said))
    return QueryFailed(_("failed", **said))


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
