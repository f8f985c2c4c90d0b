"""Every fetch and build `stack up` needs, nothing started: what `make` runs while pip installs.

    python3.11 -m lab_utils.services.prefetch [--with-compose] [--with-monitoring]

Maven's fetches and Go's builds (MinIO; Docker Compose to validate the compose file; Prometheus
and the JMX agent for monitoring) run side by side, and beside pip (Makefile), so a cold set-up
waits for the longest of them instead of their sum. It needs only the standard library: it runs
on the system's Python before the virtual environment exists. On failure it prints one line and
exits 1; `stack up` then tries again and says the same.
"""

from __future__ import annotations

import sys

from ..errors import LabError
from . import monitoring
from .builds import ensure_compose_binary, ensure_kafka_jars, ensure_minio_binary, ensure_spark_jars, fetch_and_build


def steps(with_compose: bool, with_monitoring: bool) -> list:
    """The steps of `stack up`'s fetch_and_build, and Docker Compose's build when asked."""
    chosen = [ensure_kafka_jars, ensure_spark_jars, ensure_minio_binary]
    if with_compose:
        chosen.append(ensure_compose_binary)
    if with_monitoring:
        chosen += [monitoring.ensure_jmx_agent, monitoring.ensure_prometheus]
    return chosen


def main(argv: list[str]) -> int:
    unknown = [a for a in argv if a not in ("--with-compose", "--with-monitoring")]
    if unknown:
        print(f"error: unknown option {unknown[0]}: use --with-compose and/or --with-monitoring", file=sys.stderr)
        return 2
    try:
        fetch_and_build(steps("--with-compose" in argv, "--with-monitoring" in argv),
                        say=lambda m: print(m, flush=True))
    except LabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
