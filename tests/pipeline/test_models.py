"""lab_utils.pipeline.models: versions of the fraud model in the bucket, on the live MinIO (a test
folder per test). Naming is checked without a service."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from lab_utils import messages, pipeline
from lab_utils.clients import storage
from lab_utils.errors import ModelMissing
from lab_utils.pipeline import models, scoring


def test_versions_are_utc_times_that_sort_in_order_and_never_collide():
    at = datetime(2026, 12, 2, 3, 4, 5, tzinfo=timezone.utc)
    first = models.new_version([], at)
    assert first == "20261202-030405"
    second = models.new_version([first], at)
    third = models.new_version([first, second], at)
    later = models.new_version([], at.replace(second=6))
    assert sorted([later, third, first, second]) == [first, second, third, later]


def tiny_fitted(spark):
    """A model fitted on a dozen hand-made payments: enough to save and load, not to judge."""
    from pyspark.sql import functions as F

    values = [json.dumps({"transaction_id": i, "montant": 10.0 + i, "devise": "EUR",
                          "timestamp": f"2026-03-0{1 + i % 5}T10:00:00Z", "card_id": f"C{i % 3}",
                          "merchant_category": "grocery", "country": "FR", "channel": "online"}).encode()
              for i in range(1, 13)]
    raw = spark.createDataFrame([(str(i).encode(), v, 0, i) for i, v in enumerate(values)],
                                "key binary, value binary, partition int, offset long")
    history = pipeline.to_output(pipeline.classify(raw, messages.load_rates()), "UTC")
    profiles = scoring.card_profiles(history)
    rows = scoring.features(history, profiles).withColumn("label", (F.col("transaction_id") % 4 == 0).cast("double"))
    return scoring.model_pipeline(max_iter=3).fit(rows), profiles, history


def test_save_then_load_the_newest(cfg, spark, run_prefix):
    assert models.versions(run_prefix, cfg) == [] and models.newest(run_prefix, cfg) is None
    fitted, profiles, history = tiny_fitted(spark)
    first = models.save(spark, fitted, profiles, {"threshold": 0.4}, root=run_prefix, cfg=cfg)
    second = models.save(spark, fitted, profiles, {"threshold": 0.3}, root=run_prefix, cfg=cfg)
    assert models.versions(run_prefix, cfg) == [first, second] and models.newest(run_prefix, cfg) == second
    model = models.load(spark, root=run_prefix, cfg=cfg)
    assert model.version == second and model.threshold == 0.3 and model.meta["version"] == second
    assert model.profiles.count() == 3
    cards = spark.range(1).select(model.cards.alias("cards")).first().cards
    assert sorted(cards) == ["C0", "C1", "C2"] and cards["C1"].card_payments == 4 and cards["C1"].in_online == 4
    scored = scoring.score(history, model).collect()
    assert {r.model_version for r in scored} == {second} and all(0 <= r.fraud_score <= 1 for r in scored)
    assert models.load(spark, first, root=run_prefix, cfg=cfg).threshold == 0.4


def test_a_folder_without_model_json_is_not_a_model(cfg, spark, run_prefix):
    fitted, profiles, _ = tiny_fitted(spark)
    done = models.save(spark, fitted, profiles, {}, root=run_prefix, cfg=cfg)
    fs = storage.filesystem(cfg)
    half = cfg.s3_path(run_prefix, models.MODELS_FOLDER, "99991231-235959", "pipeline", "metadata", "part-00000")
    with fs.open(half, "w") as f:  # what a training killed while saving leaves
        f.write("{}")
    assert models.newest(run_prefix, cfg) == done


def test_no_model_is_one_line_naming_the_command(cfg, spark, run_prefix):
    with pytest.raises(ModelMissing) as e:
        models.load(spark, root=run_prefix, cfg=cfg)
    text = str(e.value)
    assert "\n" not in text and f"python -m lab_utils train --prefix {run_prefix}" in text and "produce" in text
    fitted, profiles, _ = tiny_fitted(spark)
    version = models.save(spark, fitted, profiles, {}, root=run_prefix, cfg=cfg)
    with pytest.raises(ModelMissing, match=f"no fraud model 20000101-000000 .* {version}"):
        models.load(spark, "20000101-000000", root=run_prefix, cfg=cfg)
