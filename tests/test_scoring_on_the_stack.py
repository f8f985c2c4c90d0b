"""Issue 19 on the live stack, as a student runs it: labelled history produced to Kafka, streamed to
output/, `train --json`, then `stream --score`; and the one-line errors when a step is missing.
Small data (the benchmark measures 200,000 payments)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lab_utils import config
from lab_utils.clients import storage
from lab_utils.pipeline import models

pytestmark = pytest.mark.integration


def cli(*args, topic: str, lang: str = "en", timeout: int = 1200):
    return subprocess.run([sys.executable, "-m", "lab_utils", *args], cwd=config.ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "KAFKA_TOPIC": topic, "LAB_LANG": lang})


def ok(result):
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_history_train_then_stream_with_scores(cfg, topic, run_prefix, tmp_path):
    made = ok(cli("produce", "--count", "8000", "--fraud-ratio", "0.05", "--history-weeks", "2", "--seed", "11",
                  topic=topic))
    assert f"chargebacks sent to {topic}-chargebacks" in made.stdout
    ok(cli("stream", "--available-now", "--prefix", run_prefix, topic=topic))
    path = tmp_path / "train.json"
    trained = ok(cli("train", "--prefix", run_prefix, "--json", str(path), "--holdout-seed", "12",
                     "--holdout-count", "4000", topic=topic))
    report = json.loads(path.read_text())
    assert {"auc", "precision", "recall", "model_version"} <= set(report)
    assert report["auc"] > 0.85 and report["other_seed"]["auc"] > 0.85, report  # small data: the bench has the target
    assert 0 < report["precision"] <= 1 and 0 < report["recall"] <= 1
    assert report["rows"]["test"] > 0 and report["rows"]["test_frauds"] >= 10
    version = report["model_version"]
    assert models.versions(run_prefix, cfg) == [version]
    assert f"AUC {report['auc']:.3f}" in trained.stdout and f"models/fraud/{version}/" in trained.stdout

    # New payments, stamped now, scored as they stream; the history rows keep their null scores.
    ok(cli("produce", "--count", "1500", "--fraud-ratio", "0.02", "--seed", "13", topic=topic))
    scored = ok(cli("stream", "--available-now", "--score", "--prefix", run_prefix, topic=topic))
    assert f"fraud model {version}" in scored.stdout
    out = storage.read_committed(f"{run_prefix}/output", cfg=cfg)
    assert len(out) == 9500 and out.transaction_id.is_unique  # every payment once
    new = out[out.transaction_id > 8000]
    assert len(new) == 1500 and new.fraud_score.between(0, 1).all() and set(new.model_version) == {version}
    old = out[out.transaction_id <= 8000]
    assert old.fraud_score.isna().all() and old.model_version.isna().all()
    assert new.fraud_score.nunique() > 100  # a score per payment, not one constant


@pytest.mark.parametrize("lang, words", [("en", "no fraud model"), ("fr", "pas encore de modèle de fraude")])
def test_stream_score_without_a_model_is_one_line_and_starts_nothing(cfg, topic, run_prefix, lang, words):
    result = cli("stream", "--available-now", "--score", "--prefix", run_prefix, topic=topic, lang=lang, timeout=300)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert words in result.stderr and f"python -m lab_utils train --prefix {run_prefix}" in result.stderr
    assert not storage.filesystem(cfg).exists(cfg.s3_path(run_prefix, "checkpoint"))


def test_train_without_history_is_one_line(cfg, topic, run_prefix):
    result = cli("train", "--prefix", run_prefix, topic=topic, timeout=300)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "--fraud-ratio 0.02 --history-weeks 4" in result.stderr and "stream --available-now" in result.stderr
