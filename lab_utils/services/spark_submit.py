"""spark-submit with the lab's jars and settings: a PySpark script run as a job, the seed's way.

    python -m lab_utils submit scripts/consumer_spark.py --folder students/ada/submit

The seed's course runs its consumer with `spark-submit --jars ... consumer_spark.py`. pyspark
ships `spark-submit` in its `bin/`; this module builds its command line from
`lab_utils.pipeline.spark_conf()`, so a job gets exactly the settings of a notebook's session
(the connector jars of `.lab/jars/spark/`, S3A on MinIO with the lab's key, UTC, the driver on
127.0.0.1), and nobody pastes an endpoint or a key into a command.

The S3 key and secret never appear on the command line (where `ps` shows them to every user of
the machine): they go into a properties file readable by its owner only, deleted when the job
ends. `printable()` is the command as a student reads it, secrets left out.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .. import config as _config
from ..errors import LabError, SetupFailed
from ..pipeline import spark_conf

# Settings that hold a secret: passed in a private properties file, never as --conf.
SECRET_SETTINGS = ("spark.hadoop.fs.s3a.access.key", "spark.hadoop.fs.s3a.secret.key")


def spark_submit_path() -> Path:
    """The `spark-submit` that pyspark installs (its `bin/`), so the job runs the pinned Spark."""
    import pyspark

    path = Path(pyspark.__file__).resolve().parent / "bin" / "spark-submit"
    if not path.exists():
        raise SetupFailed(f"pyspark has no {path}: run `make setup` (it installs the pinned pyspark)")
    return path


@dataclass(frozen=True)
class Job:
    """A spark-submit command: the arguments (no secret in them), the secret settings, the environment."""

    argv: list[str]
    secrets: dict[str, str]
    env: dict[str, str]

    def printable(self) -> str:
        """The command to read, one option per line: paths relative to the repository, the jars
        abbreviated (there are about forty), the secrets left out."""
        def short(text: str) -> str:  # a file:// URI keeps its absolute path
            return re.sub(f"(?<!file://){re.escape(str(_config.ROOT))}/", "", text)

        lines, args = [], list(self.argv)
        lines.append(shlex.quote(short(args.pop(0))))
        while args:
            if args[0].startswith("--") and len(args) > 1:
                option, value = args.pop(0), short(args.pop(0))
                if option == "--jars":
                    jars = value.split(",")
                    named = [j for j in jars if "spark-sql-kafka" in j or "hadoop-aws" in j]
                    value = ",".join(named + [f"... ({len(jars)} jars in all)"])
                lines.append(f"  {option} {shlex.quote(value)}")
            else:
                lines.append("  " + " ".join(shlex.quote(a) for a in args))
                break
        return " \\\n".join(lines)


def job(script: str | Path, args: list[str] | tuple[str, ...] = (), cfg: _config.LabConfig | None = None,
        require_connectors: bool = True) -> Job:
    """The spark-submit command that runs `script` (with its `args`) with every setting of the lab.

    `--master` and `--jars` are spelled out, as in the seed's course; every other setting of
    spark_conf() becomes a `--conf`, except the S3 key and secret (Job.secrets).
    """
    conf = spark_conf(cfg, require_connectors=require_connectors)
    secrets = {name: conf.pop(name) for name in SECRET_SETTINGS}
    argv = [str(spark_submit_path()), "--master", conf.pop("spark.master"),
            "--name", Path(script).stem]
    conf.pop("spark.app.name")
    jars = conf.pop("spark.jars")
    if jars:
        argv += ["--jars", jars]
    for name, value in conf.items():
        argv += ["--conf", f"{name}={value}"]
    argv += [str(script), *args]
    # As get_spark() does: the UI binds to SPARK_LOCAL_IP, so it stays on 127.0.0.1 (docs/contract.md).
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", conf["spark.driver.bindAddress"])}
    return Job(argv=argv, secrets=secrets, env=env)


@contextmanager
def secrets_file(secrets: dict[str, str]) -> Iterator[Path]:
    """A Spark properties file holding `secrets`, readable by its owner only, deleted on leaving the block."""
    with tempfile.TemporaryDirectory(prefix="lab-submit-") as folder:
        path = Path(folder) / "secrets.conf"
        path.touch(mode=0o600)
        path.write_text("".join(f"{name} {value}\n" for name, value in secrets.items()))
        yield path


def run(script: str | Path, args: list[str] | tuple[str, ...] = (), cfg: _config.LabConfig | None = None,
        say=print) -> int:
    """Run `script` with spark-submit and the lab's settings; returns the job's exit status.

    The job's own output (its prints, Spark's warnings) goes to this process's stdout and stderr.
    """
    script = Path(script)
    if not script.is_file():
        raise LabError(f"no script {script}: give the path of a PySpark script, e.g. scripts/consumer_spark.py")
    spec = job(script, args, cfg)
    say(f"running:\n{spec.printable()}")
    sys.stdout.flush()  # before the job's own output
    with secrets_file(spec.secrets) as properties:
        # --properties-file goes before the script: every argument after it is the script's own.
        at = spec.argv.index(str(script))
        argv = [*spec.argv[:at], "--properties-file", str(properties), *spec.argv[at:]]
        return subprocess.run(argv, env=spec.env, stdin=subprocess.DEVNULL).returncode
