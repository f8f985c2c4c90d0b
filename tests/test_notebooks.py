"""The notebooks' shape (names, order, structure, no outputs committed) and the headless demo.

nbval executes the notebooks themselves (pyproject: testpaths includes notebooks/, and
`make test` runs them a second time); these tests check what execution cannot.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from lab_utils import config as lab_config
from lab_utils import demo

NOTEBOOKS = lab_config.ROOT / "notebooks"
NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def _load(path):
    return nbformat.read(path, as_version=4)


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_names_are_numbered_in_order_from_00():
    names = [p.name for p in PATHS]
    assert names, "no notebooks in notebooks/"
    bad = [n for n in names if not NAME.match(n)]
    assert not bad, f"notebook names must be NN_snake_title.ipynb: {bad}"
    numbers = [int(NAME.match(n).group(1)) for n in names]
    assert numbers == list(range(len(names))), f"numbers must run 00, 01, ... without gaps or repeats: {names}"


def test_the_story_is_there():
    """Issue 5: check the environment, the stack, produce, stream, results."""
    stems = [p.stem for p in PATHS]
    assert stems[:5] == ["00_check_environment", "01_the_stack", "02_produce_from_a_cell",
                         "03_streaming_query", "04_results"]
    assert set(demo.STORY) <= set(stems)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_structure(path):
    nb = _load(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"^# \S", first.source), "first cell must be a `# Title`"
    assert "What you will learn" in first.source and "What must be running" in first.source
    text = _markdown(nb)
    assert "## Exercise" in text and "### Solution" in text, "at least one exercise, with its solution"
    assert "## What you saw / going further" in text
    code = _code(nb)
    assert "checks." in code and "assert checks." in code, "the exercise needs a check, run on the solution too"
    exercise = [c for c in nb.cells if c.cell_type == "code" and "# your code here" in c.source]
    assert exercise and all("..." in c.source for c in exercise), "an exercise cell holds a `...` to fill"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = _load(path)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (f"{path.name}: cells {dirty} carry outputs; clear them before committing "
                       "(JupyterLab: Edit > Clear Outputs of All Cells, then save)")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_fixed_sleeps_no_pasted_endpoints_every_query_stopped(path):
    code = _code(_load(path))
    assert "time.sleep" not in code and "sleep(" not in code, "no fixed sleeps: wait for a condition, with a timeout"
    pasted = re.findall(r"127\.0\.0\.1|localhost|:9092|:9000|minioadmin|s3a://\w", code)
    assert not pasted, f"endpoints come from lab_utils.config, not from cells: {pasted}"
    starts = code.count("pipeline.start(")
    stops = len(re.findall(r"\.stop\(\)", code)) + len(re.findall(r"with pipeline\.start\(", code))
    assert stops >= starts, "every started query is stopped (`.stop()` or a `with` block)"
    if "get_spark()" in code:
        assert code.rstrip().endswith("spark.stop()") or "spark.stop()" in code.splitlines()[-1], \
            "a notebook that starts Spark stops it in its last cell (frees memory and port 4040)"


def test_demo_runs_the_story_headless_and_writes_the_plots(cfg, tmp_path):
    """`python -m lab_utils demo` executes notebooks 02-04 and saves notebook 04's four plots."""
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "lab_utils", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in demo.STORY:
        executed = _load(out / f"{name}.ipynb")
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    for plot in ("eur_by_currency", "transactions_per_minute", "accepted_vs_rejected", "amount_distribution"):
        png = (out / f"{plot}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, f"{plot}.png is not a real figure"
        assert str(out / f"{plot}.png") in proc.stdout


def test_demo_without_the_stack_is_one_line(tmp_path):
    env_cfg = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    import os

    proc = subprocess.run([sys.executable, "-m", "lab_utils", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env_cfg})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "stack up" in proc.stderr, proc.stderr
