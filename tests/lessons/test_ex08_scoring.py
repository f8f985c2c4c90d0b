"""Notebook 08's check, checks.choose_threshold: ✅ for the solution, ❌ for the placeholder and for
the plausible wrong answers, in English and in French. No service needed."""

from __future__ import annotations

import pandas as pd
import pytest

from lab_utils import checks, config


def solution(labels, scores, min_precision=0.9):
    """The notebook's solution: one row per distinct score, from the highest down."""
    df = pd.DataFrame({"label": labels, "score": scores}).sort_values("score", ascending=False)
    per_score = df.groupby("score", sort=False)["label"].agg(["sum", "count"])
    caught, flagged = per_score["sum"].cumsum(), per_score["count"].cumsum()
    precision, recall = caught / flagged, caught / df["label"].sum()
    best = recall[precision >= min_precision].idxmax()
    return best, recall[best]


def curve(labels, scores):
    df = pd.DataFrame({"label": labels, "score": scores}).sort_values("score", ascending=False)
    per_score = df.groupby("score", sort=False)["label"].agg(["sum", "count"])
    caught, flagged = per_score["sum"].cumsum(), per_score["count"].cumsum()
    return caught / flagged, caught / df["label"].sum()


def recall_at(labels, scores, threshold):
    flagged = [y for y, s in zip(labels, scores) if s >= threshold]
    return sum(flagged) / sum(labels)


def always_half(labels, scores, min_precision=0.9):
    """The default threshold of every classifier."""
    return 0.5, recall_at(labels, scores, 0.5)


def highest_precision(labels, scores, min_precision=0.9):
    """Only the top score: precision 1, but most frauds let through."""
    top = max(scores)
    return top, recall_at(labels, scores, top)


def recall_at_least(labels, scores, min_precision=0.9):
    """Precision and recall swapped: the highest threshold whose RECALL is >= 0.9."""
    precision, recall = curve(labels, scores)
    best = recall[recall >= min_precision].index[0]
    return best, recall[best]


def returns_precision(labels, scores, min_precision=0.9):
    """The right threshold, but its precision where the recall should be."""
    precision, recall = curve(labels, scores)
    best = recall[precision >= min_precision].idxmax()
    return best, precision[best]


def strictly_above(labels, scores, min_precision=0.9):
    """Flags score > threshold when computing, so with ties the threshold it returns is off."""
    best = (1.0, 0.0)
    frauds = sum(labels)
    for t in sorted(set(scores), reverse=True):
        flagged = [y for y, s in zip(labels, scores) if s > t]
        if flagged and sum(flagged) / len(flagged) >= min_precision and sum(flagged) / frauds > best[1]:
            best = (t, sum(flagged) / frauds)
    return best


def hard_coded_0_9(labels, scores, min_precision=0.9):
    """Ignores min_precision."""
    return solution(labels, scores, 0.9)


def as_percentages(labels, scores, min_precision=0.9):
    threshold, recall = solution(labels, scores, min_precision)
    return threshold * 100, recall * 100


def one_number(labels, scores, min_precision=0.9):
    return solution(labels, scores, min_precision)[0]


def crashes(labels, scores, min_precision=0.9):
    return scores.max()  # lists have no .max(): written for a pandas Series only


WRONG = [always_half, highest_precision, recall_at_least, returns_precision, strictly_above, hard_coded_0_9,
         as_percentages, one_number, crashes]


@pytest.fixture(params=["en", "fr"])
def lang(request):
    """Yields each language in turn as the process's language; puts back the one chosen before."""
    before = config.use_language(request.param)
    yield request.param
    config.use_language(before)


def test_the_solution_passes_and_reports_the_held_out_figures(lang):
    labels = [1, 0, 1, 1, 0, 0, 0, 1, 0, 0] * 30
    scores = [0.99, 0.2, 0.95, 0.9, 0.85, 0.1, 0.3, 0.6, 0.05, 0.4] * 30
    verdict = checks.choose_threshold(solution, labels, scores)
    assert verdict, str(verdict)
    assert str(verdict).startswith("✅")
    assert {"en": "On the held-out payments: threshold 0.9000", "fr": "seuil 0,9000"}[lang].replace(
        "0,9000", "0.9000") in str(verdict)
    assert ("recall 1.000" if lang == "en" else "rappel 1.000") not in str(verdict)  # recall is 0.75 here
    assert ("recall 0.750" if lang == "en" else "rappel 0.750") in str(verdict)
    assert checks.choose_threshold(solution)  # the hidden cases alone


def untouched(labels, scores, min_precision=0.9):
    """The exercise cell as the notebook gives it."""
    return ...


@pytest.mark.parametrize("answer", [..., None, untouched])
def test_the_placeholder_is_refused(answer, lang):
    verdict = checks.choose_threshold(answer)
    assert not verdict and str(verdict).startswith("❌")
    assert {"en": "not done yet", "fr": "pas encore fait"}[lang] in str(verdict)


@pytest.mark.parametrize("wrong", WRONG, ids=lambda f: f.__name__)
def test_plausible_wrong_answers_are_refused_with_a_hint(wrong, lang):
    verdict = checks.choose_threshold(wrong)
    assert not verdict and str(verdict).startswith("❌"), (wrong.__name__, str(verdict))
    words = {"en": ("threshold", "choose_threshold", "recall", "precision"),
             "fr": ("seuil", "choose_threshold", "rappel", "précision")}[lang]
    assert any(w in str(verdict) for w in words), str(verdict)


def test_each_wrong_answer_gets_the_hint_that_fits():
    before = config.use_language("en")
    try:
        said = {f.__name__: str(checks.choose_threshold(f)) for f in WRONG}
    finally:
        config.use_language(before)
    assert "below 0.9" in said["always_half"] or "catches only" in said["always_half"]
    assert "catches only" in said["highest_precision"]
    assert "below" in said["recall_at_least"]
    assert "is not the share of frauds" in said["returns_precision"]
    assert "min_precision=0.6" in said["hard_coded_0_9"] or "min_precision=0.8" in said["hard_coded_0_9"]
    assert "two numbers" in said["one_number"] and "raised" in said["crashes"]
