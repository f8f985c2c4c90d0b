"""The lake's Delta tables, read without Spark (the `deltalake` package, delta-rs).

A Delta table is a folder of Parquet files plus `_delta_log/`, one JSON file per commit (and a
Parquet checkpoint every few commits). Which files make up the table at a version is what the
log says, not what the folder holds: a compaction leaves the old files in place until VACUUM,
and a killed batch can leave files no commit names. `read()` goes through the log, like
`spark.read.format("delta")`; a plain Parquet reader of the folder would count rows twice.

    from lab_utils.clients import lake
    silver = lake.read(lake.SILVER)                      # pandas, the current version
    before = lake.read(lake.SILVER, version=3)           # time travel
    lake.history(lake.SILVER)[0]["operation"]            # the newest commit first
    lake.active_files(lake.SILVER)                       # the Parquet files the version reads

The tables (docs/contract.md) live under `s3://LAB_BUCKET/<root>/lake/`; `stream --sink delta`
writes them (lab_utils.pipeline.lake).
"""

from __future__ import annotations

from .. import config as _config
from .. import i18n
from ..errors import LabError

LAKE = "lake"
BRONZE = "bronze/transactions"
SILVER = "silver/transactions"
REJECTED = "silver/rejected"
GOLD = "gold/eur_by_currency_hour"
TABLES = (BRONZE, SILVER, REJECTED, GOLD)

_ = i18n.catalog(__name__, {
    "no_table": {
        "en": "there is no Delta table at {uri} yet: fill the lake with "
              "`python -m lab_utils stream --sink delta --available-now` (or `pipeline.start_lake()` in a notebook)",
        "fr": "il n'y a pas encore de table Delta à l'adresse {uri} : remplissez le lac de données avec "
              "`python -m lab_utils stream --sink delta --available-now` (ou `pipeline.start_lake()` dans un notebook)",
    },
    "no_version": {
        "en": "table {table} has no version {version}: its versions run from {oldest} to {newest} "
              "(`lake.history()` lists them)",
        "fr": "la table {table} n'a pas de version {version} : ses versions vont de {oldest} à {newest} "
              "(`lake.history()` les liste)",
    },
})


def table_path(name: str, root: str = "", cfg: _config.LabConfig | None = None) -> str:
    """`LAB_BUCKET/<root>/lake/<name>`, the s3fs form of a table's folder."""
    cfg = cfg or _config.load()
    return cfg.s3_path(root, LAKE, name)


def table_uri(name: str, root: str = "", cfg: _config.LabConfig | None = None) -> str:
    """`s3://LAB_BUCKET/<root>/lake/<name>` (delta-rs); Spark uses `cfg.s3a_path(root, "lake", name)`."""
    return "s3://" + table_path(name, root, cfg)


def storage_options(cfg: _config.LabConfig | None = None) -> dict[str, str]:
    """delta-rs's options for MinIO, with the lab's key (not MinIO's root)."""
    cfg = cfg or _config.load()
    return {
        "AWS_ENDPOINT_URL": cfg.AWS_ENDPOINT_URL,
        "AWS_ACCESS_KEY_ID": cfg.AWS_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": cfg.AWS_SECRET_ACCESS_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": str(cfg.AWS_ENDPOINT_URL.startswith("http://")).lower(),
        # MinIO is local: fail in seconds when it is down, not after minutes of retries.
        "AWS_CONNECT_TIMEOUT": "5s",
        "AWS_MAX_RETRIES": "2",
    }


def exists(name: str, root: str = "", cfg: _config.LabConfig | None = None) -> bool:
    """True when the folder holds a Delta table (a `_delta_log` with at least one commit)."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(table_uri(name, root, cfg), storage_options(cfg))


def table(name: str, version: int | None = None, root: str = "", cfg: _config.LabConfig | None = None):
    """The `deltalake.DeltaTable` at its newest version, or at `version` (time travel).

    Raises LabError naming the fix when the table does not exist or has no such version.
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError, TableNotFoundError

    cfg = cfg or _config.load()
    uri = table_uri(name, root, cfg)
    try:
        newest = DeltaTable(uri, storage_options=storage_options(cfg))
    except TableNotFoundError:
        raise LabError(_("no_table", uri=uri)) from None
    if version is None or version == newest.version():
        return newest
    try:
        return DeltaTable(uri, version=version, storage_options=storage_options(cfg))
    except DeltaError:
        versions = [h["version"] for h in newest.history()]
        raise LabError(_("no_version", table=name, version=version, oldest=min(versions),
                         newest=max(versions))) from None


def read(name: str, version: int | None = None, columns: list[str] | None = None, root: str = "",
         cfg: _config.LabConfig | None = None):
    """The table (at `version`, else its newest) as a pandas DataFrame, read through its log."""
    return table(name, version, root, cfg).to_pandas(columns=columns)


def read_arrow(name: str, version: int | None = None, columns: list[str] | None = None, root: str = "",
               cfg: _config.LabConfig | None = None):
    """The same as `read()`, as a pyarrow Table."""
    return table(name, version, root, cfg).to_pyarrow_table(columns=columns)


def history(name: str, limit: int | None = None, root: str = "", cfg: _config.LabConfig | None = None) -> list[dict]:
    """The table's commits, newest first: version, timestamp, operation, operationParameters, ..."""
    return table(name, root=root, cfg=cfg).history(limit)


def active_files(name: str, version: int | None = None, root: str = "", cfg: _config.LabConfig | None = None) -> int:
    """How many Parquet files the version reads (what compaction brings down)."""
    return table(name, version, root, cfg).get_add_actions().num_rows


def row_count(name: str, version: int | None = None, root: str = "", cfg: _config.LabConfig | None = None) -> int:
    """Rows in the version, from the log's per-file statistics (no data file is read)."""
    return table(name, version, root, cfg).count()


def stream_version(name: str, app_id: str, root: str = "", cfg: _config.LabConfig | None = None) -> int | None:
    """The last micro-batch that the stream `app_id` committed to the table (Delta's txn action),
    None when it committed none; raises LabError when there is no table."""
    return table(name, root=root, cfg=cfg).transaction_version(app_id)
