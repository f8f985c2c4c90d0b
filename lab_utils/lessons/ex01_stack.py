"""Notebook 01's exercise check: a consumer group that reads, commits, and knows its lag.

The student writes `read_and_commit(topic, group_id, n)` and `group_lag(topic, group_id)`. The
check runs them on a topic of its own whose content it knows (HIDDEN_PARTITION_SIZES messages per
partition), never on the lab's topic, whose count would pass a `0` on a fresh lab: read 7, then 5
more (the group must resume, not start over), the lag after each, the lag of a group that never
read, and the lag again once more messages arrive. The topic and the groups are deleted afterwards.
"""

from __future__ import annotations

import uuid

from .. import config as _config
from .. import i18n
from ..clients import kafka
from .verdict import Verdict, call_within, not_done, placeholder, raised

# No sum of some of these equals FIRST_READ or FIRST_READ + SECOND_READ, so a consumer that
# commits a whole fetched batch instead of the messages it returned is always caught.
HIDDEN_PARTITION_SIZES = (13, 9, 8)
FIRST_READ, SECOND_READ, LATE_ARRIVALS = 7, 5, 4
# A student's consumer that never stops (no consumer_timeout_ms, nothing to read) must not hang the cell.
STUDENT_TIMEOUT_S = 60.0

_ = i18n.catalog(__name__, {
    "too_slow": {
        "en": "{function} did not return within {seconds:.0f} s: give the consumer `consumer_timeout_ms=10_000`, "
              "so that it stops waiting when there is nothing left to read",
        "fr": "{function} n'a pas rendu la main en {seconds:.0f} s : donnez au consommateur "
              "`consumer_timeout_ms=10_000`, pour qu'il cesse d'attendre quand il n'y a plus rien à lire"},
    "not_a_list": {"en": "read_and_commit should return the list of the messages it read, got {got}",
                   "fr": "read_and_commit doit renvoyer la liste des messages lus, pas {got}"},
    "read_none": {
        "en": "read_and_commit read 0 messages of {n}: a new group starts at the END of the topic unless "
              "the consumer has `auto_offset_reset=\"earliest\"`",
        "fr": "read_and_commit a lu 0 message sur {n} : un nouveau groupe commence à la FIN du topic, sauf si "
              "le consommateur a `auto_offset_reset=\"earliest\"`"},
    "read_count": {"en": "read_and_commit returned {got} messages, {n} were asked for: stop at n",
                   "fr": "read_and_commit a renvoyé {got} messages au lieu de {n} : arrêtez-vous à n"},
    "no_commit": {
        "en": "your group read {n} messages but committed nothing: call `consumer.commit()` before "
              "`consumer.close()`, or the next member of the group starts over",
        "fr": "votre groupe a lu {n} messages mais n'a rien validé : appelez `consumer.commit()` avant "
              "`consumer.close()`, sinon le prochain membre du groupe recommence au début"},
    "over_commit": {
        "en": "your group committed {committed} messages while you handed back {n}: `poll()` returns a whole "
              "batch and commit() validates all of it; iterate `for message in consumer:` and stop at n",
        "fr": "votre groupe a validé {committed} messages alors que vous en avez renvoyé {n} : `poll()` renvoie "
              "tout un lot et commit() le valide en entier ; parcourez `for message in consumer:` et arrêtez-vous "
              "à n"},
    "no_resume": {
        "en": "after reading {first} then {second} messages, the group's committed offsets add up to {committed}, "
              "not {want}: the second call must resume where the group stopped (no seek, no new group id)",
        "fr": "après avoir lu {first} puis {second} messages, les décalages validés du groupe font {committed} "
              "au total, pas {want} : le deuxième appel doit reprendre là où le groupe s'est arrêté (pas de seek, "
              "pas de nouvel identifiant de groupe)"},
    "lag_none": {"en": "group_lag returned nothing: return a number (end offset minus committed offset, summed "
                       "over the partitions)",
                 "fr": "group_lag n'a rien renvoyé : renvoyez un nombre (décalage de fin moins décalage validé, "
                       "additionné sur les partitions)"},
    "lag_wrong": {
        "en": "group_lag says {got} when {when}; it should be {want}: for each partition, end offset minus the "
              "group's committed offset (nothing committed yet: the start of the partition), then add up",
        "fr": "group_lag donne {got} quand {when} ; il faudrait {want} : pour chaque partition, décalage de fin "
              "moins décalage validé du groupe (rien de validé : le début de la partition), puis additionnez"},
    "when_first": {"en": "the group has read {n} of {total}", "fr": "le groupe a lu {n} messages sur {total}"},
    "when_never": {"en": "a group has read nothing of {total}", "fr": "un groupe n'a rien lu des {total} messages"},
    "when_late": {"en": "{late} more messages arrived after the group read {n} of {total}",
                  "fr": "{late} messages de plus sont arrivés après que le groupe en a lu {n} sur {total}"},
    "right": {
        "en": "right: your group read {first} then {second} messages, committed {committed}, and its lag "
              "followed the topic ({lags}), on a topic you had not seen",
        "fr": "juste : votre groupe a lu {first} puis {second} messages, en a validé {committed}, et son retard "
              "a suivi le topic ({lags}), sur un topic que vous n'aviez pas vu"},
})


def _run(function, name: str, hung: list, *args):
    """The function's value, or a Verdict saying why there is none; `hung` gets `name` if it never returned."""
    returned, value = call_within(function, *args, timeout_s=STUDENT_TIMEOUT_S)
    if not returned:
        hung.append(name)
        return Verdict(False, _("too_slow", function=name, seconds=STUDENT_TIMEOUT_S))
    if isinstance(value, BaseException):
        return raised(name, value)
    return value


def _committed(cfg: _config.LabConfig, group: str, topic: str) -> int:
    """The sum over the topic's partitions of the group's committed offsets (0 where none)."""
    with kafka.admin(cfg) as admin:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    return sum(max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == topic)


def _fill(cfg: _config.LabConfig, topic: str, sizes: dict[int, int], start: int) -> int:
    """Send sizes[p] small messages to partition p; return the next message number."""
    producer = kafka.kafka_python_producer(cfg, acks="all", client_id="lab-check")
    try:
        futures = []
        for partition, count in sizes.items():
            for _n in range(count):
                futures.append(producer.send(topic, partition=partition, key=str(start).encode(),
                                             value=b'{"check": %d}' % start))
                start += 1
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)
    return start


def _cleanup(cfg: _config.LabConfig, topic: str, groups: list[str]) -> None:
    from kafka.errors import KafkaError

    try:
        with kafka.admin(cfg) as admin:
            admin.delete_groups(groups)
    except (KafkaError, OSError):  # a group still in use (a student's consumer left running) expires on its own
        pass
    kafka.delete_topics(cfg, [topic])


def consumer_group(read_and_commit, group_lag) -> Verdict:
    """Notebook 01: the student's `read_and_commit(topic, group_id, n)` and `group_lag(topic, group_id)`,
    run on a topic of the check's own (see the module's docstring)."""
    if not_done(read_and_commit) or not_done(group_lag):
        return placeholder()
    cfg = _config.load()
    run_id = uuid.uuid4().hex[:10]
    topic, group, idle = f"lab-check-{run_id}", f"lab-check-{run_id}", f"lab-check-{run_id}-idle"
    kafka.ensure_topic(cfg, topic, partitions=len(HIDDEN_PARTITION_SIZES))
    hung: list[str] = []
    try:
        total = _fill(cfg, topic, dict(enumerate(HIDDEN_PARTITION_SIZES)), 1) - 1
        lags = []

        def read(n: int):
            messages = _run(read_and_commit, "read_and_commit", hung, topic, group, n)
            if isinstance(messages, Verdict):
                return messages
            if messages is None or messages is Ellipsis:
                return placeholder()
            if not isinstance(messages, (list, tuple)):
                return Verdict(False, _("not_a_list", got=repr(messages)[:60]))
            if len(messages) == 0:
                return Verdict(False, _("read_none", n=n))
            if len(messages) != n:
                return Verdict(False, _("read_count", got=len(messages), n=n))
            return None

        def lag(group_id: str, want: int, when: str):
            got = _run(group_lag, "group_lag", hung, topic, group_id)
            if isinstance(got, Verdict):
                return got
            if got is None or got is Ellipsis:
                return Verdict(False, _("lag_none"))
            if got != want:
                return Verdict(False, _("lag_wrong", got=got, want=want, when=when))
            if group_id == group:
                lags.append(want)
            return None

        wrong = read(FIRST_READ)
        if wrong is not None:
            return wrong
        committed = _committed(cfg, group, topic)
        if committed == 0:
            return Verdict(False, _("no_commit", n=FIRST_READ))
        if committed != FIRST_READ:
            return Verdict(False, _("over_commit", committed=committed, n=FIRST_READ))
        wrong = lag(group, total - FIRST_READ, _("when_first", n=FIRST_READ, total=total))
        if wrong is not None:
            return wrong
        wrong = read(SECOND_READ)
        if wrong is not None:
            return wrong
        committed = _committed(cfg, group, topic)
        if committed != FIRST_READ + SECOND_READ:
            return Verdict(False, _("no_resume", first=FIRST_READ, second=SECOND_READ, committed=committed,
                                    want=FIRST_READ + SECOND_READ))
        read_so_far = FIRST_READ + SECOND_READ
        for check in ((group, total - read_so_far, _("when_first", n=read_so_far, total=total)),
                      (idle, total, _("when_never", total=total))):
            wrong = lag(*check)
            if wrong is not None:
                return wrong
        _fill(cfg, topic, {1: LATE_ARRIVALS}, total + 1)
        wrong = lag(group, total + LATE_ARRIVALS - read_so_far,
                    _("when_late", late=LATE_ARRIVALS, n=read_so_far, total=total))
        if wrong is not None:
            return wrong
        return Verdict(True, _("right", first=FIRST_READ, second=SECOND_READ, committed=read_so_far,
                               lags=", ".join(str(n) for n in lags)))
    finally:
        # A consumer still waiting in a thread would log errors forever once its topic is gone: then the
        # topic stays (it is small) and the consumer waits quietly until the kernel stops.
        if not hung:
            _cleanup(cfg, topic, [group, idle])
