"""Notebook 02's check, `checks.my_transaction`: the student's producer function on hidden cases, then
the one transaction the exercise asks for (its id, 42.50 CHF, key = the id), read back from Kafka.

Needs the live Kafka. The placeholder and the plausible wrong answers (values hard-coded, no key, an
amount as text, the future instead of the acknowledgement, a timestamp without offset, a key Kafka
cannot serialise; the function right but `sent` missing, another currency, another id, another
topic) each get ❌ with the hint that fits; the right answer ✅; in English and in French.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from lab_utils import checks, producer
from lab_utils.i18n import french_typography
from lab_utils.lessons import ex02_produce

SAYS = {
    "placeholder": {"en": "not done yet", "fr": "pas encore fait"},
    "montant": {"en": "montant should be 19.99", "fr": "montant devrait valoir 19.99"},
    "key": {"en": "the key should be the id as text", "fr": "la clé doit être l'identifiant en texte"},
    "text": {"en": "it should be a JSON number", "fr": "ce doit être un nombre JSON"},
    "future": {"en": "should return Kafka's acknowledgement", "fr": "doit renvoyer l'accusé de réception"},
    "naive": {"en": "has no offset", "fr": "n'a pas de décalage horaire"},
    "raised": {"en": "send_transaction raised TypeError", "fr": "send_transaction a levé TypeError"},
    "send_yours": {"en": "now send transaction", "fr": "envoyez maintenant avec elle la transaction"},
    "devise": {"en": "devise should be \"CHF\"", "fr": "devise devrait valoir \"CHF\""},
    "sent_key": {"en": "in `sent`: the key should be", "fr": "dans `sent` : la clé doit être"},
    "topic": {"en": "send it to the lab's topic", "fr": "envoyez-le au topic du lab"},
    "id_text": {"en": "transaction_id is the text", "fr": "transaction_id est le texte"},
    "right": {"en": "right: Kafka holds your transaction", "fr": "juste : Kafka garde votre transaction"},
}
# French texts carry no-break spaces before « : ; ? ! » (lab_utils.i18n), so the fragments do too.
SAYS = {case: {**texts, "fr": french_typography(texts["fr"])} for case, texts in SAYS.items()}


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def send_transaction(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": transaction_id, "montant": montant, "devise": devise, "timestamp": now()}
    future = kafka.send(topic, key=str(transaction_id).encode(), value=json.dumps(message).encode())
    return future.get(timeout=30)


def untouched(kafka, topic, transaction_id, montant, devise):
    """The exercise cell as the notebook gives it."""
    ...


def hard_coded(kafka, topic, transaction_id, montant, devise):
    """Sends what the exercise asks, whatever it is called with."""
    return send_transaction(kafka, topic, transaction_id, 42.50, "CHF")


def without_key(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": transaction_id, "montant": montant, "devise": devise, "timestamp": now()}
    return kafka.send(topic, value=json.dumps(message).encode()).get(timeout=30)


def amount_as_text(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": transaction_id, "montant": f"{montant:.2f}", "devise": devise, "timestamp": now()}
    return kafka.send(topic, key=str(transaction_id).encode(), value=json.dumps(message).encode()).get(timeout=30)


def id_as_text(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": str(transaction_id), "montant": montant, "devise": devise, "timestamp": now()}
    return kafka.send(topic, key=str(transaction_id).encode(), value=json.dumps(message).encode()).get(timeout=30)


def returns_the_future(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": transaction_id, "montant": montant, "devise": devise, "timestamp": now()}
    return kafka.send(topic, key=str(transaction_id).encode(), value=json.dumps(message).encode())


def local_time_without_offset(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": transaction_id, "montant": montant, "devise": devise,
               "timestamp": datetime.now().isoformat()}
    return kafka.send(topic, key=str(transaction_id).encode(), value=json.dumps(message).encode()).get(timeout=30)


def key_not_encoded(kafka, topic, transaction_id, montant, devise):
    message = {"transaction_id": transaction_id, "montant": montant, "devise": devise, "timestamp": now()}
    return kafka.send(topic, key=str(transaction_id), value=json.dumps(message).encode()).get(timeout=30)


@pytest.mark.parametrize("function, says", [
    (..., "placeholder"),
    (untouched, "placeholder"),
    (hard_coded, "montant"),
    (without_key, "key"),
    (amount_as_text, "text"),
    (id_as_text, "id_text"),
    (returns_the_future, "future"),
    (local_time_without_offset, "naive"),
    (key_not_encoded, "raised"),
], ids=lambda a: getattr(a, "__name__", str(a)))
def test_a_wrong_function_gets_a_fail(cfg, lang, function, says):
    verdict = checks.my_transaction(function, ..., 1)
    assert not verdict, f"passed: {verdict}"
    assert SAYS[says][lang] in str(verdict), str(verdict)


@pytest.fixture
def asked(cfg):
    """Yields (my_id, send): a fresh id as the notebook gives it, and a function sending a transaction to
    `topic` (the lab's by default) with the lab's kafka-python producer, closed afterwards."""
    kafka = producer.make_producer()
    my_id = producer.last_transaction_id() + 1

    def send(transaction_id=my_id, montant=42.50, devise="CHF", topic=cfg.KAFKA_TOPIC):
        return send_transaction(kafka, topic, transaction_id, montant, devise)

    yield my_id, send
    kafka.close(timeout=10)


def test_the_right_function_and_the_asked_transaction_pass(asked, lang):
    my_id, send = asked
    verdict = checks.my_transaction(send_transaction, send(), my_id)
    assert verdict, str(verdict)
    assert SAYS["right"][lang] in str(verdict) and str(my_id) in str(verdict) and "CHF" in str(verdict)


def test_a_right_function_is_not_enough_without_the_asked_transaction(asked, lang, topic):
    my_id, send = asked
    cases = [
        (..., "send_yours"),                                   # the function is right, `sent` still `...`
        (send(devise="USD"), "devise"),                        # 42.50 USD instead of CHF
        (send(transaction_id=my_id + 1), "sent_key"),         # another id than the one given
        (send(topic=topic), "topic"),                          # right transaction, another topic
    ]
    for sent, says in cases:
        verdict = checks.my_transaction(send_transaction, sent, my_id)
        assert not verdict, f"passed with {says}: {verdict}"
        assert SAYS[says][lang] in str(verdict), str(verdict)


def test_the_hidden_cases_are_not_what_the_exercise_asks():
    asked = (ex02_produce.ASKED["montant"], ex02_produce.ASKED["devise"])
    assert all((montant, devise) != asked for _, montant, devise in ex02_produce.HIDDEN_CASES)
    assert len({devise for _, _, devise in ex02_produce.HIDDEN_CASES}) == len(ex02_produce.HIDDEN_CASES)
