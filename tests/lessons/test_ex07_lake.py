"""Notebook 07's check (lab_utils.lessons.ex07_lake): ✅ for silver's count at version n, ❌ for the
placeholder and for the plausible slips (the newest count, a neighbouring version, another table, a
DataFrame instead of a number), with its hint in English and in French. On a real lake, built here."""

from __future__ import annotations

import pytest

from lab_utils import checks, config, pipeline, producer
from lab_utils.clients import lake
from lab_utils.generator import TransactionGenerator

pytestmark = pytest.mark.integration


@pytest.fixture
def small_lake(cfg, spark, topic, run_prefix):
    """Yields the run prefix of a lake with four versions of each table (batches of 300 messages)."""
    records = TransactionGenerator(seed=91, bad_ratio=0.1).take(1200)
    assert producer.produce(records=records, count=len(records), topic=topic, progress=False).failed == 0
    with pipeline.start_lake(spark, available_now=True, topic=topic, root=run_prefix, cfg=cfg,
                             max_offsets_per_trigger=300) as run:
        assert run.wait(timeout_s=900)
    yield run_prefix


def test_the_check_says_yes_only_to_silver_at_version_n(cfg, spark, small_lake):
    root, n = small_lake, 1
    silver = pipeline.lake.table_paths(root, cfg)[lake.SILVER]
    right = spark.read.format("delta").option("versionAsOf", n).load(silver).count()
    counts = {v: len(lake.read(lake.SILVER, version=v, root=root, cfg=cfg)) for v in range(4)}
    assert right == counts[n] and len(set(counts.values())) == 4, counts
    assert checks.silver_at_version(right, n, cfg, root=root)
    wrong = {
        "placeholder": ...,
        "the newest count": spark.read.format("delta").load(silver).count(),
        "version n - 1": counts[n - 1],
        "version n + 1": counts[n + 1],
        "bronze at n": len(lake.read(lake.BRONZE, version=n, root=root, cfg=cfg)),
        "rejected at n": len(lake.read(lake.REJECTED, version=n, root=root, cfg=cfg)),
        "a DataFrame": spark.read.format("delta").option("versionAsOf", n).load(silver),
        "a text": str(right),
        "off by one": right + 1,
    }
    for slip, answer in wrong.items():
        verdict = checks.silver_at_version(answer, n, cfg, root=root)
        assert not verdict and str(verdict).startswith("❌"), slip
    hints = {slip: str(checks.silver_at_version(answer, n, cfg, root=root)) for slip, answer in wrong.items()}
    assert "versionAsOf" in hints["the newest count"] and "version 0" in hints["version n - 1"]
    assert "bronze/transactions" in hints["bronze at n"] and ".count()" in hints["a DataFrame"]
    assert "not done yet" in hints["placeholder"]


def test_the_check_speaks_french(cfg, spark, small_lake):
    before = config.use_language("fr")
    try:
        root = small_lake
        newest = lake.table(lake.SILVER, root=root, cfg=cfg).version()
        right = len(lake.read(lake.SILVER, version=1, root=root, cfg=cfg))
        now = len(lake.read(lake.SILVER, version=newest, root=root, cfg=cfg))
        assert str(checks.silver_at_version(right, 1, cfg, root=root)).startswith("✅ exact")
        hint = str(checks.silver_at_version(now, 1, cfg, root=root))
        assert hint.startswith("❌") and "c'est ce que contient silver maintenant" in hint
        assert "pas encore fait" in str(checks.silver_at_version(..., 1, cfg, root=root))
    finally:
        config.use_language(before)
