"""A real browser runs notebook 03 the way a student does (issue 15, point 8).

JupyterLab, started by `python -m lab_utils jupyter` (what `make lab` runs), in headless Chromium
driven by Playwright: open the notebook, Run > Run All Cells, wait until the kernel is idle after
the last cell, then check what the student saw: the live progress panel updated in place at least
twice, no cell shows an error output, every code cell ran.

Chromium is the system's (Playwright cannot download its own build here; tests/chromium.py finds
it). Without one this test is skipped with the install command, except in CI, where .ci/run
installs it and a missing browser fails the test.

The notebook runs as a copy in a git-ignored folder (.lab/browser-test/<id>/), so its outputs
(JupyterLab autosaves every two minutes) never reach the committed notebook.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from .chromium import INSTALL_HINT, browser_required, find_chromium
from .helpers import wait_until
from lab_utils import config
from lab_utils.config import ROOT, STATE_DIR

# The notebook under test. Notebooks are moving to notebooks/en/ and notebooks/fr/: the first of
# these that exists is the one run.
# Lesson 03, in English (whatever its title): the one with the live progress panel.
NOTEBOOK = min((ROOT / "notebooks" / "en").glob("03_*.ipynb"))
# A real JupyterLab and a real Chromium: the integration tier, not `make test-unit`.
pytestmark = pytest.mark.integration

# Run All Cells to idle took 43 to 103 s on the shared 2-core machine; room for a much busier day.
RUN_TIMEOUT_S = 480

# Flags known to work for Debian's Chromium as root on a machine without network: without the
# background-networking ones Chromium keeps opening connections that are refused. Playwright adds
# --headless, --no-sandbox and a fresh temporary --user-data-dir itself.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# How JupyterLab 4.6 renders an error: the traceback of an `error` output and any text written to
# stderr both go to the stderr renderer, whose node carries this mime type (a student sees a red
# box either way). test_an_error_in_a_cell_is_seen proves it catches a real traceback.
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

# Reads the notebook's state from the page: the kernel's status twice (the toolbar's indicator,
# and the status bar's "Python 3 (ipykernel) | Idle"), each code cell's prompt ("[3]:", "[*]:",
# "[ ]:"), and the text of every output rendered as an error, with the index of its code cell.
STATE_JS = """(selector) => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');  // the notebook's tab
  const nb = panel && panel.querySelector('.jp-Notebook');
  const indicator = panel && panel.querySelector('.jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator');
  if (!nb || !indicator) return null;
  return {
    status: indicator.dataset.status,
    kernel: [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent.trim())
            .find(t => t.includes(' | ')) || '',
    cells: nb.querySelectorAll('.jp-Cell').length,
    prompts: [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim()),
    errors: [...nb.querySelectorAll('.jp-CodeCell')].flatMap((c, i) => [...c.querySelectorAll(selector)].map(
      e => ({cell: i, text: e.textContent.trim().slice(0, 2000)}))),
  };
}"""

# Watches every progress panel (lab_utils.progress: a table whose header has "query" and "batch",
# replaced in place by update_display) and records, per panel, each distinct "query=batch" state
# in the order seen, with the time since the watch began. A MutationObserver sees every update;
# polling from Python could miss one.
WATCH_PANELS_JS = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const panels = window.__labPanels = [];
  const t0 = performance.now();
  const snapshot = () => {
    const tables = [...nb.querySelectorAll('.jp-OutputArea-output table')].filter(t => {
      const head = t.rows.length ? [...t.rows[0].cells].map(c => c.textContent.trim()) : [];
      return ['query', 'status', 'batch'].every(name => head.includes(name));
    });
    tables.forEach((table, i) => {
      const head = [...table.rows[0].cells].map(c => c.textContent.trim());
      const col = name => head.indexOf(name);
      const rows = [...table.rows].slice(1).filter(r => r.cells.length === head.length).map(r => ({
        query: r.cells[col('query')].textContent.trim(), status: r.cells[col('status')].textContent.trim(),
        batch: r.cells[col('batch')].textContent.trim()}));
      const seen = panels[i] = panels[i] || [];
      if (!seen.length || JSON.stringify(seen[seen.length - 1].rows) !== JSON.stringify(rows))
        seen.push({rows, ms: Math.round(performance.now() - t0)});
    });
  };
  new MutationObserver(snapshot).observe(nb, {subtree: true, childList: true, characterData: true});
  snapshot();
}"""


# Scrolls an element into view and tells whether it was there already (see screenshot_on_failure).
IN_VIEW_JS = """e => { const r = e.getBoundingClientRect();
  const inside = r.top >= 0 && r.top < innerHeight; e.scrollIntoView({block: 'center'}); return inside; }"""


@dataclass
class Lab:
    url: str
    token: str
    folder: Path  # inside the Jupyter root, git-ignored; the notebooks under test are copied here


@dataclass
class NotebookRun:
    cells: int  # in the DOM
    prompts: list[str]  # each code cell's input prompt, in order
    errors: list[str]  # the text of each output rendered as an error, but in cells tagged raises-exception
    expected_errors: list[str]  # the same in cells tagged raises-exception (the error is the lesson)
    panels: list[list[dict]]  # per progress panel, its distinct successive states (WATCH_PANELS_JS)
    seconds: float  # from Run All Cells to the kernel idle after the last cell


def _free_port() -> int:
    with socket.socket() as s:  # a free port, so a student's running JupyterLab is left alone
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(lab_url: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{lab_url}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        body = r.read()
        return json.loads(body) if body else None


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Yields the system Chromium's path. Skips (with the install command) without one, but fails in
    CI, where .ci/run installs it. Cleans up nothing."""
    path = find_chromium()
    if path is None:
        if browser_required():
            pytest.fail("no Chromium, and in CI (LAB_CI=1) the browser test may not be skipped: .ci/run installs it "
                        "with `apt-get install chromium` before the tests, see its output", pytrace=False)
        pytest.skip(INSTALL_HINT)
    return path


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Yields a headless Chromium (the system's) driven by Playwright. Closes it."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """Yields a fresh page (its own browser context, a large window). Closes the context, without
    saving anything the page still holds."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def lab(jupyterlab) -> Lab:
    """Yields the module's JupyterLab to one test. Shuts down the kernels it started."""
    yield jupyterlab
    _shut_down_kernels(jupyterlab.url, jupyterlab.token)


def _shut_down_kernels(url: str, token: str) -> None:
    for kernel in _api(url, token, "/api/kernels") or []:  # a kernel's Spark driver goes with it
        _api(url, token, f"/api/kernels/{kernel['id']}", method="DELETE")


@pytest.fixture(scope="module")
def jupyterlab(browser, tmp_path_factory) -> Lab:
    """Yields a Lab: JupyterLab started by `python -m lab_utils jupyter` on a free port, with the
    token from the configuration and a Jupyter config folder of its own (fresh settings and
    workspace; serves the hidden .lab/ folder, where the work folder lives). Shuts down its kernels
    and the server, and deletes the work folder. Asks for `browser` first, so that without Chromium
    the test is skipped before anything starts."""
    token = config.load().JUPYTER_TOKEN
    port = _free_port()
    jupyter_config = tmp_path_factory.mktemp("jupyter-config")
    # The work folder is in .lab/ (git-ignored, and pytest and nbval skip dot folders), which
    # Jupyter hides unless told otherwise.
    (jupyter_config / "jupyter_server_config.json").write_text(
        json.dumps({"ContentsManager": {"allow_hidden": True}}))
    log_path = jupyter_config / "jupyterlab.log"
    folder = STATE_DIR / "browser-test" / uuid.uuid4().hex[:10]
    folder.mkdir(parents=True)
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:  # a file, not a pipe: nobody reads the log while the test runs
        proc = subprocess.Popen([sys.executable, "-m", "lab_utils", "jupyter"], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "JUPYTER_PORT": str(port),
                                     "JUPYTER_CONFIG_DIR": str(jupyter_config)})
    try:
        def answers():
            assert proc.poll() is None, f"JupyterLab exited:\n{log_path.read_text()[-3000:]}"
            try:
                return _api(url, token, "/api/status") is not None
            except (OSError, urllib.error.URLError):
                return False

        wait_until(answers, timeout=120, interval=0.5, what=f"JupyterLab to answer on port {port}")
        yield Lab(url=url, token=token, folder=folder)
    finally:
        try:
            _shut_down_kernels(url, token)
            _api(url, token, "/api/shutdown", method="POST")
            proc.wait(timeout=60)
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.parent.rmdir()  # only when empty: another run may be using it


@contextlib.contextmanager
def screenshot_on_failure(page, tmp_path: Path):
    """On any failure inside the block, save what the browser shows into pytest's tmp dir, scrolled
    to the first error output, or else to the progress panel."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            panel = page.locator('.jp-OutputArea-output table:has(th:text-is("batch"))')
            for target in (page.locator(ERROR_OUTPUT), panel):
                if target.count():  # again until it stays in view: off-screen cells get their height once drawn
                    wait_until(lambda: target.first.evaluate(IN_VIEW_JS), timeout=10, what="the output to stay in view")
                    break
            page.screenshot(path=tmp_path / "jupyterlab.png", timeout=30_000)
            (tmp_path / "jupyterlab.html").write_text(page.content())
            print(f"screenshot: {tmp_path / 'jupyterlab.png'}  page: {tmp_path / 'jupyterlab.html'}")
        raise


def run_all_cells(page, lab: Lab, notebook: Path) -> NotebookRun:
    """Open a copy of `notebook` in JupyterLab, Run > Run All Cells, and wait until the kernel is
    idle after the last cell that ran (all of them, or up to the first error)."""
    copy = lab.folder / notebook.name
    content = nbformat.read(notebook, as_version=4)
    # Solutions open collapsed (jupyter.source_hidden), and JupyterLab draws no prompt for a collapsed
    # cell: the copy shows every cell's code, so each cell's execution count can be read.
    for cell in content.cells:
        cell.metadata.get("jupyter", {}).pop("source_hidden", None)
    nbformat.write(content, copy)
    cells = len(content.cells)
    # Code cells whose error is the lesson: JupyterLab shows it and Run All goes on (as nbval does).
    expected = {i for i, c in enumerate(c for c in content.cells if c.cell_type == "code")
                if "raises-exception" in c.metadata.get("tags", [])}
    # A workspace of its own: the default one would reopen the notebooks of the tests before.
    page.goto(f"{lab.url}/lab/workspaces/{uuid.uuid4().hex[:10]}/tree/{copy.relative_to(ROOT).as_posix()}"
              f"?token={lab.token}")

    seen = {}

    def state():
        seen["last"] = page.evaluate(STATE_JS, ERROR_OUTPUT)
        return seen["last"]

    def wait(predicate, *, timeout, interval, what):
        try:
            return wait_until(predicate, timeout=timeout, interval=interval, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; the page showed: {seen.get('last')}") from None

    # Every cell is in the DOM (JupyterLab 4.6's default windowing only hides off-screen cells
    # with content-visibility, so they can all be read), and the kernel is connected and idle.
    # The toolbar's indicator alone is not enough: it says "idle" before the kernel exists
    # (the status bar then says "No Kernel | Initializing"), and Run All does nothing then.
    wait(lambda: (s := state()) and s["cells"] == cells and s["status"] == "idle" and s["kernel"].endswith("| Idle"),
         timeout=180, interval=0.5,
         what=f"JupyterLab to open {notebook.name} with all {cells} cells and an idle kernel")
    page.evaluate(WATCH_PANELS_JS)

    # The Run menu's item, found by its command id rather than by a label or a shortcut: JupyterLab
    # has no default key for Run All, and the command palette picks by fuzzy match.
    started = time.monotonic()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]:not(.lm-mod-disabled)').click()
    # The copy has no outputs, so any prompt other than "[ ]:" means Run All has begun.
    wait(lambda: any(p != "[ ]:" for p in state()["prompts"]), timeout=60, interval=0.2,
         what="Run All Cells to start a cell")

    def finished():
        s = state()
        if s["status"] != "idle" or any("*" in p for p in s["prompts"]):
            return None  # running, or cells still queued
        # JupyterLab clears the prompts of the cells queued after an error, so "finished" is: every
        # code cell has a number, or an error is showing outside the cells tagged raises-exception.
        unexpected = [e for e in s["errors"] if e["cell"] not in expected]
        return s if unexpected or all(re.fullmatch(r"\[\d+\]:", p) for p in s["prompts"]) else None

    s = wait(finished, timeout=RUN_TIMEOUT_S, interval=0.5,
             what=f"every cell of {notebook.name} to run and the kernel to be idle")
    return NotebookRun(cells=s["cells"], prompts=s["prompts"],
                       errors=[e["text"] for e in s["errors"] if e["cell"] not in expected],
                       expected_errors=[e["text"] for e in s["errors"] if e["cell"] in expected],
                       panels=page.evaluate("() => window.__labPanels"), seconds=time.monotonic() - started)


def batches_shown_live(panel_states: list[dict]) -> dict[str, list[str]]:
    """Per query, the distinct batch numbers its row showed while the query was running, in order."""
    shown: dict[str, list[str]] = {}
    for state in panel_states:
        for row in state["rows"]:
            if row["status"] == "running" and row["batch"] not in shown.setdefault(row["query"], []):
                shown[row["query"]].append(row["batch"])
    return shown


def test_an_error_in_a_cell_is_seen(page, lab, tmp_path):
    """The notebook test below is only as good as its error selector: a traceback trips it, so does
    text written to stderr (a red box too), plain output does not; an error in a cell tagged
    raises-exception is shown and Run All goes on; Run All Cells stops at any other error, and the
    wait in run_all_cells ends there instead of timing out."""
    expected = nbformat.v4.new_code_cell("raise ValueError('the lesson')")
    expected.metadata["tags"] = ["raises-exception"]
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print('fine')"),
        nbformat.v4.new_code_cell("import sys\nprint('a warning', file=sys.stderr)"),
        expected,
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("print('not reached')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}})
    path = tmp_path / "raises.ipynb"
    nbformat.write(notebook, path)
    with screenshot_on_failure(page, tmp_path):
        run = run_all_cells(page, lab, path)
        assert len(run.errors) == 2, run.errors
        assert run.errors[0] == "a warning" and "ZeroDivisionError" in run.errors[1], run.errors
        assert len(run.expected_errors) == 1 and "the lesson" in run.expected_errors[0], run.expected_errors
        assert run.prompts == ["[1]:", "[2]:", "[3]:", "[4]:", "[ ]:"], run.prompts


@pytest.mark.integration
def test_notebook_03_runs_in_a_real_browser(cfg, page, lab, tmp_path):
    """Issue 15, point 8: Run All Cells on notebook 03 in JupyterLab in Chromium: the progress panel
    updates at least twice (two successive micro-batches of a query), no error output but the
    lesson's own (cells tagged raises-exception), every code cell executed; the committed notebook
    is left as it was."""
    committed = hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest()
    content = nbformat.read(NOTEBOOK, as_version=4)
    code_cells = sum(c.cell_type == "code" for c in content.cells)
    lessons_errors = sum("raises-exception" in c.metadata.get("tags", []) for c in content.cells)
    with screenshot_on_failure(page, tmp_path):
        run = run_all_cells(page, lab, NOTEBOOK)
        print(f"{NOTEBOOK.relative_to(ROOT)}: all cells in {run.seconds:.0f} s; batches shown live per query: "
              f"{[batches_shown_live(states) for states in run.panels]}; panel states: {run.panels}")
        assert not run.errors, "outputs shown as errors:\n" + "\n---\n".join(run.errors)
        assert bool(run.expected_errors) == bool(lessons_errors), \
            f"cells tagged raises-exception: {lessons_errors}; errors they showed: {run.expected_errors}"
        assert len(run.prompts) == code_cells, run.prompts
        counts = [int(m.group(1)) if (m := re.fullmatch(r"\[(\d+)\]:", p)) else None for p in run.prompts]
        assert None not in counts, f"code cells without an execution count: {run.prompts}"
        assert counts == sorted(set(counts)), f"cells did not run once each, in order: {run.prompts}"
        assert run.panels, "no progress panel (a table with `query`, `status` and `batch` columns) appeared"
        # Updated at least twice: a query's row went from "waiting for data" to one micro-batch, then
        # to a later one. One batch per query is not enough: that shows it was drawn, not that it kept up.
        live = [batches_shown_live(states) for states in run.panels]
        assert any(len(batches) >= 2 for shown in live for batches in shown.values()), \
            f"the progress panel never showed two successive micro-batches of a query while it ran " \
            f"(batches shown per query: {live}; states seen: {run.panels})"
    assert hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest() == committed, f"{NOTEBOOK} was modified"
