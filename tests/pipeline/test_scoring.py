"""lab_utils.pipeline.scoring: card profiles, features, the rules and the score, on small hand-made
DataFrames with a local Spark session. No service needed."""

from __future__ import annotations

import json
import math
from datetime import datetime

import pytest

from lab_utils import messages, pipeline
from lab_utils.pipeline import scoring

RATES = messages.load_rates()


def payments(spark, rows):
    """Output/ rows from (transaction_id, montant EUR, card_id, category, country, channel, "YYYY-MM-DD HH:MM")."""
    values = [json.dumps({"transaction_id": i, "montant": m, "devise": "EUR", "timestamp": f"{t.replace(' ', 'T')}:00Z",
                          "card_id": c, "merchant_category": cat, "country": co, "channel": ch}).encode()
              for i, m, c, cat, co, ch, t in rows]
    raw = spark.createDataFrame([(str(i).encode(), v, 0, n) for n, ((i, *_), v) in enumerate(zip(rows, values))],
                                "key binary, value binary, partition int, offset long")
    return pipeline.to_output(pipeline.classify(raw, RATES), "UTC")


HISTORY = [
    (1, 10.0, "A", "grocery", "FR", "card_present", "2026-03-01 10:00"),
    (2, 20.0, "A", "grocery", "FR", "card_present", "2026-03-02 10:00"),
    (3, 30.0, "A", "fuel", "FR", "contactless", "2026-03-03 10:00"),
    (4, 40.0, "A", "grocery", "DE", "card_present", "2026-03-04 10:00"),
    (5, 100.0, "B", "travel", "US", "online", "2026-03-01 12:00"),
]


def test_card_profiles_say_what_each_card_usually_does(spark):
    profiles = {r.card_id: r for r in scoring.card_profiles(payments(spark, HISTORY)).collect()}
    a = profiles["A"]
    assert (a.card_payments, a.card_usual_eur, a.card_country) == (4, 25.0, "FR")
    assert a.card_channels == {"card_present": 3, "contactless": 1}
    assert profiles["B"].card_channels == {"online": 1}


def test_card_profiles_leave_out_payments_without_a_card(spark):
    rows = payments(spark, HISTORY + [(6, 5.0, None, "grocery", "FR", "online", "2026-03-05 10:00")])
    assert {r.card_id for r in scoring.card_profiles(rows).collect()} == {"A", "B"}


@pytest.mark.parametrize("how", ["join", "lookup"])
def test_features_from_the_payment_and_its_cards_past(spark, how):
    profiles = scoring.card_profiles(payments(spark, HISTORY))
    if how == "lookup":
        profiles = scoring.card_lookup(profiles)
    new = payments(spark, [
        (10, 24.0, "A", "grocery", "FR", "card_present", "2026-03-10 03:00"),  # usual
        (11, 259.0, "A", "electronics", "FR", "online", "2026-03-10 14:00"),   # 10x usual, a channel never used
        (12, 1.5, "A", "fashion", "ES", "online", "2026-03-10 23:00"),          # tiny, abroad
        (13, 50.0, "Z", "grocery", "FR", "online", "2026-03-10 11:00"),         # a card never seen
    ])
    rows = {r.transaction_id: r for r in scoring.features(new, profiles).collect()}
    assert set(scoring.NUMERIC) | {"hour_local"} <= set(rows[10].asDict())
    assert rows[10].above_usual == pytest.approx(0.0, abs=0.05) and rows[10].below_usual == pytest.approx(0.04, abs=0.01)
    assert rows[10].channel_share == 0.75 and rows[10].abroad == 0 and rows[10].hour_local == 3
    assert rows[11].above_usual == pytest.approx(math.log(260 / 26)) and rows[11].below_usual == 0
    assert rows[11].channel_share == 0
    assert rows[12].abroad == 1 and rows[12].below_usual == pytest.approx(math.log(26 / 2.5))
    assert rows[12].amount_log == pytest.approx(math.log1p(1.5))
    unknown = rows[13]
    assert (unknown.known_card, unknown.above_usual, unknown.below_usual, unknown.abroad, unknown.channel_share) == (
        0, 0, 0, 0, 0)
    assert rows[10].known_card == 1
    # every output/ column is still there, in order, first
    assert list(rows[10].asDict())[:len(new.columns)] == new.columns


def test_the_lookup_gives_the_join_s_features_row_for_row(spark):
    profiles = scoring.card_profiles(payments(spark, HISTORY))
    new = payments(spark, [
        (30, 24.0, "A", "grocery", "FR", "contactless", "2026-03-10 03:00"),
        (31, 99.0, "B", "travel", "US", "online", "2026-03-10 13:00"),
        (32, 99.0, "B", "travel", "US", "card_present", "2026-03-10 13:00"),  # a channel card B never used
        (33, 5.0, "A", "grocery", "FR", None, "2026-03-10 13:00"),            # no channel
        (34, 5.0, None, "grocery", "FR", "online", "2026-03-10 13:00"),       # no card
        (35, 5.0, "Z", "grocery", "FR", "online", "2026-03-10 13:00"),        # a card never seen
    ])
    new = new.drop("ingest_time")  # the clock when each query runs: not the same twice
    joined = {r.transaction_id: r.asDict() for r in scoring.features(new, profiles).collect()}
    looked_up = {r.transaction_id: r.asDict() for r in scoring.features(new, scoring.card_lookup(profiles)).collect()}
    assert looked_up == joined and len(joined) == 6
    assert [joined[i]["channel_share"] for i in (30, 31, 32, 33)] == [0.25, 1.0, 0.0, 0.0]


def test_each_rule_fires_on_its_pattern_and_not_on_a_usual_payment(spark):
    profiles = scoring.card_profiles(payments(spark, HISTORY))
    new = payments(spark, [
        (20, 24.0, "A", "grocery", "FR", "card_present", "2026-03-10 12:00"),
        (21, 200.0, "A", "electronics", "FR", "card_present", "2026-03-10 12:00"),
        (22, 2.0, "A", "entertainment", "FR", "online", "2026-03-10 12:00"),
        (23, 30.0, "A", "fuel", "IT", "card_present", "2026-03-10 02:00"),
        (24, 30.0, "A", "fuel", "IT", "card_present", "2026-03-10 14:00"),  # abroad by day: no rule
    ])
    rows = {r.transaction_id: r for r in scoring.rules(scoring.features(new, profiles)).collect()}
    fired = {i: {name for name in scoring.RULES if rows[i][name]} for i in rows}
    assert fired == {20: set(), 21: {"far_above_usual"}, 22: {"tiny_online"}, 23: {"abroad_at_night"}, 24: set()}
    assert rows[20].rule_score == 0 and rows[21].rule_score == pytest.approx(1 / 3)


class _Model:
    """What scoring.score() needs from a loaded model."""

    def __init__(self, pipeline_model, profiles, version):
        self.pipeline, self.cards, self.version = pipeline_model, scoring.card_lookup(profiles), version


def test_score_fills_the_two_columns_and_keeps_the_output_schema(spark):
    from pyspark.sql import functions as F

    history = payments(spark, HISTORY * 3)
    profiles = scoring.card_profiles(history)
    labelled = scoring.features(history, profiles).withColumn(
        "label", (F.col("transaction_id") == 5).cast("double"))
    fitted = scoring.model_pipeline(max_iter=5).fit(labelled)
    new = payments(spark, [(30, 24.0, "A", "grocery", "FR", "card_present", "2026-03-10 12:00"),
                           (31, 80.0, "Q", "unseen_category", "JP", "teleport", "2026-03-10 12:00")])
    scored = scoring.score(new, _Model(fitted, profiles, "20260310-120000"))
    assert [(f.name, f.dataType.simpleString()) for f in scored.schema.fields] == [
        (f.name, f.dataType.simpleString()) for f in new.schema.fields]
    rows = scored.collect()
    assert len(rows) == 2  # an unseen category, channel or card never stops scoring
    for row in rows:
        assert 0.0 <= row.fraud_score <= 1.0 and row.model_version == "20260310-120000"


def test_model_pipeline_is_the_documented_chain():
    stages = [type(s).__name__ for s in scoring.model_pipeline().getStages()]
    assert stages == ["StringIndexer", "OneHotEncoder", "VectorAssembler", "StandardScaler", "LogisticRegression"]


def test_profiles_use_only_what_they_are_given(spark):
    """A card profile is built from the rows it is given, so training can give it only the past."""
    early = payments(spark, HISTORY[:2])
    assert {r.card_id: r.card_usual_eur for r in scoring.card_profiles(early).collect()} == {"A": 15.0}
    assert datetime(2026, 3, 2, 10) == max(r.event_time for r in early.collect())
