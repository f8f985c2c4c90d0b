"""The bucket: an s3fs filesystem with the lab's key, and readers that trust only committed files.

Spark's file sink writes Parquet files first and records them in `<path>/_spark_metadata/`
only when the batch commits. A batch that fails half-way (driver killed, MinIO restarted)
leaves Parquet files that no log entry names. Listing the folder, as plain
`pandas.read_parquet("s3://.../output")` does, would count those rows; and after the restart
Spark writes the batch again, so a student would see duplicates. `read_committed()` reads
exactly the files that `_spark_metadata` commits, as `spark.read` does.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import unquote, urlparse

from .. import config as _config
from .. import i18n
from ..errors import CheckpointMismatch

_BATCH_FILE = re.compile(r"^(\d+)(\.compact)?$")


_ = i18n.catalog(__name__, {
    "minio_down": {
        "en": "MinIO is not reachable at {address}: run `make lab` or `python -m lab_utils stack up` "
              "(or `docker compose up -d`) and check `python -m lab_utils stack status`",
        "fr": "MinIO ne répond pas à l'adresse {address} : lancez `make lab` ou `python -m lab_utils stack up` "
              "(ou `docker compose up -d`) puis vérifiez `python -m lab_utils stack status`",
    },
    "one_sided": {
        "en": "refusing to delete {prefix}: an output folder and its checkpoint go together, or the next run "
              "loses or skips rows; delete both (or their common folder), or run `python -m lab_utils stack reset`",
        "fr": "suppression de {prefix} refusée : un dossier de sortie et son point de contrôle (checkpoint) vont "
              "ensemble, sinon la prochaine exécution perd ou saute des lignes ; supprimez les deux (ou leur "
              "dossier commun), ou lancez `python -m lab_utils stack reset`",
    },
})


def minio_down_message(cfg: _config.LabConfig) -> str:
    return _("minio_down", address=cfg.AWS_ENDPOINT_URL)


def minio_ready(cfg: _config.LabConfig) -> bool:
    """True when the S3 server answers its liveness probe."""
    try:
        with urllib.request.urlopen(cfg.AWS_ENDPOINT_URL.rstrip("/") + "/minio/health/live", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def filesystem(cfg: _config.LabConfig | None = None):
    """An `s3fs.S3FileSystem` for MinIO, with the lab's access key (not MinIO's root)."""
    import s3fs

    cfg = cfg or _config.load()
    return s3fs.S3FileSystem(
        key=cfg.AWS_ACCESS_KEY_ID,
        secret=cfg.AWS_SECRET_ACCESS_KEY,
        endpoint_url=cfg.AWS_ENDPOINT_URL,
        client_kwargs={"region_name": "us-east-1"},
        # MinIO is local: fail fast instead of retrying for minutes when it is down.
        config_kwargs={"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 2}},
        use_listings_cache=False,
    )


def _key(uri: str) -> str:
    """`s3a://bucket/a%3Db/f.parquet` -> `bucket/a=b/f.parquet` (s3fs path form)."""
    u = urlparse(uri)
    return unquote(f"{u.netloc}{u.path}")


def committed_files(path: str, fs=None, cfg: _config.LabConfig | None = None) -> list[str]:
    """The Parquet files under `path` (e.g. "output") that Spark's `_spark_metadata` log commits.

    The log holds one file per batch (`0`, `1`, ...) and, every few batches, a `N.compact` file
    that repeats everything up to N. So: the newest compact file plus the batch files after it.
    Returns s3fs paths (`bucket/key`); an empty list when nothing has been committed yet.
    """
    cfg = cfg or _config.load()
    fs = fs or filesystem(cfg)
    log_dir = cfg.s3_path(path, "_spark_metadata")
    try:
        names = [p.rsplit("/", 1)[-1] for p in fs.ls(log_dir, detail=False, refresh=True)]
    except FileNotFoundError:
        return []
    batches = {}
    for name in names:
        m = _BATCH_FILE.match(name)
        if m:
            batches[int(m.group(1))] = name
    if not batches:
        return []
    compacts = [b for b, name in batches.items() if name.endswith(".compact")]
    start = max(compacts) if compacts else min(batches)
    files: dict[str, None] = {}
    for batch in sorted(b for b in batches if b >= start):
        text = fs.cat_file(f"{log_dir}/{batches[batch]}").decode()
        lines = text.splitlines()
        if not lines or not lines[0].startswith("v"):
            raise ValueError(f"{log_dir}/{batches[batch]} is not a Spark file-sink log (first line {lines[:1]})")
        for line in lines[1:]:
            if not line.strip():
                continue
            entry = json.loads(line)
            key = _key(entry["path"])
            if entry.get("action", "add") == "delete":
                files.pop(key, None)
            else:
                files[key] = None
    return list(files)


def read_committed(path: str = "output", columns: list[str] | None = None,
                   cfg: _config.LabConfig | None = None):
    """Read the committed Parquet under `s3://LAB_BUCKET/<path>/` into a pandas DataFrame.

    Hive partition folders (`event_date=2026-11-27/`) come back as columns.
    """
    import pyarrow.dataset as ds

    cfg = cfg or _config.load()
    fs = filesystem(cfg)
    files = committed_files(path, fs=fs, cfg=cfg)
    if not files:
        import pandas as pd

        return pd.DataFrame(columns=columns or [])
    dataset = ds.dataset(files, filesystem=fs, format="parquet",
                         partitioning=ds.partitioning(flavor="hive"),
                         partition_base_dir=cfg.s3_path(path))
    return dataset.to_table(columns=columns).to_pandas()


# Each of these folders goes with its checkpoint, `checkpoint/<name>`: the Parquet sinks, and the
# lake's Delta tables (one query, checkpoint/lake).
SINKS = ("output", "rejected", "lake")


def one_sided(prefixes: tuple[str, ...]) -> str | None:
    """The first prefix whose deletion would leave a sink without its checkpoint or the reverse.

    `<root>/output` goes with `<root>/checkpoint/output` (the same for rejected), so deleting
    anything at or inside one of them needs the other deleted too. Deleting `<root>` itself,
    or folders that hold neither, is fine.
    """
    cleared = [p.strip("/") for p in prefixes]

    def covered(path: str) -> bool:
        return any(path == q or path.startswith(q + "/") or not q for q in cleared)

    for prefix in cleared:
        parts = prefix.split("/")
        for i, part in enumerate(parts):
            if part in SINKS or part == "checkpoint":
                break
        else:
            continue
        root = parts[:i]
        if part == "checkpoint" and len(parts) == i + 1:
            pairs = SINKS
        elif part == "checkpoint":
            pairs = (parts[i + 1],) if parts[i + 1] in SINKS else ()
        else:
            pairs = (part,)
        for sink in pairs:
            for needed in ("/".join(root + [sink]), "/".join(root + ["checkpoint", sink])):
                if not covered(needed):
                    return f"{prefix} (without {needed})"
    return None


def clear(cfg: _config.LabConfig | None = None, prefixes: tuple[str, ...] = ()) -> int:
    """Delete every object under the given prefixes of the bucket. Returns how many were removed.

    Refuses (CheckpointMismatch) to delete an output folder without its checkpoint, or the
    reverse: that breaks exactly-once (see lab_utils.checkpoint). Clear them together, e.g.
    `clear(cfg, ("checkpoint", "output", "rejected", "lake"))`, or run `python -m lab_utils stack reset`.
    """
    cfg = cfg or _config.load()
    one_sided_prefix = one_sided(prefixes)
    if one_sided_prefix:
        raise CheckpointMismatch(_("one_sided", prefix=one_sided_prefix))
    fs = filesystem(cfg)
    removed = 0
    for prefix in prefixes:
        path = cfg.s3_path(prefix)
        found = fs.find(path)
        if found:
            fs.rm(found)
            removed += len(found)
    return removed
