"""The Spark driver's class archive (class-data sharing), built once by `stack up`.

A fresh Python process starts a lab session, runs the pipeline's transformations on a few
generated messages (local files only: no service is needed) and exits; its JVM writes every
class it loaded to the archive (-XX:ArchiveClassesAtExit, Java 13 or newer). Every later
`get_spark()` maps the archive instead of loading those classes from the jars
(lab_utils.pipeline.session). About a minute, once per JVM, pyspark and jar set.

    python -m lab_utils.services.class_archive PATH    # the workload alone, dumping to PATH
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import config as _config
from .. import messages, pipeline
from ..generator import TransactionGenerator


def ensure_class_archive(say=print) -> bool:
    """Build the driver's class archive unless this JVM, pyspark and jar set already have one.

    A fresh Python process starts a lab session, runs the pipeline's transformations on a few
    generated messages (local files only: no service is needed) and exits; its JVM writes every
    class it loaded to the archive (-XX:ArchiveClassesAtExit, Java 13 or newer). About a minute, once.
    Returns True if it built one.
    """
    archive = pipeline.session.class_archive()
    if archive is None or archive.exists():
        return False
    failed = archive.with_suffix(".failed")
    if failed.exists():
        return False
    archive.parent.mkdir(parents=True, exist_ok=True)
    say("building the Spark driver's class archive (first run only, about a minute) ...")
    t0 = time.monotonic()
    partial = archive.with_name(f".{archive.name}.{os.getpid()}.partial")
    log = _config.CLASS_ARCHIVE_DIR / "build.log"
    with open(log, "w") as out:
        try:
            # -W: runpy warns that the package (imported first) already holds this module; harmless here.
            returncode = subprocess.run([sys.executable, "-W", "ignore::RuntimeWarning:runpy", "-m", __name__,
                                         str(partial)], cwd=_config.ROOT, stdout=out,
                                        stderr=subprocess.STDOUT, timeout=600).returncode
        except subprocess.TimeoutExpired:
            returncode = "timeout"
    # The JVM writes the archive as it exits, after the Python process that drove it.
    pid = next((int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("driver-pid ")), None)
    deadline = time.monotonic() + 120
    while pid and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    writing = pid is not None and Path(f"/proc/{pid}").exists()
    if returncode != 0 or pid is None or writing or not partial.exists() or partial.stat().st_size == 0:
        # An optimisation, not a requirement (a JRE without its base archive cannot write one):
        # say so once and go on; the marker stops every `stack up` from paying a minute to fail again.
        partial.unlink(missing_ok=True)
        failed.write_text(f"exit {returncode}\n")
        say(f"  no class archive (see {log}): get_spark() works, only slower; "
            f"delete {failed} to try again")
        return False
    partial.replace(archive)
    for old in archive.parent.glob("spark-*.jsa"):
        if old != archive:
            old.unlink(missing_ok=True)
    say(f"  class archive: {archive.stat().st_size / 2**20:.0f} MiB in {time.monotonic() - t0:.0f} s -> {archive}")
    return True


def workload(dump_to: str) -> None:
    """What a lab session loads: a session, then the pipeline's transformations written as Parquet.

    Run in its own process (`python -m lab_utils.services.class_archive PATH`): its JVM writes
    the classes it loaded to PATH as it exits.
    """
    from pyspark.sql import functions as F

    options = f"{pipeline.session.driver_java_options(None)} -XX:ArchiveClassesAtExit={dump_to}"
    spark = pipeline.get_spark(app_name="lab-class-archive", **{"spark.driver.extraJavaOptions": options})
    print("driver-pid", spark._jvm.java.lang.ProcessHandle.current().pid(), flush=True)
    records = TransactionGenerator(seed=3, bad_ratio=0.2, start_id=1).take(500)
    raw = spark.createDataFrame([(r.key, r.value, int(r.key or b"0") % 3, i) for i, r in enumerate(records)],
                                "key binary, value binary, partition int, offset long")
    checked = pipeline.classify(raw, messages.load_rates())
    with tempfile.TemporaryDirectory(prefix="lab-class-archive-") as tmp:
        pipeline.to_output(checked, _config.load().LAB_TIMEZONE).write.partitionBy("event_date").parquet(f"{tmp}/output")
        pipeline.to_rejected(checked).write.parquet(f"{tmp}/rejected")
        n = spark.read.parquet(f"{tmp}/output").groupBy("devise").agg(F.sum("montant_eur")).count()
    print("currencies", n, flush=True)
    spark.stop()


if __name__ == "__main__":
    workload(sys.argv[1])
