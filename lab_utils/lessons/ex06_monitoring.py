"""Notebook 06's preflight and exercise check: monitoring with Prometheus.

    checks.monitoring_preflight()              # Kafka, MinIO AND Prometheus answer, or the command that starts them
    checks.rejected_per_second(promql)         # the student's PromQL: rejected messages per second, by reason

The check runs the student's query against Prometheus at instants when rejected messages were
flowing (found in the last half hour), and compares it, instant by instant, with the truth: the
reference query evaluated at the same instants over the same window. A hard-coded answer, a
query without rate(), without `sum by (reason)`, or on another metric does not match.
"""

from __future__ import annotations

import re

from .. import config as _config
from .. import i18n
from ..clients import prometheus
from ..clients.health import require_services
from ..errors import PromQLError, ServiceDown
from .verdict import Verdict, not_done, placeholder

_ = i18n.catalog(__name__, {
    "ready": {
        "en": "Kafka, MinIO and Prometheus answer; Prometheus scrapes {jobs}",
        "fr": "Kafka, MinIO et Prometheus répondent ; Prometheus collecte {jobs}",
    },
    "not_text": {
        "en": "write the PromQL query as text, in quotes: rejected_per_second = \"...\"",
        "fr": "écrivez la requête PromQL comme un texte, entre guillemets : rejected_per_second = \"...\"",
    },
    "no_data": {
        "en": "Prometheus saw no rejected message in the last {minutes} minutes: run the cells that start the "
              "pipeline and the producer (bad_ratio > 0), then this check again",
        "fr": "Prometheus n'a vu aucun message rejeté ces {minutes} dernières minutes : exécutez les cellules qui "
              "démarrent le pipeline et le producteur (bad_ratio > 0), puis relancez cette vérification",
    },
    "refused": {
        "en": "Prometheus refused the query: {error}",
        "fr": "Prometheus a refusé la requête : {error}",
    },
    "empty": {
        "en": "your query returns nothing of the rejected rows at {when}: the counter of rejected rows is lab_stream_rows_rejected_total "
              "(search it in the Prometheus UI, or look at the exporter's /metrics page)",
        "fr": "votre requête ne renvoie rien des lignes rejetées à {when} : le compteur des lignes rejetées est "
              "lab_stream_rows_rejected_total (cherchez-le dans l'interface de Prometheus, ou sur la page /metrics "
              "de l'exportateur)",
    },
    "labels": {
        "en": "each series should be labelled by its reason only, but yours carry {labels}: add up the other labels "
              "with sum by (reason) (...)",
        "fr": "chaque série ne devrait porter que sa raison (reason), or les vôtres portent {labels} : additionnez les "
              "autres labels avec sum by (reason) (...)",
    },
    "no_reason": {
        "en": "your series have no `reason` label: sum by (reason) (...) keeps one series per reason, where sum (...) "
              "adds them all up",
        "fr": "vos séries n'ont pas de label `reason` : sum by (reason) (...) garde une série par raison, alors que "
              "sum (...) les additionne toutes",
    },
    "reasons": {
        "en": "at {when} your query gives the reasons {got}, the truth is {want}",
        "fr": "à {when}, votre requête donne les raisons {got}, la vérité est {want}",
    },
    "no_rate": {
        "en": "at {when} your values ({got}) are totals, not rates: a counter only grows; rate(...[1m]) turns it "
              "into messages per second",
        "fr": "à {when}, vos valeurs ({got}) sont des totaux, pas des taux : un compteur ne fait que croître ; "
              "rate(...[1m]) le transforme en messages par seconde",
    },
    "values": {
        "en": "at {when} your values differ from the truth (reason: yours vs expected): {diff}; per second, not per "
              "minute, and over the window you wrote",
        "fr": "à {when}, vos valeurs diffèrent de la vérité (raison : les vôtres contre l'attendu) : {diff} ; par "
              "seconde, pas par minute, et sur la fenêtre que vous avez écrite",
    },
    "right": {
        "en": "right: {reasons} reasons, the same values as the truth at {n} instants (the latest: {top}, ...)",
        "fr": "juste : {reasons} raisons, les mêmes valeurs que la vérité à {n} instants (au plus récent : {top}…)",
    },
})

# The truth: rejected rows per second, by reason, over the window the student chose ([1m] by default).
REFERENCE = "sum by (reason) (rate(lab_stream_rows_rejected_total[{window}]))"
LOOK_BACK_MIN = 30
SETTLED_S = 30
INSTANTS = 3
# Both queries are evaluated on the same samples at the same instant: an equivalent expression gives
# the same number up to rounding (increase()/60 and rate() included).
TOLERANCE = 1e-3  # relative; plus 1e-6 message/s absolute


def monitoring_preflight(cfg: _config.LabConfig | None = None) -> Verdict:
    """Notebook 06's first cell: Kafka, MinIO and Prometheus answer (ServiceDown naming the fix if not)."""
    cfg = require_services(cfg)
    if not prometheus.prometheus_ready(cfg):
        raise ServiceDown(prometheus.prometheus_down_message(cfg))
    jobs = sorted({t["job"] for t in prometheus.targets(cfg) if t["health"] == "up"})
    return Verdict(True, _("ready", jobs=", ".join(jobs)))


def compared_instants(reference: str, window: str, cfg: _config.LabConfig) -> tuple[list[float], float | None]:
    """Up to INSTANTS Unix times of the last LOOK_BACK_MIN minutes when the reference (over `window`) had
    rejected rows, spread over that time (the latest first), and one when it had none (None if there was
    no such time): a hard-coded answer is then wrong somewhere."""
    import time

    # Not the last seconds: a scrape's samples carry the time it started and land a moment later, so
    # two evaluations of an instant that recent could see different data.
    end = time.time() - SETTLED_S
    # Only when every counter in the rate's window is still there: in the window after an exporter went
    # away its rate still has values, its counter none. Counting the series that exist is not enough:
    # another driver's counters (zeros) beside the rate of one that just stopped made totals look
    # smaller than rates (seen when the alert test ran between two tests of this check).
    live = (f"({reference}) and on () (count(last_over_time(lab_stream_rows_rejected_total[{window}]))"
            " == count(lab_stream_rows_rejected_total))")
    data = prometheus.api("query_range", {"query": live, "start": f"{end - LOOK_BACK_MIN * 60:.0f}",
                                          "end": f"{end:.0f}", "step": "15"}, cfg)
    totals: dict[float, float] = {}
    for series in data["result"]:
        for t, v in series["values"]:
            totals[float(t)] = totals.get(float(t), 0.0) + float(v)
    flowing = sorted((t for t, v in totals.items() if v > 0), reverse=True)
    quiet = max((t for t, v in totals.items() if v == 0), default=None)
    if len(flowing) > INSTANTS:
        step = (len(flowing) - 1) / (INSTANTS - 1)
        flowing = [flowing[round(i * step)] for i in range(INSTANTS)]
    return flowing, quiet


def _when(t: float, cfg: _config.LabConfig) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(t, ZoneInfo(cfg.LAB_TIMEZONE)).strftime("%H:%M:%S")


def rejected_per_second(answer, cfg: _config.LabConfig | None = None) -> Verdict:
    """Notebook 06: `answer` is a PromQL query for the rejected messages per second, by reason."""
    if not_done(answer):
        return placeholder()
    if not isinstance(answer, str) or not answer.strip():
        return Verdict(False, _("not_text"))
    cfg = cfg or _config.load()
    written = re.search(r"\[\s*(\d+(?:ms|[smhdwy]))\s*\]", answer)
    window = written.group(1) if written else "1m"
    reference = REFERENCE.format(window=window)
    instants, quiet = compared_instants(reference, window, cfg)
    if not instants:
        return Verdict(False, _("no_data", minutes=LOOK_BACK_MIN))
    top = ""
    for t in instants + ([quiet] if quiet is not None else []):
        when = _when(t, cfg)
        try:
            got = prometheus.query(answer, at=t, cfg=cfg)
        except PromQLError as e:
            return Verdict(False, _("refused", error=str(e).split(": ", 1)[-1][:300]))
        want = {s.labels["reason"]: s.value for s in prometheus.query(reference, at=t, cfg=cfg)}
        if t == quiet:  # nothing was rejected then: nothing, or zeros, is the truth
            if any(s.value > 1e-6 for s in got):
                mine = ", ".join(f"{s.labels.get('reason', '?')} {s.value:.3g}" for s in got if s.value > 1e-6)
                return Verdict(False, _("values", when=when, diff=f"{mine} vs 0"))
            continue
        if not got or ("lab_stream_rows_rejected_total" not in answer and not any("reason" in s.labels for s in got)):
            return Verdict(False, _("empty", when=when))
        extra = sorted({k for s in got for k in s.labels if k != "reason"})
        if extra:
            return Verdict(False, _("labels", labels=", ".join(extra)))
        if any("reason" not in s.labels for s in got):
            return Verdict(False, _("no_reason"))
        mine = {s.labels["reason"]: s.value for s in got}
        # A reason whose rate is 0 at that instant may be present on one side only.
        if {r for r, v in mine.items() if v > 0} - set(want) or {r for r, v in want.items() if v > 0} - set(mine):
            return Verdict(False, _("reasons", when=when, got=sorted(mine), want=sorted(want)))
        wrong = {r: (mine.get(r, 0.0), v) for r, v in want.items()
                 if abs(mine.get(r, 0.0) - v) > TOLERANCE * abs(v) + 1e-6}
        if wrong:
            if not re.search(r"\b(rate|irate|increase)\s*\(", answer) and all(g > w for g, w in wrong.values()):
                return Verdict(False, _("no_rate", when=when, got=", ".join(f"{g:,.0f}" for g, _w in wrong.values())))
            return Verdict(False, _("values", when=when, diff=", ".join(f"{r}: {g:.3g} vs {w:.3g}"
                                                                        for r, (g, w) in sorted(wrong.items()))))
        if not top:
            top = ", ".join(f"{r} {v:.2f}/s" for r, v in sorted(want.items(), key=lambda kv: -kv[1])[:3])
            reasons = sum(v > 0 for v in want.values())
    return Verdict(True, _("right", reasons=reasons, n=len(instants) + (quiet is not None), top=top))
