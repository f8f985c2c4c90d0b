"""Notebook 09's exercise check: when does Kafka still accept `acks=all` writes?

The student writes `writes_go_on(replication_factor, min_insync_replicas, brokers_down)`: True
when a producer with `acks=all` can still write to a partition whose replicas are on
`replication_factor` brokers, `brokers_down` of which are dead. Kafka's rule: the leader accepts
the write once every in-sync replica has it, and refuses it (NOT_ENOUGH_REPLICAS) while fewer
than `min.insync.replicas` replicas are in sync. So: replicas alive >= min.insync.replicas.
"""

from __future__ import annotations

from .. import i18n
from .verdict import Verdict, not_done, placeholder

_ = i18n.catalog(__name__, {
    "right": {
        "en": "right on all {n} cases: acks=all writes go on while the replicas still alive are at least "
              "min.insync.replicas",
        "fr": "juste dans les {n} cas : les écritures acks=all continuent tant que les répliques encore en vie sont au "
              "moins min.insync.replicas",
    },
    "not_callable": {
        "en": "writes_go_on should be a function of (replication_factor, min_insync_replicas, brokers_down), "
              "got {got}",
        "fr": "writes_go_on doit être une fonction de (replication_factor, min_insync_replicas, brokers_down), "
              "pas {got}",
    },
    "raised": {
        "en": "writes_go_on({rf}, {isr}, {down}) raised {error}",
        "fr": "writes_go_on({rf}, {isr}, {down}) a levé {error}",
    },
    "not_bool": {
        "en": "writes_go_on({rf}, {isr}, {down}) returned {got!r}: return True or False",
        "fr": "writes_go_on({rf}, {isr}, {down}) a renvoyé {got!r} : renvoyez True ou False",
    },
    "wrong_yes": {
        "en": "writes_go_on({rf}, {isr}, {down}) says True, but only {alive} replica(s) are left and the leader wants "
              "{isr} in sync: Kafka refuses the write (NOT_ENOUGH_REPLICAS)",
        "fr": "writes_go_on({rf}, {isr}, {down}) dit True, mais il ne reste que {alive} réplique(s) et le leader en "
              "veut {isr} synchronisées : Kafka refuse l'écriture (NOT_ENOUGH_REPLICAS)",
    },
    "wrong_no": {
        "en": "writes_go_on({rf}, {isr}, {down}) says False, but {alive} replica(s) are still alive and "
              "min.insync.replicas is {isr}: that is enough, Kafka acknowledges the write",
        "fr": "writes_go_on({rf}, {isr}, {down}) dit False, mais {alive} réplique(s) sont encore en vie et "
              "min.insync.replicas vaut {isr} : c'est assez, Kafka acquitte l'écriture",
    },
})

# (replication factor, min.insync.replicas, brokers down): the lesson's cluster first, then
# the edges: nothing left, exactly enough, min.insync.replicas above the replication factor.
CASES = [(3, 2, 0), (3, 2, 1), (3, 2, 2), (3, 2, 3), (3, 1, 2), (3, 3, 0), (3, 3, 1), (1, 1, 0), (1, 1, 1),
         (2, 1, 1), (2, 2, 1), (5, 3, 2), (5, 3, 3), (1, 2, 0)]


def expected(replication_factor: int, min_insync_replicas: int, brokers_down: int) -> bool:
    return replication_factor - brokers_down >= min_insync_replicas


def writes_go_on(answer) -> Verdict:
    """Notebook 09: the student's `writes_go_on(replication_factor, min_insync_replicas, brokers_down)`
    on cases they did not see; ✅ only when every one is right."""
    if not_done(answer):
        return placeholder()
    if not callable(answer):
        return Verdict(False, _("not_callable", got=type(answer).__name__))
    results = []
    for rf, isr, down in CASES:
        try:
            results.append(answer(rf, isr, down))
        except Exception as e:  # noqa: BLE001 - the student's code: say what it raised
            return Verdict(False, _("raised", rf=rf, isr=isr, down=down, error=f"{type(e).__name__}: {e}"))
    if all(r is None or r is Ellipsis for r in results):
        return placeholder()  # the body is still `...`
    for (rf, isr, down), got in zip(CASES, results):
        if not isinstance(got, bool) and type(got).__name__ != "bool_":  # numpy's bool is fine
            return Verdict(False, _("not_bool", rf=rf, isr=isr, down=down, got=got))
        want = expected(rf, isr, down)
        if bool(got) != want:
            key = "wrong_yes" if got else "wrong_no"
            return Verdict(False, _(key, rf=rf, isr=isr, down=down, alive=max(rf - down, 0)))
    return Verdict(True, _("right", n=len(CASES)))
