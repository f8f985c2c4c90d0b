"""The whole story, headless, for instructors: notebooks 02 -> 03 -> 04 executed, plots saved as PNG.

    python -m lab_utils demo [--out demo-output]

Runs the notebooks themselves (nothing is copied out of them into a script), in a kernel of this
Python environment, and writes next to each executed notebook the figures of its cells tagged
`png:<name>` (notebook 04 tags its four plots). The executed notebooks, outputs included, are in
the same folder, for a look afterwards; the originals stay without outputs.

Notebook 03 starts the pipeline on its checkpoints; while another kernel (or `python -m lab_utils
stream`) runs it, that start is refused. The demo looks at the checkpoints' locks before it runs
anything and says so in one line, naming what to stop.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path
from typing import Callable

from . import config as _config
from .clients.health import require_services
from .errors import CheckpointInUse, LabError
from .pipeline import OUTPUT_QUERY, REJECTED_QUERY
from .pipeline.checkpoint import CheckpointLock

STORY = ("02_produce_from_a_cell", "03_streaming_query", "04_results")
CELL_TIMEOUT_S = 600
PNG_TAG = "png:"


def _kernel_manager():
    """A kernel of this interpreter, whatever kernelspecs the machine has installed."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="lab (this Python)", language="python")

    return KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython())


def _save_pngs(nb, name: str, out: Path) -> list[Path]:
    saved = []
    for cell in nb.cells:
        tags = [t[len(PNG_TAG):] for t in cell.get("metadata", {}).get("tags", []) if t.startswith(PNG_TAG)]
        images = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        for tag in tags:
            if not images:
                raise LabError(f"{name}: the cell tagged {PNG_TAG}{tag} drew no figure: run the notebook in "
                               "JupyterLab to see why")
            path = out / f"{tag}.png"
            path.write_bytes(base64.b64decode(images[0]))
            saved.append(path)
    return saved


def pipeline_in_use(cfg: _config.LabConfig | None = None) -> CheckpointInUse | None:
    """The refusal to raise when a running query holds one of the pipeline's checkpoints, else None."""
    cfg = cfg or _config.load()
    for query in (OUTPUT_QUERY, REJECTED_QUERY):
        checkpoint = cfg.s3a_path("checkpoint", query)
        held = CheckpointLock(checkpoint, query, cfg).running_holder()
        if held is not None:
            who, _info = held
            return CheckpointInUse(
                f"the pipeline is already running ({who} holds checkpoint {checkpoint}), so notebook 03 could not "
                "start it: stop it first (`pipeline.stop()` or Kernel > Shut Down in that notebook, Ctrl-C for "
                "`python -m lab_utils stream`), then run the demo again")
    return None


def run(out: Path, notebooks: tuple[str, ...] = STORY, say: Callable[[str], None] = print,
        lang: str | None = None) -> list[Path]:
    """Execute `notebooks` (in LAB_LANG's language, or `lang`) in order; write each executed notebook
    and its tagged PNGs into `out`."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    cfg = require_services()
    in_use = pipeline_in_use(cfg)
    if in_use is not None:
        raise in_use
    out.mkdir(parents=True, exist_ok=True)
    pngs: list[Path] = []
    folder = _config.NOTEBOOKS_DIR / (lang or _config.language())
    for name in notebooks:
        source = folder / f"{name}.ipynb"
        if not source.exists():
            raise LabError(f"{source} is missing: restore it with `git checkout notebooks/`")
        nb = nbformat.read(source, as_version=4)
        t0 = time.monotonic()
        say(f"running {name} ...")
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, km=_kernel_manager(),
                                resources={"metadata": {"path": str(folder)}})
        try:
            client.execute()
        except CellExecutionError as e:
            nbformat.write(nb, out / f"{name}.ipynb")
            # The lab's errors say what to do in their first line; a traceback's last line often does not.
            said = (e.evalue or "").strip().splitlines()
            why = f"{e.ename}: {said[0]}" if said else (e.ename or type(e).__name__)
            raise LabError(f"{name} failed: {why} (the executed notebook is in {out / (name + '.ipynb')})") from e
        nbformat.write(nb, out / f"{name}.ipynb")
        saved = _save_pngs(nb, name, out)
        pngs += saved
        say(f"  done in {time.monotonic() - t0:.0f} s" + (f", {len(saved)} plots" if saved else ""))
    return pngs
