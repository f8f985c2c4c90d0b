"""`python -m lab_utils bench --quick` runs end to end and reports every key. It asserts no speed."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from lab_utils import bench
from lab_utils.config import ROOT


@pytest.mark.integration
def test_quick_bench_reports_every_key(cfg, tmp_path):
    path = tmp_path / "bench.json"
    out = subprocess.run([sys.executable, "-m", "lab_utils", "bench", "--quick", "--json", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(path.read_text())
    for key in bench.KEYS:
        if key in bench.NOT_IN_QUICK:
            assert report[key] is None, (key, "--quick leaves it out: only the full bench reports it")
            continue
        value = report[key]["total"] if key == "stack_rss_mib" else report[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, value)
    assert report["machine"]["cores"] >= 1 and report["versions"]["kafka"]
    assert "drain/limit" in out.stdout and "latency produce -> committed" in out.stdout
    assert "lake/parquet" in out.stdout and "after OPTIMIZE" in out.stdout
    assert "not measured by --quick" in out.stdout and "RF3 / RF1" in out.stdout
    assert "scored/plain" in out.stdout and report["scoring_detail"]["batches"]["scored"] > 0
    # Steady state against steady state: as many timed batches in both modes, the warm-up apart.
    scoring = report["scoring_detail"]
    assert scoring["batches"]["plain"] == scoring["batches"]["scored"]
    assert scoring["warmup"]["scored_batches_s"] and "first scored start (warm-up)" in out.stdout
    # The lake's files per 100k events: compaction brings them down.
    assert report["lake_files_per_100k_after"] < report["lake_files_per_100k_before"]
