"""Training the fraud model on labelled history, evaluated on data it never saw (`python -m lab_utils train`).

    report = train(spark)        # read output/ and the chargebacks, fit, evaluate, save a version
    print(report)                # AUC, precision and recall on the held-out range, and the rules' too

Notebook 08 runs the same steps one by one:

    history = labelled_history(spark)            # output/ rows with a card_id, + label (1.0 = fraud)
    ranges = split(history)                      # profile | fit | test | no label yet, by time
    fitted = fit(ranges)                         # card profiles from the profile range, then the pipeline
    test = predictions(fitted, ranges.test, scoring.card_profiles(ranges.before_test))
    version = save(spark, fitted.pipeline, ranges, figures)  # with the card profiles of the whole history

The history is the valid transactions in output/ (committed files only) that carry a card_id.
The labels are the chargebacks topic, `<KAFKA_TOPIC>-chargebacks`: what the bank learns about a
fraudulent payment 1 to 7 days after it. Time decides what the model may learn from:

- as_of, the newest payment in the history, is "now" for this training. A payment less than
  LABEL_MATURITY (7 days) older than as_of may still get its chargeback: it has no label yet
  and is left out of fitting and testing (it still counts in the card profiles the stream uses).
- The labelled rest is cut in three equal time ranges: card profiles are built from the first
  (the profile range), the model is fitted on the second (the fit range), and the third (the
  test range) is held out: never used to fit or choose anything. Its card profiles come from
  the two ranges before it, so every feature uses only the past, as in the stream.
- The threshold is the one with the best F1 on the fit range; the test range then says what
  precision and recall it really gives.

Metrics are computed exactly, in numpy, from the test range's scores (roc_curve, auc,
at_threshold): the notebook plots the same numbers the command prints.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import config as _config
from . import i18n, messages
from .clients import kafka, storage
from .errors import NotEnoughHistory
from .generator import TransactionGenerator
from .pipeline import models, scoring
from .pipeline.transform import classify, to_output

LABEL_MATURITY = timedelta(days=7)  # the generator's chargebacks come 1 to 7 days after the payment
MIN_FRAUDS = 10  # in each of the fit and test ranges: fewer gives numbers that mean nothing
CHARGEBACK_SCHEMA = ("transaction_id LONG, card_id STRING, fraud_type STRING, transaction_time TIMESTAMP, "
                     "reported_at TIMESTAMP")

_ = i18n.catalog(__name__, {
    "no_history": {
        "en": "no transactions with a card_id in {path}: produce labelled history with `python -m lab_utils "
              "produce --count 200000 --fraud-ratio 0.02 --history-weeks 4`, then `python -m lab_utils stream "
              "--available-now`{prefix_hint}",
        "fr": "aucune transaction avec un card_id dans {path} : produisez un historique étiqueté avec `python -m "
              "lab_utils produce --count 200000 --fraud-ratio 0.02 --history-weeks 4`, puis `python -m lab_utils "
              "stream --available-now`{prefix_hint}",
    },
    "too_recent": {
        "en": "the {rows} transactions in {path} span {first} to {last}: none is {days} days older than the newest, "
              "so none has its chargebacks yet; produce history that goes back further (`produce --history-weeks 4`)",
        "fr": "les {rows} transactions de {path} vont du {first} au {last} : aucune n'a {days} jours de plus que la "
              "plus récente, donc aucune n'a encore ses rétrofacturations (chargebacks) ; produisez un historique "
              "plus ancien (`produce --history-weeks 4`)",
    },
    "too_few_frauds": {
        "en": "only {fit} frauds to fit on and {test} to test on (at least {least} each): produce more labelled "
              "history (`produce --count 200000 --fraud-ratio 0.02 --history-weeks 4`) or a higher --fraud-ratio",
        "fr": "seulement {fit} fraudes pour l'apprentissage et {test} pour le test (il en faut au moins {least} "
              "de chaque) : produisez plus d'historique étiqueté (`produce --count 200000 --fraud-ratio 0.02 "
              "--history-weeks 4`) ou un --fraud-ratio plus élevé",
    },
    "report": {
        "en": "fraud model {version}: fitted on {fit_rows:,} transactions ({fit_frauds:,} frauds) from {fit_from} "
              "to {fit_to}, card profiles from {profile_from}\n"
              "held out: {test_rows:,} later transactions ({test_frauds:,} frauds) from {test_from} to {test_to}; "
              "{unlabelled:,} newer ones have no label yet\n"
              "AUC {auc:.3f}; at the threshold {threshold:.3f}: precision {precision:.3f}, recall {recall:.3f}\n"
              "rules (baseline): AUC {rules_auc:.3f}; flagged when a rule holds: precision {rules_precision:.3f}, "
              "recall {rules_recall:.3f}\n"
              "{saved} ({seconds:.0f} s, of which fitting {fit_seconds:.0f} s)",
        "fr": "modèle de fraude {version} : appris sur {fit_rows:,} transactions ({fit_frauds:,} fraudes) du "
              "{fit_from} au {fit_to}, profils des cartes depuis le {profile_from}\n"
              "mises de côté : {test_rows:,} transactions plus récentes ({test_frauds:,} fraudes) du {test_from} au "
              "{test_to} ; {unlabelled:,} plus récentes encore n'ont pas d'étiquette\n"
              "AUC {auc:.3f} ; au seuil {threshold:.3f} : précision {precision:.3f}, rappel {recall:.3f}\n"
              "règles (référence) : AUC {rules_auc:.3f} ; signalée dès qu'une règle tient : précision "
              "{rules_precision:.3f}, rappel {rules_recall:.3f}\n"
              "{saved} ({seconds:.0f} s, dont apprentissage {fit_seconds:.0f} s)",
    },
    "saved": {"en": "saved in {path}", "fr": "enregistré dans {path}"},
    "not_saved": {"en": "not saved", "fr": "non enregistré"},
})


# --------------------------------------------------------------------------- history and labels

def require_history(root: str = "", cfg: _config.LabConfig | None = None) -> None:
    """NotEnoughHistory (one line naming the commands that make some) when `<root>/output/` has no
    committed file yet. Asks the bucket only, so `train` can say it before starting Spark."""
    cfg = cfg or _config.load()
    if not storage.committed_files(f"{root}/output".lstrip("/"), cfg=cfg):
        raise NotEnoughHistory(_("no_history", path=cfg.s3a_path(root, "output"), prefix_hint=_prefix_hint(root)))


def read_history(spark, root: str = "", cfg: _config.LabConfig | None = None):
    """The valid transactions of `<root>/output/` that carry a card_id (committed files only).

    Read with mergeSchema, so files written before output/ had its card columns do not hide them.
    """
    from pyspark.sql import functions as F
    from pyspark.errors import AnalysisException

    cfg = cfg or _config.load()
    path = cfg.s3a_path(root, "output")
    try:
        output = spark.read.option("mergeSchema", "true").parquet(path)
    except AnalysisException:  # no output/ at all yet
        output = None
    if output is None or "card_id" not in output.columns:
        raise NotEnoughHistory(_("no_history", path=path, prefix_hint=_prefix_hint(root)))
    return output.where(F.col("card_id").isNotNull())


def read_labels(spark, topic: str | None = None, cfg: _config.LabConfig | None = None):
    """The chargebacks of `topic`'s payments (from `<topic>-chargebacks`), one row per transaction_id.

    Empty (with the columns) when the topic does not exist yet.
    """
    from pyspark.sql import functions as F

    cfg = cfg or _config.load()
    chargebacks = cfg.chargebacks_topic(topic)
    if chargebacks not in kafka.list_topics(cfg):
        return spark.createDataFrame([], CHARGEBACK_SCHEMA)
    raw = (spark.read.format("kafka")
           .option("kafka.bootstrap.servers", cfg.KAFKA_BOOTSTRAP_SERVERS)
           .option("subscribe", chargebacks)
           .option("startingOffsets", "earliest").option("endingOffsets", "latest")
           .load())
    parsed = raw.select(F.from_json(F.col("value").cast("string"), CHARGEBACK_SCHEMA).alias("c")).select("c.*")
    # A producer's retry may have sent one twice (at-least-once is enough for labels).
    return parsed.where(F.col("transaction_id").isNotNull()).dropDuplicates(["transaction_id"])


def frame_from_records(spark, records, timezone_name: str | None = None):
    """The output/ rows the pipeline would write for generator `records`, without Kafka: the same
    transformations (classify, to_output) on an in-memory DataFrame. For tests and for evaluating
    a model on another seed."""
    import pandas as pd

    tz = timezone_name or _config.load().LAB_TIMEZONE
    raw = pd.DataFrame({"key": [r.key for r in records], "value": [r.value for r in records],
                        "partition": [0] * len(records), "offset": range(len(records))})
    frame = spark.createDataFrame(raw, "key binary, value binary, partition int, offset long")
    return to_output(classify(frame, messages.load_rates()), tz)


def labels_from_records(spark, records):
    """The chargebacks of generator `records` as a DataFrame (what read_labels returns)."""
    rows = [json.loads(r.chargeback.message()[1]) for r in records if r.chargeback is not None]
    schema = CHARGEBACK_SCHEMA
    if not rows:
        return spark.createDataFrame([], schema)
    from pyspark.sql import functions as F

    frame = spark.createDataFrame([(r["transaction_id"], r["card_id"], r["fraud_type"], r["transaction_time"],
                                    r["reported_at"]) for r in rows],
                                  "transaction_id LONG, card_id STRING, fraud_type STRING, transaction_time STRING, "
                                  "reported_at STRING")
    return (frame.withColumn("transaction_time", F.col("transaction_time").cast("timestamp"))
            .withColumn("reported_at", F.col("reported_at").cast("timestamp")))


def with_labels(history, labels, as_of: datetime | None = None):
    """`history` with `label` (1.0 when a chargeback for it was reported by `as_of`, else 0.0),
    `fraud_type` and `reported_at` (null for honest payments). as_of defaults to the newest payment."""
    from pyspark.sql import functions as F

    as_of = as_of or newest_payment(history)
    known = labels.where(F.col("reported_at") <= F.lit(as_of))
    # The chargebacks are few (one per fraud): sent to every task rather than shuffled.
    return (history.join(F.broadcast(known.select("transaction_id", "fraud_type", "reported_at")),
                         "transaction_id", "left")
            .withColumn("label", F.col("reported_at").isNotNull().cast("double")))


def labelled_history(spark, root: str = "", topic: str | None = None, cfg: _config.LabConfig | None = None):
    """read_history joined with read_labels, as of the newest payment (cached: split() reads it several times)."""
    cfg = cfg or _config.load()
    history = read_history(spark, root, cfg)
    history = history.coalesce(spark.sparkContext.defaultParallelism)  # one task per core, not per file
    return with_labels(history, read_labels(spark, topic, cfg)).cache()


def newest_payment(history) -> datetime:
    """The event_time of the newest payment in `history` (UTC), or raise NotEnoughHistory."""
    from pyspark.sql import functions as F

    newest = history.agg(F.max("event_time")).first()[0]
    if newest is None:
        raise NotEnoughHistory(_("no_history", path="output/", prefix_hint=""))
    return newest.astimezone(timezone.utc)  # PySpark gives naive local times


# --------------------------------------------------------------------------- time decides

@dataclass
class Ranges:
    """The labelled history cut by time (see the module's docstring). DataFrames, plus the instants.

    profile, fit, test: the three labelled ranges; before_test: profile + fit (the test range's
    card history); unlabelled: the newest payments, no label yet; everything: the whole history
    (the card profiles the saved model carries). bounds: start of profile, fit, test, unlabelled.
    """

    as_of: datetime
    bounds: tuple[datetime, datetime, datetime, datetime]
    profile: object
    fit: object
    test: object
    before_test: object
    unlabelled: object
    everything: object

    def table(self):
        """The ranges as a small pandas table: from, to, transactions, frauds."""
        import pandas as pd
        from pyspark.sql import functions as F

        rows = []
        ends = (*self.bounds[1:], self.as_of)
        for name, df, start, end in zip(("profile", "fit", "test", "no label yet"),
                                        (self.profile, self.fit, self.test, self.unlabelled), self.bounds, ends):
            counts = df.agg(F.count(F.lit(1)), F.sum("label")).first()
            rows.append({"range": name, "from": start, "to": end, "transactions": counts[0],
                         "frauds": int(counts[1] or 0) if name != "no label yet" else None})
        return pd.DataFrame(rows)


def split(history, as_of: datetime | None = None, maturity: timedelta = LABEL_MATURITY) -> Ranges:
    """Cut labelled `history` by time: profile | fit | test (equal thirds of the labelled span) | no label yet.

    Raises NotEnoughHistory, naming the command that produces more, when nothing is old enough to
    have its label, or when the fit or test range has fewer than MIN_FRAUDS frauds.
    """
    from pyspark.sql import functions as F

    as_of = as_of or newest_payment(history)
    first = history.agg(F.min("event_time")).first()[0].astimezone(timezone.utc)
    matured = as_of - maturity
    if matured <= first:
        raise NotEnoughHistory(_("too_recent", rows=history.count(), path="output/", first=f"{first:%Y-%m-%d %H:%M}",
                                 last=f"{as_of:%Y-%m-%d %H:%M}", days=maturity.days))
    third = (matured - first) / 3
    bounds = (first, first + third, first + 2 * third, matured)

    def between(start, end):
        return history.where((F.col("event_time") >= F.lit(start)) & (F.col("event_time") < F.lit(end)))

    after_all = as_of + timedelta(seconds=1)
    ranges = Ranges(as_of=as_of, bounds=bounds, profile=between(bounds[0], bounds[1]), fit=between(bounds[1], bounds[2]),
                    test=between(bounds[2], bounds[3]), before_test=between(bounds[0], bounds[2]),
                    unlabelled=between(bounds[3], after_all), everything=history)
    frauds = [int(df.agg(F.sum("label")).first()[0] or 0) for df in (ranges.fit, ranges.test)]
    if min(frauds) < MIN_FRAUDS:
        raise NotEnoughHistory(_("too_few_frauds", fit=frauds[0], test=frauds[1], least=MIN_FRAUDS))
    return ranges


# --------------------------------------------------------------------------- fit, predict, measure

@dataclass
class Fitted:
    """A fitted model and what it was fitted with: the PipelineModel and the fit range's rows
    (features computed from the profile range's card profiles), cached."""

    pipeline: object
    rows: object
    seconds: float


def fit(ranges: Ranges, reg_param: float = 0.001, max_iter: int = 30) -> Fitted:
    """Card profiles from the profile range, features of the fit range, then the Spark ML pipeline.

    max_iter 30: the logistic regression converges in about 40 iterations on the lab's data, and
    30 gave the same held-out figures to three decimals in a quarter of the time (measured on
    60,000 payments: 56 s instead of 201 s on the busy 2-core machine).
    """
    rows = scoring.features(ranges.fit, scoring.card_profiles(ranges.profile))
    # Every iteration of the regression is a Spark job over these rows: one task per core, not one
    # per Parquet file of output/ (a folder per day, several files each).
    rows = rows.coalesce(rows.sparkSession.sparkContext.defaultParallelism).cache()
    t0 = time.monotonic()
    pipeline = scoring.model_pipeline(reg_param=reg_param, max_iter=max_iter).fit(rows)
    return Fitted(pipeline=pipeline, rows=rows, seconds=time.monotonic() - t0)


def predictions(model, rows, profiles):
    """`rows` (labelled transactions) scored by `model` (a PipelineModel) with the card `profiles`,
    as pandas: transaction_id, event_time_local, card_id, montant_eur, merchant_category, country,
    channel, label, fraud_type, fraud_score, the rule columns and rule_score."""
    from pyspark.sql import functions as F

    scored = model.transform(scoring.rules(scoring.features(rows, profiles)))
    keep = ["transaction_id", "event_time_local", "card_id", "montant_eur", "merchant_category", "country", "channel",
            "card_usual_eur", "card_country", "label", "fraud_type", *scoring.RULES, "rule_score"]
    return (scored.select(*keep, scoring.fraud_probability(scored).alias("fraud_score"))
            .orderBy(F.col("transaction_id")).toPandas())


def roc_curve(labels, scores):
    """(false positive rates, true positive rates, thresholds) of flagging `score >= threshold`,
    one point per distinct score from the highest down, starting at (0, 0)."""
    import numpy as np

    y, s = _arrays(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last_of_each = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    true_pos = np.cumsum(y)[last_of_each]
    false_pos = last_of_each + 1 - true_pos
    positives, negatives = y.sum(), len(y) - y.sum()
    return (np.r_[0.0, false_pos / max(negatives, 1)], np.r_[0.0, true_pos / max(positives, 1)],
            np.r_[np.inf, s[last_of_each]])


def auc(labels, scores) -> float:
    """Area under the ROC curve: the chance that a random fraud scores above a random honest
    payment (ties count half). 0.5 is a coin, 1.0 ranks every fraud first."""
    import numpy as np

    fpr, tpr, _thresholds = roc_curve(labels, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def at_threshold(labels, scores, threshold: float) -> dict:
    """The confusion matrix and its rates when payments with `score >= threshold` are flagged:
    tp, fp, fn, tn, precision (share of flagged that are fraud; 0 when none is flagged), recall
    (share of frauds flagged)."""
    y, s = _arrays(labels, scores)
    flagged = s >= threshold
    tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
    fn, tn = int((~flagged & (y == 1)).sum()), int((~flagged & (y == 0)).sum())
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0}


def best_f1_threshold(labels, scores) -> float:
    """The threshold (one of the scores) with the best F1, the harmonic mean of precision and recall."""
    import numpy as np

    y, s = _arrays(labels, scores)
    _fpr, tpr, thresholds = roc_curve(y, s)
    order = np.sort(s)[::-1]
    flagged = np.searchsorted(-order, -thresholds[1:], side="right")  # how many score >= each threshold
    true_pos = tpr[1:] * y.sum()
    f1 = 2 * true_pos / (flagged + y.sum())
    return float(thresholds[1:][int(np.argmax(f1))])


def summary(test, threshold: float) -> dict:
    """The held-out figures of `test` (predictions()): the model's AUC, precision and recall at
    `threshold`, and the rules' (flagged when one holds)."""
    model = at_threshold(test.label, test.fraud_score, threshold)
    rules = at_threshold(test.label, test.rule_score, 1e-9)
    return {"auc": auc(test.label, test.fraud_score), "precision": model["precision"], "recall": model["recall"],
            "threshold": threshold, "confusion": {k: model[k] for k in ("tp", "fp", "fn", "tn")},
            "rules": {"auc": auc(test.label, test.rule_score), "precision": rules["precision"],
                      "recall": rules["recall"], "confusion": {k: rules[k] for k in ("tp", "fp", "fn", "tn")}}}


def _arrays(labels, scores):
    import numpy as np

    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1 or not len(y):
        raise ValueError(f"labels and scores must be two non-empty lists of the same length, got {y.shape} and {s.shape}")
    return y, s


# --------------------------------------------------------------------------- save, all at once

def save(spark, model, ranges: Ranges, figures: dict, root: str = "",
         cfg: _config.LabConfig | None = None, extra: dict | None = None) -> str:
    """Save `model` (the fitted PipelineModel) with the card profiles of the whole history (what the
    stream scores with) and its held-out `figures` (summary()) in model.json; returns the new version."""
    profiles = scoring.card_profiles(ranges.everything)
    meta = {"features": {"categorical": list(scoring.CATEGORICAL), "numeric": list(scoring.NUMERIC)},
            "threshold": figures["threshold"], "held_out": figures, "as_of": ranges.as_of.isoformat(),
            "ranges": dict(zip(("profile_from", "fit_from", "test_from", "unlabelled_from"),
                               (b.isoformat() for b in ranges.bounds))),
            **(extra or {})}
    return models.save(spark, model, profiles, meta, root=root, cfg=cfg)


@dataclass
class Report:
    """What `train()` did: the figures on the held-out range (auc, precision, recall at threshold,
    the rules'), the version saved, the ranges, the test predictions (pandas), timings."""

    figures: dict
    ranges: Ranges
    test: object
    fitted: Fitted
    version: str | None = None
    path: str | None = None
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)  # seconds per step: read_and_split, fit, threshold, evaluate, save

    @property
    def auc(self) -> float:
        return self.figures["auc"]

    @property
    def precision(self) -> float:
        return self.figures["precision"]

    @property
    def recall(self) -> float:
        return self.figures["recall"]

    @property
    def threshold(self) -> float:
        return self.figures["threshold"]

    def to_json(self) -> dict:
        """The report as JSON-ready data: at least auc, precision, recall (held out) and model_version."""
        return {"auc": self.auc, "precision": self.precision, "recall": self.recall, "threshold": self.threshold,
                "model_version": self.version, "model_path": self.path, "held_out": self.figures,
                "rows": self.counts, "as_of": self.ranges.as_of.isoformat(),
                "ranges": {name: b.isoformat() for name, b in zip(("profile_from", "fit_from", "test_from",
                                                                   "unlabelled_from"), self.ranges.bounds)},
                "seconds": {"total": self.seconds, "fit_only": self.fitted.seconds, **self.phases}}

    def __str__(self) -> str:
        b, c, rules = self.ranges.bounds, self.counts, self.figures["rules"]
        day = "%Y-%m-%d"
        return _("report", version=self.version or "-", fit_rows=c["fit"], fit_frauds=c["fit_frauds"],
                 fit_from=b[1].strftime(day), fit_to=b[2].strftime(day), profile_from=b[0].strftime(day),
                 test_rows=c["test"], test_frauds=c["test_frauds"], test_from=b[2].strftime(day),
                 test_to=b[3].strftime(day), unlabelled=c["unlabelled"], auc=self.auc, threshold=self.threshold,
                 precision=self.precision, recall=self.recall, rules_auc=rules["auc"],
                 rules_precision=rules["precision"], rules_recall=rules["recall"],
                 saved=_("saved", path=self.path) if self.path else _("not_saved"), seconds=self.seconds,
                 fit_seconds=self.fitted.seconds)


def train(spark, root: str = "", topic: str | None = None, cfg: _config.LabConfig | None = None,
          history=None, save_model: bool = True, reg_param: float = 0.001, max_iter: int = 30) -> Report:
    """Read the labelled history (or use `history`, already labelled), split it by time, fit on the
    fit range, choose the threshold there, measure on the held-out test range, save a new version
    under `<root>/models/fraud/`. Raises NotEnoughHistory (one line, naming the fix) when there is
    too little to learn from."""
    cfg = cfg or _config.load()
    t0 = time.monotonic()
    phases = {}

    def lap(name: str) -> None:
        phases[name] = time.monotonic() - t0 - sum(phases.values())

    history = history if history is not None else labelled_history(spark, root, topic, cfg)
    ranges = split(history)
    lap("read_and_split")
    fitted = fit(ranges, reg_param=reg_param, max_iter=max_iter)
    lap("fit")
    fit_scores = fitted.pipeline.transform(fitted.rows)
    fit_pairs = fit_scores.select("label", scoring.fraud_probability(fit_scores).alias("s")).toPandas()
    threshold = best_f1_threshold(fit_pairs.label, fit_pairs.s)
    lap("threshold")
    test = predictions(fitted.pipeline, ranges.test, scoring.card_profiles(ranges.before_test))
    figures = summary(test, threshold)
    counts = {"fit": len(fit_pairs), "fit_frauds": int(fit_pairs.label.sum()), "test": len(test),
              "test_frauds": int(test.label.sum()), "unlabelled": ranges.unlabelled.count()}
    lap("evaluate")
    report = Report(figures=figures, ranges=ranges, test=test, fitted=fitted, counts=counts)
    if save_model:
        report.version = save(spark, fitted.pipeline, ranges, figures, root=root, cfg=cfg, extra={"rows": counts})
        report.path = f"{models.models_path(root, cfg)}/{report.version}/"
        lap("save")
    report.seconds = time.monotonic() - t0
    report.phases = phases
    fitted.rows.unpersist()
    return report


def evaluate_on_seed(spark, model, seed: int, count: int = 50_000, start: datetime | None = None,
                     weeks: float = 2.0, fraud_ratio: float = 0.02, timezone_name: str | None = None) -> dict:
    """`model` (models.load()) on `count` payments of another seed, `weeks` long from `start` (default:
    the model's as_of, so after everything it learned from), every label known: auc, precision and
    recall at the model's threshold, and the rules'."""
    start = start or datetime.fromisoformat(model.meta["as_of"])
    records = TransactionGenerator(seed=seed, fraud_ratio=fraud_ratio, clock="simulated", start=start,
                                   events_per_second=count / (weeks * 7 * 86_400)).take(count)
    every_label_known = start + timedelta(weeks=weeks) + LABEL_MATURITY
    rows = with_labels(frame_from_records(spark, records, timezone_name), labels_from_records(spark, records),
                       as_of=every_label_known)
    test = predictions(model.pipeline, rows, model.profiles)
    return {"seed": seed, "rows": len(test), "frauds": int(test.label.sum()), **summary(test, model.threshold)}


def _prefix_hint(root: str) -> str:
    return f" (`--prefix {root}`)" if root else ""
