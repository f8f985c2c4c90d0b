"""lab_utils: the plumbing behind the streaming lab's notebooks, one call away.

    import lab_utils
    cfg = lab_utils.config.load()      # every setting, from the environment, .env, defaults
    spark = lab_utils.get_spark()      # the SparkSession with Kafka + S3A (MinIO) ready
    df = lab_utils.storage.read_committed("output")   # committed Parquet only, into pandas

The package is layered; each layer imports only the ones below it (README, "Architecture";
pyproject.toml holds the import-linter contract that CI enforces):

    cli, demo, bench                 the commands
    lessons                          environment table, preflight, exercise checks
    services | training              the native stack: processes, broker, S3 server, reset |
                                     the fraud model: history, fit, held-out figures
    pipeline | producer              Spark session, transformations, queries | sending to Kafka
    generator                        simulated transactions
    clients                          Kafka and S3 clients, topics, offsets, committed files
    messages                         the message contract and the reject reasons
    config                           every setting and every path
    errors                           every exception

The names the notebooks use stay importable here: `storage`, `checks`, `stack`, `prometheus` are the
modules below under their older, shorter names; nothing is imported until first used.
"""

import importlib

from . import config, errors

# Short names the notebooks use -> the module that holds them now.
_ALIASES = {
    "storage": "lab_utils.clients.storage",
    "checks": "lab_utils.lessons",
    "stack": "lab_utils.services",
    "prometheus": "lab_utils.clients.prometheus",
}


def __getattr__(name: str):
    if name in _ALIASES:
        return importlib.import_module(_ALIASES[name])
    if name == "get_spark":
        return importlib.import_module("lab_utils.pipeline.session").get_spark
    raise AttributeError(f"module 'lab_utils' has no attribute {name!r}")


__all__ = ["checks", "config", "errors", "get_spark", "prometheus", "stack", "storage"]
