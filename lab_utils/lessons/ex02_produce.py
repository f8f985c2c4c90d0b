"""Notebook 02's exercise check: the student's producer function, and the one transaction they were asked to send.

The student writes `send_transaction(producer, topic, transaction_id, montant, devise)`, then
sends with it the transaction the exercise asks for (ASKED, with the id the notebook gives) and
keeps Kafka's acknowledgement in `sent`. The check runs the function on HIDDEN_CASES, on a topic of
its own (deleted afterwards), reads every message back from Kafka, and compares it field by field
with what was asked: the key, transaction_id, montant, devise, a timestamp of now with its offset.
Then it reads `sent` back from the lab's topic and compares it with ASKED and the given id.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timedelta, timezone

from .. import config as _config
from .. import i18n
from .. import messages
from ..clients import kafka
from .verdict import Verdict, call_within, not_done, placeholder, raised

# What the exercise asks the student to send (the id is given by the notebook: a new one per run).
ASKED = {"montant": 42.50, "devise": "CHF"}
HIDDEN_CASES = ((7, 19.99, "USD"), (123456, 0.5, "JPY"), (42, 1500.0, "GBP"))
# A timestamp of "now" may be off by the time the cell takes, or a badly set clock; not by hours.
NOW_TOLERANCE = timedelta(minutes=10)
STUDENT_TIMEOUT_S = 60.0
READ_TIMEOUT_S = 15.0

_ = i18n.catalog(__name__, {
    "too_slow": {
        "en": "send_transaction did not return within {seconds:.0f} s: wait for the acknowledgement with "
              "`future.get(timeout=30)`, which raises instead of waiting forever",
        "fr": "send_transaction n'a pas rendu la main en {seconds:.0f} s : attendez l'accusé de réception avec "
              "`future.get(timeout=30)`, qui lève une exception au lieu d'attendre indéfiniment"},
    "not_metadata": {
        "en": "send_transaction should return Kafka's acknowledgement, what `future.get(timeout=30)` gives "
              "(a RecordMetadata with .partition and .offset), got {got}",
        "fr": "send_transaction doit renvoyer l'accusé de réception de Kafka, ce que donne "
              "`future.get(timeout=30)` (un RecordMetadata avec .partition et .offset), pas {got}"},
    "not_found": {
        "en": "Kafka has no message at partition {partition}, offset {offset} of {topic}: was it acknowledged?",
        "fr": "Kafka n'a aucun message en partition {partition}, décalage {offset} de {topic} : a-t-il été "
              "acquitté ?"},
    "wrong_topic": {"en": "`sent` is a message of the topic {got}; send it to the lab's topic {want} "
                          "(cfg.KAFKA_TOPIC)",
                    "fr": "`sent` est un message du topic {got} ; envoyez-le au topic du lab {want} "
                          "(cfg.KAFKA_TOPIC)"},
    "in_case": {"en": "with send_transaction({args}): {problem}", "fr": "avec send_transaction({args}) : {problem}"},
    "in_sent": {"en": "your transaction {id} in `sent`: {problem}", "fr": "votre transaction {id} dans `sent` : {problem}"},
    "key": {"en": "the key should be the id as text, encoded: {want!r}, got {got!r}",
            "fr": "la clé doit être l'identifiant en texte, encodé : {want!r}, pas {got!r}"},
    "no_value": {"en": "the message has no value (a tombstone)",
                 "fr": "le message n'a pas de valeur (un « tombstone »)"},
    "not_json": {"en": "the value is not a JSON object: {value}; send `json.dumps(transaction).encode()`",
                 "fr": "la valeur n'est pas un objet JSON : {value} ; envoyez `json.dumps(transaction).encode()`"},
    "field_missing": {"en": "the field {field} is missing", "fr": "le champ {field} manque"},
    "field_text": {"en": "{field} is the text {got}: it should be a JSON number, {want}",
                   "fr": "{field} est le texte {got} : ce doit être un nombre JSON, {want}"},
    "field_wrong": {"en": "{field} should be {want}, got {got}", "fr": "{field} devrait valoir {want}, pas {got}"},
    "timestamp_naive": {
        "en": "timestamp {got!r} has no offset: use `datetime.now(timezone.utc).isoformat()`",
        "fr": "le timestamp {got!r} n'a pas de décalage horaire : utilisez `datetime.now(timezone.utc).isoformat()`"},
    "timestamp_bad": {
        "en": "timestamp {got!r} is not now in ISO 8601: use `datetime.now(timezone.utc).isoformat()`",
        "fr": "le timestamp {got!r} n'est pas l'instant présent en ISO 8601 : utilisez "
              "`datetime.now(timezone.utc).isoformat()`"},
    "rejected": {"en": "the pipeline would reject it ({reason})", "fr": "le pipeline la rejetterait ({reason})"},
    "send_yours": {
        "en": "your function is right on every hidden case; now send transaction {id} ({montant} {devise}) with it "
              "to cfg.KAFKA_TOPIC, and put its acknowledgement in `sent`",
        "fr": "votre fonction est juste sur tous les cas cachés ; envoyez maintenant avec elle la transaction {id} "
              "({montant} {devise}) à cfg.KAFKA_TOPIC, et mettez son accusé de réception dans `sent`"},
    "right": {
        "en": "right: Kafka holds your transaction {id}, {montant} {devise}, key {message_key!r}, in partition {partition} "
              "at offset {offset}, and your function sent {cases} hidden transactions exactly as asked",
        "fr": "juste : Kafka garde votre transaction {id}, {montant} {devise}, clé {message_key!r}, en partition "
              "{partition} au décalage {offset}, et votre fonction a envoyé {cases} transactions cachées "
              "exactement comme demandé"},
})


def _read_at(cfg: _config.LabConfig, topic: str, partition: int, offset: int):
    """The message of `topic` at (partition, offset), or None; read without a group (moves no offsets)."""
    from kafka import TopicPartition

    consumer = kafka.reader(cfg, "lab-check", consumer_timeout_ms=int(READ_TIMEOUT_S * 1000))
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        message = next(iter(consumer), None)
    finally:
        consumer.close()
    return message if message is not None and message.offset == offset else None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _problem(message, transaction_id: int, montant: float, devise: str) -> str | None:
    """What is wrong with a message that should be this transaction, in one phrase, or None."""
    want_key = str(transaction_id).encode()
    if message.key != want_key:
        return _("key", want=want_key, got=message.key)
    if message.value is None:
        return _("no_value")
    try:
        body = json.loads(message.value)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _("not_json", value=repr(message.value[:80]))
    for field, want in (("transaction_id", transaction_id), ("montant", montant), ("devise", devise)):
        if field not in body:
            return _("field_missing", field=field)
        got = body[field]
        if field != "devise" and isinstance(got, str):
            return _("field_text", field=field, got=json.dumps(got), want=json.dumps(want))
        same = (got == want and type(got) is type(want)) if field == "transaction_id" else (
            _number(got) and got == want if field == "montant" else got == want)
        if not same:
            return _("field_wrong", field=field, want=json.dumps(want), got=json.dumps(got))
    stamp = body.get("timestamp")
    if stamp is None:
        return _("field_missing", field="timestamp")
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return _("timestamp_bad", got=stamp)
    if when.tzinfo is None:
        return _("timestamp_naive", got=stamp)
    if abs(datetime.now(timezone.utc) - when) > NOW_TOLERANCE:
        return _("timestamp_bad", got=stamp)
    reason = messages.verdict(message.value)
    if reason != "accept":
        return _("rejected", reason=reason)
    return None


def _acknowledged(cfg: _config.LabConfig, meta, topic: str | None = None):
    """The message `meta` (a RecordMetadata) points at, or a Verdict saying why there is none."""
    if not all(hasattr(meta, name) for name in ("topic", "partition", "offset")) or not isinstance(
            getattr(meta, "offset", None), int):
        return Verdict(False, _("not_metadata", got=repr(meta)[:80]))
    if topic is not None and meta.topic != topic:
        return Verdict(False, _("wrong_topic", got=meta.topic, want=topic))
    message = _read_at(cfg, meta.topic, meta.partition, meta.offset)
    if message is None:
        return Verdict(False, _("not_found", topic=meta.topic, partition=meta.partition, offset=meta.offset))
    return message


def _hidden_cases(cfg: _config.LabConfig, send_transaction) -> Verdict | None:
    """❌ at the first hidden case the function gets wrong, the placeholder when it does nothing, else None."""
    topic = f"lab-check-{uuid.uuid4().hex[:10]}"
    kafka.ensure_topic(cfg, topic)
    producer = kafka.kafka_python_producer(cfg, acks="all", client_id="lab-check-student", max_block_ms=15_000)
    hung = False
    try:
        for n, (transaction_id, montant, devise) in enumerate(HIDDEN_CASES):
            returned, meta = call_within(send_transaction, producer, topic, transaction_id, montant, devise,
                                         timeout_s=STUDENT_TIMEOUT_S)
            if not returned:
                hung = True
                return Verdict(False, _("too_slow", seconds=STUDENT_TIMEOUT_S))
            if isinstance(meta, BaseException):
                return raised("send_transaction", meta)
            if n == 0 and (meta is None or meta is Ellipsis) and not sum(kafka.topic_size(topic, cfg).values()):
                return placeholder()
            message = _acknowledged(cfg, meta, topic)
            if isinstance(message, Verdict):
                return message
            problem = _problem(message, transaction_id, montant, devise)
            if problem:
                return Verdict(False, _("in_case", args=f"producer, topic, {transaction_id}, {montant}, {devise!r}",
                                        problem=problem))
        return None
    finally:
        if not hung:  # else the student's call still holds the producer: both are left to the kernel
            producer.close(timeout=10)
            kafka.delete_topics(cfg, [topic])


def my_transaction(send_transaction, sent, transaction_id: int) -> Verdict:
    """Notebook 02: the student's `send_transaction` on HIDDEN_CASES, then `sent` (the acknowledgement of
    transaction `transaction_id`, ASKED) read back from the lab's topic."""
    if not_done(send_transaction):
        return placeholder()
    cfg = _config.load()
    wrong = _hidden_cases(cfg, send_transaction)
    if wrong is not None:
        return wrong
    if not_done(sent):
        return Verdict(False, _("send_yours", id=transaction_id, montant=f"{ASKED['montant']:.2f}",
                                devise=ASKED["devise"]))
    message = _acknowledged(cfg, sent, cfg.KAFKA_TOPIC)
    if isinstance(message, Verdict):
        return message
    problem = _problem(message, transaction_id, ASKED["montant"], ASKED["devise"])
    if problem:
        return Verdict(False, _("in_sent", id=transaction_id, problem=problem))
    return Verdict(True, _("right", id=transaction_id, montant=f"{ASKED['montant']:.2f}", devise=ASKED["devise"],
                           message_key=message.key, partition=sent.partition, offset=sent.offset, cases=len(HIDDEN_CASES)))
