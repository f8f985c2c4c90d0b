"""lab_utils.training: the metrics, the split by time, and a small training, with a local Spark
session and generated history (the pipeline's own transformations, no Kafka). No service needed;
the command on the live stack is in tests/test_scoring_on_the_stack.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from lab_utils import training
from lab_utils.errors import NotEnoughHistory
from lab_utils.generator import TransactionGenerator
from lab_utils.pipeline import scoring

UTC = timezone.utc


# --------------------------------------------------------------------------- metrics, exactly

def test_auc_is_the_chance_a_fraud_outranks_an_honest_payment():
    assert training.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert training.auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert training.auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5  # ties count half
    # 2 frauds x 3 honest = 6 pairs; the fraud at 0.4 loses to 0.6 and ties 0.4: 1 + 0.5 lost
    assert training.auc([1, 1, 0, 0, 0], [0.9, 0.4, 0.6, 0.4, 0.1]) == pytest.approx(4.5 / 6)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    s = rng.random(2000)
    pairs = (s[y == 1][:, None] > s[y == 0][None, :]).mean()
    assert training.auc(y, s) == pytest.approx(pairs, abs=1e-9)


def test_roc_curve_has_one_point_per_distinct_score():
    fpr, tpr, thresholds = training.roc_curve([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1])
    assert list(thresholds) == [np.inf, 0.9, 0.8, 0.1]
    assert list(tpr) == [0, 0.5, 1, 1] and list(fpr) == [0, 0, 0.5, 1]


def test_at_threshold_flags_scores_at_or_above_it():
    m = training.at_threshold([1, 1, 0, 0, 1], [0.9, 0.5, 0.5, 0.2, 0.1], 0.5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert training.at_threshold([1, 0], [0.1, 0.2], 0.9)["precision"] == 0.0  # nothing flagged


def test_best_f1_threshold():
    # flag >= 0.7: tp 2, fp 0, fn 1 -> F1 0.8; >= 0.4: tp 3, fp 1 -> 0.857; >= 0.2: tp 3 fp 2 -> 0.75
    assert training.best_f1_threshold([1, 1, 0, 1, 0, 0], [0.9, 0.7, 0.5, 0.4, 0.2, 0.1]) == 0.4


def test_metrics_refuse_mismatched_inputs():
    with pytest.raises(ValueError, match="same length"):
        training.auc([1, 0], [0.5])


# --------------------------------------------------------------------------- time decides

END = datetime(2026, 6, 29, tzinfo=UTC)


def history(spark, n=12_000, weeks=4, seed=1, fraud_ratio=0.05):
    """`n` payments over the `weeks` before END, labelled as train() would see them at END."""
    records = TransactionGenerator(seed=seed, fraud_ratio=fraud_ratio, clock="simulated",
                                   start=END - timedelta(weeks=weeks),
                                   events_per_second=n / (weeks * 7 * 86_400)).take(n)
    frame = training.with_labels(training.frame_from_records(spark, records), training.labels_from_records(spark, records))
    return frame.cache(), records


@pytest.fixture(scope="module")
def small(spark):
    """Yields (labelled history, records): 12,000 payments, 5 % fraud, 4 weeks. Unpersists it afterwards."""
    frame, records = history(spark)
    yield frame, records
    frame.unpersist()


def test_split_cuts_by_time_and_leaves_out_what_has_no_label_yet(small):
    frame, _ = small
    ranges = training.split(frame)
    first, fit_from, test_from, unlabelled_from = ranges.bounds
    assert unlabelled_from == ranges.as_of - training.LABEL_MATURITY
    second = timedelta(seconds=1)
    assert fit_from - first == pytest.approx(test_from - fit_from, abs=second)
    assert test_from - fit_from == pytest.approx(unlabelled_from - test_from, abs=second)
    counts = [df.count() for df in (ranges.profile, ranges.fit, ranges.test, ranges.unlabelled)]
    assert sum(counts) == frame.count() and min(counts) > 0  # every payment in exactly one range
    for df, start, end in ((ranges.fit, fit_from, test_from), (ranges.test, test_from, unlabelled_from)):
        times = df.selectExpr("min(event_time)", "max(event_time)").first()
        assert start <= times[0].astimezone(UTC) and times[1].astimezone(UTC) < end
    assert ranges.before_test.count() == counts[0] + counts[1]
    table = ranges.table()
    assert list(table["range"]) == ["profile", "fit", "test", "no label yet"] and list(table.transactions) == counts


def test_a_chargeback_reported_after_as_of_is_not_a_label_yet(spark, small):
    frame, records = small
    labels = training.labels_from_records(spark, records)
    early = END - timedelta(days=10)
    seen = training.with_labels(frame.drop("label", "fraud_type", "reported_at"), labels, as_of=early)
    reported = sum(r.chargeback is not None and r.chargeback.reported_at < early.isoformat()[:19] for r in records)
    assert seen.where("label = 1").count() == reported < sum(r.chargeback is not None for r in records)


def test_too_recent_or_too_few_frauds_is_one_line_naming_the_fix(spark):
    recent, _ = history(spark, n=2000, weeks=0.5)
    with pytest.raises(NotEnoughHistory, match=r"none has its chargebacks yet.*--history-weeks"):
        training.split(recent)
    honest, _ = history(spark, n=3000, fraud_ratio=0.001)
    with pytest.raises(NotEnoughHistory, match=r"only \d+ frauds to fit on and \d+ to test on.*--fraud-ratio") as e:
        training.split(honest)
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- a small training

@pytest.fixture(scope="module")
def trained(spark, small):
    """Yields the Report of train() on the small history (fitted once for the tests below), not saved."""
    frame, _ = small
    yield training.train(spark, history=frame, save_model=False)


def test_train_on_small_history_ranks_frauds_first_on_the_held_out_range(trained):
    report = trained
    test = report.test
    # the held-out range only, and its card profiles come from before it
    assert test.transaction_id.is_unique and len(test) == report.ranges.test.count()
    assert report.auc > 0.85, str(report)  # on 12,000 payments; the benchmark measures 200,000
    assert 0 < report.threshold < 1 and 0 < report.precision <= 1 and 0 < report.recall <= 1
    assert report.figures["rules"]["recall"] > report.recall * 0.5
    as_json = report.to_json()
    assert {"auc", "precision", "recall", "model_version"} <= set(as_json) and as_json["model_version"] is None
    lines = str(report).splitlines()
    assert len(lines) == 5 and "AUC" in lines[2] and "not saved" in lines[4]


def test_the_model_holds_on_another_seed_after_the_history(spark, trained):
    report = trained

    class Model:  # what models.load() returns, without the bucket
        pipeline = report.fitted.pipeline
        profiles = scoring.card_profiles(report.ranges.everything)
        meta = {"as_of": report.ranges.as_of.isoformat()}
        threshold = report.threshold

    other = training.evaluate_on_seed(spark, Model, seed=99, count=6000, weeks=1, fraud_ratio=0.05)
    assert other["rows"] == 6000 - 0 and other["frauds"] > 100
    assert other["auc"] > 0.85, other
