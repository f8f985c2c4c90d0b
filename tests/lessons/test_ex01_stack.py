"""Notebook 01's check, `checks.consumer_group`: a consumer group that reads, commits, and knows its lag.

It runs the student's two functions on a topic of its own on the live Kafka, so it needs the stack.
The placeholder and the plausible wrong answers (no commit, a whole batch committed, a group that
starts at the end, starting over at each call, a lag that ignores the commits or is a constant)
must each get ❌ with the hint that fits; the right answer ✅; in English and in French.
"""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition

from lab_utils import checks, config
from lab_utils.i18n import french_typography
from lab_utils.clients import kafka as lab_kafka
from lab_utils.lessons import ex01_stack
from tests.helpers import wait_until

SAYS = {
    "placeholder": {"en": "not done yet", "fr": "pas encore fait"},
    "no_commit": {"en": "committed nothing", "fr": "n'a rien validé"},
    "over_commit": {"en": "while you handed back", "fr": "alors que vous en avez renvoyé"},
    "read_none": {"en": "starts at the END", "fr": "commence à la FIN"},
    "no_resume": {"en": "must resume where the group stopped", "fr": "doit reprendre là où le groupe"},
    "lag": {"en": "group_lag says", "fr": "group_lag donne"},
    "lag_none": {"en": "group_lag returned nothing", "fr": "group_lag n'a rien renvoyé"},
    "count": {"en": "were asked for", "fr": "au lieu de"},
    "right": {"en": "right: your group read 7 then 5", "fr": "juste : votre groupe a lu 7 puis 5"},
}
# French texts carry no-break spaces before « : ; ? ! » (lab_utils.i18n), so the fragments do too.
SAYS = {case: {**texts, "fr": french_typography(texts["fr"])} for case, texts in SAYS.items()}


def consumer(topic=None, group_id=None, **settings):
    bootstrap = config.load().KAFKA_BOOTSTRAP_SERVERS
    topics = (topic,) if topic else ()
    return KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False,
                         **settings)


# --------------------------------------------------------------------------- the right answer

def read_and_commit(topic, group_id, n):
    reader = consumer(topic, group_id, auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    try:
        messages = []
        for message in reader:
            messages.append(message)
            if len(messages) == n:
                break
        reader.commit()
        return messages
    finally:
        reader.close()


def group_lag(topic, group_id):
    reader = consumer(group_id=group_id)
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic)]
        end = reader.end_offsets(partitions)
        return sum(end[tp] - (reader.committed(tp) or 0) for tp in partitions)
    finally:
        reader.close()


# --------------------------------------------------------------------------- the wrong ones

def untouched(topic, group_id, n):
    """The exercise cell as the notebook gives it."""
    ...


def untouched_lag(topic, group_id):
    ...


def without_commit(topic, group_id, n):
    reader = consumer(topic, group_id, auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    try:
        messages = []
        for message in reader:
            messages.append(message)
            if len(messages) == n:
                break
        return messages
    finally:
        reader.close()


def commits_the_whole_batch(topic, group_id, n):
    """poll() returns everything fetched; commit() then validates messages never handed back."""
    reader = consumer(topic, group_id, auto_offset_reset="earliest")
    try:
        messages = []
        while len(messages) < n:
            for batch in reader.poll(timeout_ms=1000).values():
                messages.extend(batch)
        reader.commit()
        return messages[:n]
    finally:
        reader.close()


def starts_at_the_end(topic, group_id, n):
    """No auto_offset_reset: a new group starts at the end, reads nothing, gives up after the timeout."""
    reader = consumer(topic, group_id, consumer_timeout_ms=3_000)
    try:
        messages = []
        for message in reader:
            messages.append(message)
            if len(messages) == n:
                break
        reader.commit()
        return messages
    finally:
        reader.close()


def starts_over_each_time(topic, group_id, n):
    """Assigns the partitions and seeks to the beginning: reads the same messages at every call."""
    reader = consumer(group_id=group_id, consumer_timeout_ms=10_000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic))]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        messages = []
        for message in reader:
            messages.append(message)
            if len(messages) == n:
                break
        reader.commit()
        return messages
    finally:
        reader.close()


def reads_too_many(topic, group_id, n):
    return read_and_commit(topic, group_id, n + 1)


def lag_ignores_the_commits(topic, group_id):
    reader = consumer()
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic)]
        return sum(reader.end_offsets(partitions).values())
    finally:
        reader.close()


def lag_is_zero(topic, group_id):
    """The old weak check's answer: 0 passed on a fresh lab."""
    return 0


def lag_is_what_was_committed(topic, group_id):
    with lab_kafka.admin(config.load()) as admin:
        offsets = admin.list_group_offsets({group_id: None}).get(group_id, {})
    return sum(meta.offset for meta in offsets.values())


def lag_forgets_the_returned_value(topic, group_id):
    group_lag(topic, group_id)


@pytest.mark.parametrize("read, lag, says", [
    (..., ..., "placeholder"),
    (untouched, untouched_lag, "placeholder"),
    (without_commit, group_lag, "no_commit"),
    (commits_the_whole_batch, group_lag, "over_commit"),
    (starts_at_the_end, group_lag, "read_none"),
    (starts_over_each_time, group_lag, "no_resume"),
    (reads_too_many, group_lag, "count"),
    (read_and_commit, lag_ignores_the_commits, "lag"),
    (read_and_commit, lag_is_zero, "lag"),
    (read_and_commit, lag_is_what_was_committed, "lag"),
    (read_and_commit, untouched_lag, "lag_none"),
    (read_and_commit, lag_forgets_the_returned_value, "lag_none"),
], ids=lambda a: getattr(a, "__name__", str(a)))
def test_consumer_group_rejects_the_placeholder_and_wrong_answers(cfg, lang, read, lag, says):
    verdict = checks.consumer_group(read, lag)
    assert not verdict, f"passed: {verdict}"
    assert SAYS[says][lang] in str(verdict), str(verdict)


def test_consumer_group_accepts_the_right_answer_and_cleans_up(cfg, lang):
    before = {t for t in lab_kafka.list_topics(cfg) if t.startswith("lab-check-")}
    verdict = checks.consumer_group(read_and_commit, group_lag)
    assert verdict, str(verdict)
    assert SAYS["right"][lang] in str(verdict)
    total = sum(ex01_stack.HIDDEN_PARTITION_SIZES)
    assert f"{total - 7}, {total - 12}, {total + 4 - 12}" in str(verdict), "the lags of the group, in order"
    wait_until(lambda: not {t for t in lab_kafka.list_topics(cfg) if t.startswith("lab-check-")} - before,
               timeout=60, what="the check's own topic to be deleted")


def test_a_consumer_that_never_stops_cannot_hang_the_check(cfg, monkeypatch):
    monkeypatch.setattr(ex01_stack, "STUDENT_TIMEOUT_S", 2.0)

    def forever(topic, group_id, n):
        reader = consumer(topic, group_id)  # latest, no timeout: waits for messages that never come
        try:
            return list(reader)
        finally:
            reader.close()

    verdict = checks.consumer_group(forever, group_lag)
    assert not verdict and "consumer_timeout_ms" in str(verdict)


def test_no_partition_size_sum_hides_a_batch_commit():
    sizes = ex01_stack.HIDDEN_PARTITION_SIZES
    sums = {sum(s for i, s in enumerate(sizes) if mask >> i & 1) for mask in range(1, 2 ** len(sizes))}
    first, second = ex01_stack.FIRST_READ, ex01_stack.SECOND_READ
    assert first not in sums and first + second not in sums and first + second < sum(sizes)
