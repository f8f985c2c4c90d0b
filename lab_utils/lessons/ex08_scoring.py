"""Notebook 08's exercise check: choosing the threshold that keeps precision at 0.9 or more.

The student writes `choose_threshold(labels, scores, min_precision=0.9)` -> (threshold, recall):
among the thresholds whose precision is at least `min_precision` (a payment is flagged when its
score is >= the threshold), the one that catches the most frauds, and the share it catches. The
check runs it on cases the student did not see (ties, another min_precision, a realistic set),
then on the held-out payments the notebook passes in.
"""

from __future__ import annotations

import math

from .. import i18n
from .verdict import Verdict, not_done, placeholder

_ = i18n.catalog(__name__, {
    "raised": {
        "en": "choose_threshold raised {error}",
        "fr": "choose_threshold a levé l'exception {error}",
    },
    "not_a_pair": {
        "en": "choose_threshold should return two numbers, (threshold, recall); it returned {got}",
        "fr": "choose_threshold doit renvoyer deux nombres, (seuil, rappel) ; elle a renvoyé {got}",
    },
    "precision_too_low": {
        "en": "on a hidden case (min_precision={min_precision}) the threshold {threshold:.4g} gives a precision of "
              "{precision:.3f}, below {min_precision}: a payment is flagged when its score is >= the threshold, so "
              "raise it until the flagged payments are frauds often enough",
        "fr": "sur un cas caché (min_precision={min_precision}), le seuil {threshold:.4g} donne une précision de "
              "{precision:.3f}, sous {min_precision} : une transaction est signalée quand son score est >= au seuil, "
              "remontez-le jusqu'à ce que les transactions signalées soient assez souvent des fraudes",
    },
    "recall_not_best": {
        "en": "on a hidden case (min_precision={min_precision}) the threshold {threshold:.4g} keeps the precision at "
              "{precision:.3f} but catches only {recall:.3f} of the frauds, and {best:.3f} is possible: among the "
              "thresholds whose precision is high enough, take the lowest",
        "fr": "sur un cas caché (min_precision={min_precision}), le seuil {threshold:.4g} garde une précision de "
              "{precision:.3f} mais n'attrape que {recall:.3f} des fraudes, alors que {best:.3f} est possible : parmi "
              "les seuils dont la précision suffit, prenez le plus bas",
    },
    "recall_wrong": {
        "en": "the threshold {threshold:.4g} is right on a hidden case, but the recall returned, {got}, is not the "
              "share of frauds whose score is >= it ({recall:.4f}): recall = frauds flagged / all frauds",
        "fr": "le seuil {threshold:.4g} est le bon sur un cas caché, mais le rappel renvoyé, {got}, n'est pas la part "
              "des fraudes dont le score est >= au seuil ({recall:.4f}) : rappel = fraudes signalées / toutes les "
              "fraudes",
    },
    "right": {
        "en": "right on every hidden case. On the held-out payments: threshold {threshold:.4f}, {flagged:,} flagged, "
              "precision {precision:.3f}, recall {recall:.3f} ({caught:,} of {frauds:,} frauds caught)",
        "fr": "juste sur chaque cas caché. Sur les transactions mises de côté : seuil {threshold:.4f}, {flagged:,} "
              "signalées, précision {precision:.3f}, rappel {recall:.3f} ({caught:,} fraudes attrapées sur {frauds:,})",
    },
    "right_no_data": {
        "en": "right on every hidden case",
        "fr": "juste sur chaque cas caché",
    },
})


def _rates(labels, scores, threshold: float) -> tuple[float, float, int, int, int]:
    """(precision, recall, flagged, frauds caught, frauds) when scores >= threshold are flagged."""
    flagged = [y for y, s in zip(labels, scores) if s >= threshold]
    caught, frauds = sum(flagged), sum(labels)
    return (caught / len(flagged) if flagged else 0.0, caught / frauds if frauds else 0.0, len(flagged),
            int(caught), int(frauds))


def _best_recall(labels, scores, min_precision: float) -> float:
    """The highest recall among thresholds (each distinct score) whose precision is >= min_precision:
    one pass down the scores, flagging one group of equal scores at a time."""
    pairs = sorted(zip(scores, labels), reverse=True)
    frauds = sum(labels) or 1
    best, caught, flagged, i = 0.0, 0, 0, 0
    while i < len(pairs):
        score = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == score:
            caught += pairs[i][1]
            flagged += 1
            i += 1
        if caught / flagged >= min_precision - 1e-12:
            best = max(best, caught / frauds)
    return best


def _hidden_cases() -> list[tuple[list[int], list[float], float]]:
    """(labels, scores, min_precision): small cases with ties, another min_precision, a realistic set."""
    import random

    rng = random.Random(8)
    realistic_labels, realistic_scores = [], []
    for _case in range(3000):
        fraud = rng.random() < 0.03
        realistic_labels.append(int(fraud))
        realistic_scores.append(round(min(1.0, max(0.0, rng.gauss(0.7 if fraud else 0.15, 0.18))), 3))
    return [
        ([1, 1, 1, 0, 1, 0, 0, 1, 0, 0], [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2], 0.9),
        # ties: three payments share 0.6, one of them honest
        ([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0], [.99, .97, .95, .93, .9, .88, .86, .84, .82, .6, .6, .6, .3, .1],
         0.9),
        ([1, 1, 0, 1, 0, 1, 1, 0, 0, 0], [0.9, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3, 0.2], 0.6),
        (realistic_labels, realistic_scores, 0.9),
        (realistic_labels, realistic_scores, 0.8),
    ]


def choose_threshold(fn, labels=None, scores=None) -> Verdict:
    """Notebook 08: `fn(labels, scores, min_precision=0.9)` must return (threshold, recall), the
    threshold with the best recall among those whose precision is >= min_precision.

    Runs `fn` on hidden cases; when the held-out `labels` and `scores` are given, also says what the
    student's threshold gives on them.
    """
    if not_done(fn):
        return placeholder()
    for case_labels, case_scores, min_precision in _hidden_cases():
        try:
            answer = fn(list(case_labels), list(case_scores), min_precision=min_precision)
        except Exception as e:  # noqa: BLE001 - shown to the student
            return Verdict(False, _("raised", error=f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                                    if str(e) else type(e).__name__))
        if not_done(answer):  # `return ...` still in the exercise cell
            return placeholder()
        try:
            threshold, recall = (float(x) for x in answer)
        except (TypeError, ValueError):
            return Verdict(False, _("not_a_pair", got=repr(answer)[:100]))
        if not (math.isfinite(threshold) and math.isfinite(recall)):
            return Verdict(False, _("not_a_pair", got=repr(answer)[:100]))
        precision, true_recall, *_counts = _rates(case_labels, case_scores, threshold)
        if precision < min_precision - 1e-12:
            return Verdict(False, _("precision_too_low", min_precision=min_precision, threshold=threshold,
                                    precision=precision))
        best = _best_recall(case_labels, case_scores, min_precision)
        if true_recall < best - 1e-9:
            return Verdict(False, _("recall_not_best", min_precision=min_precision, threshold=threshold,
                                    precision=precision, recall=true_recall, best=best))
        if abs(recall - true_recall) > 1e-6:
            return Verdict(False, _("recall_wrong", threshold=threshold, got=repr(answer[1])[:40], recall=true_recall))
    if labels is None or scores is None:
        return Verdict(True, _("right_no_data"))
    labels, scores = [int(y) for y in labels], [float(s) for s in scores]
    threshold, _recall = fn(labels, scores, min_precision=0.9)
    precision, recall, flagged, caught, frauds = _rates(labels, scores, float(threshold))
    return Verdict(True, _("right", threshold=float(threshold), flagged=flagged, precision=precision, recall=recall,
                           caught=caught, frauds=frauds))
