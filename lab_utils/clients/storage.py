"""The bucket: an s3fs filesystem with the lab's key, and readers that trust only committed files.

Spark's file sink writes Parquet files first and records them in `<path>/_spark_metadata/`
only when the batch commits. A batch that fails half-way (driver killed, MinIO restarted)
leaves Parquet files that no log entry names. Listing the folder, as plain
`pandas.read_parquet("s3://.../output")` does, would count those rows; and after the restart
Spark writes the batch again, so a student would see duplicates. `read_committed()` reads
exactly the files that `_spark_metadata` commits, as `spark.read` does.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import re
import urllib.request
from urllib.parse import unquote, urlparse

from .. import config as _config
from .. import i18n
from ..errors import CheckpointMismatch, LabError, NotSetUp, ServiceDown

_BATCH_FILE = re.compile(r"^(\d+)(\.compact)?$")


_ = i18n.catalog(__name__, {
    "minio_down": {
        "en": "MinIO is not reachable at {address}: run `make lab` or `python -m lab_utils stack up` "
              "(or `docker compose up -d`) and check `python -m lab_utils stack status`",
        "fr": "MinIO ne répond pas à l'adresse {address} : lancez `make lab` ou `python -m lab_utils stack up` "
              "(ou `docker compose up -d`) puis vérifiez `python -m lab_utils stack status`",
    },
    "bad_secret": {
        "en": "MinIO at {address} refuses the lab's key {access_key}: AWS_SECRET_ACCESS_KEY ({where}) is not its secret. "
              "Put back the value .env had, or run `python -m lab_utils stack up`, which gives the lab's key "
              "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the configuration",
        "fr": "MinIO ({address}) refuse la clé du lab {access_key} : AWS_SECRET_ACCESS_KEY ({where}) n'est pas son "
              "secret. Remettez la valeur qu'avait .env, ou lancez `python -m lab_utils stack up`, qui donne à la "
              "clé du lab les AWS_ACCESS_KEY_ID et AWS_SECRET_ACCESS_KEY de la configuration",
    },
    "unknown_key": {
        "en": "MinIO at {address} does not know the lab's key AWS_ACCESS_KEY_ID={access_key} ({where}): check "
              "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in .env, then run `python -m lab_utils stack up`, "
              "which creates the lab's key from them",
        "fr": "MinIO ({address}) ne connaît pas la clé du lab AWS_ACCESS_KEY_ID={access_key} ({where}) : vérifiez "
              "AWS_ACCESS_KEY_ID et AWS_SECRET_ACCESS_KEY dans .env, puis lancez `python -m lab_utils stack up`, "
              "qui crée la clé du lab à partir de ces valeurs",
    },
    "no_bucket_access": {
        "en": "the lab's key {access_key} may not use bucket {bucket} (LAB_BUCKET, {where}): that bucket does not exist, "
              "or the key was set up for another one. Fix LAB_BUCKET if it is a typo, or run "
              "`python -m lab_utils stack up`, which creates the bucket and gives the lab's key access to it",
        "fr": "la clé du lab {access_key} n'a pas accès au compartiment (bucket) {bucket} (LAB_BUCKET, {where}) : il "
              "n'existe pas, ou la clé a été préparée pour un autre. Corrigez LAB_BUCKET s'il s'agit d'une faute "
              "de frappe, ou lancez `python -m lab_utils stack up`, qui crée le compartiment et y donne accès à "
              "la clé du lab",
    },
    "no_bucket": {
        "en": "bucket {bucket} (LAB_BUCKET, {where}) does not exist on MinIO at {address}: fix LAB_BUCKET if it is "
              "a typo, or run `python -m lab_utils stack up`, which creates it",
        "fr": "le compartiment (bucket) {bucket} (LAB_BUCKET, {where}) n'existe pas sur MinIO ({address}) : "
              "corrigez LAB_BUCKET s'il s'agit d'une faute de frappe, ou lancez `python -m lab_utils stack up`, "
              "qui le crée",
    },
    "bucket_ok": {
        "en": "bucket {bucket} answers to the lab's key {access_key}",
        "fr": "le compartiment {bucket} répond à la clé du lab {access_key}",
    },
    "not_a_log": {
        "en": "{path} is not a Spark file-sink log (its first line is {first}): the folder was written by something "
              "else; run `python -m lab_utils stack reset` to start from an empty bucket",
        "fr": "{path} n'est pas un journal du puits de fichiers de Spark (sa première ligne est {first}) : le "
              "dossier a été écrit par autre chose ; lancez `python -m lab_utils stack reset` pour repartir d'un "
              "compartiment vide",
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


def _s3_code(exc: BaseException) -> str:
    """The S3 error code behind an error: botocore keeps it on the ClientError s3fs chains, minio-py's
    S3Error as `.code`."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)  # botocore's ClientError
        code = response.get("Error", {}).get("Code") if isinstance(response, dict) else getattr(exc, "code", None)
        if code:
            return str(code)
        exc = exc.__cause__ or exc.__context__
    return ""


def refusal_message(cfg: _config.LabConfig, code: str) -> str | None:
    """MinIO's refusal `code` (SignatureDoesNotMatch, InvalidAccessKeyId, NoSuchBucket, AccessDenied) in the
    lab's words, naming the setting and `stack up`; None for another code."""
    address, key = cfg.AWS_ENDPOINT_URL, cfg.AWS_ACCESS_KEY_ID
    if code == "SignatureDoesNotMatch":
        return _("bad_secret", address=address, access_key=key, where=cfg.where("AWS_SECRET_ACCESS_KEY"))
    if code == "InvalidAccessKeyId":
        return _("unknown_key", address=address, access_key=key, where=cfg.where("AWS_ACCESS_KEY_ID"))
    if code == "NoSuchBucket":
        return _("no_bucket", address=address, bucket=cfg.LAB_BUCKET, where=cfg.where("LAB_BUCKET"))
    if code == "AccessDenied":
        return _("no_bucket_access", access_key=key, bucket=cfg.LAB_BUCKET, where=cfg.where("LAB_BUCKET"))
    return None


def refusal_code(text: str) -> str:
    """The S3 refusal named in an error text (s3fs's, or a Spark/S3A trace): "" when none."""
    for code, pattern in (("SignatureDoesNotMatch", r"SignatureDoesNotMatch|signature we calculated does not match"),
                          ("InvalidAccessKeyId", r"InvalidAccessKeyId|Access Key Id you provided does not exist"),
                          ("NoSuchBucket", r"NoSuchBucket|specified bucket does not exist"),
                          ("AccessDenied", r"AccessDenied|Access Denied")):
        if re.search(pattern, text):
            return code
    return ""


def explain_s3_error(exc: BaseException, cfg: _config.LabConfig) -> LabError | None:
    """MinIO's refusal `exc` (as s3fs raises it) in the lab's words, naming the setting and the fix;
    None when it is not one the lab knows (then the caller lets it through as it is)."""
    text = str(exc)
    message = refusal_message(cfg, _s3_code(exc)) or refusal_message(cfg, refusal_code(text))
    if message:
        return NotSetUp(message)
    if re.search(r"Could not connect to the endpoint|Connection refused|Connect timeout", text, re.I):
        return ServiceDown(minio_down_message(cfg))
    return None


@contextlib.contextmanager
def s3_errors(cfg: _config.LabConfig):
    """Turn MinIO's refusals inside the block into the lab's one-line errors (explain_s3_error)."""
    try:
        yield
    except Exception as e:  # s3fs raises OSError subclasses, botocore its own (EndpointConnectionError)
        explained = explain_s3_error(e, cfg)
        if explained is None:
            raise
        raise explained from e


def _explains_s3_errors(func):
    """Run `func(..., cfg=...)` inside s3_errors(): a student calling it meets the lab's line, not s3fs's."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.arguments["cfg"] = bound.arguments.get("cfg") or _config.load()
        with s3_errors(bound.arguments["cfg"]):
            return func(*bound.args, **bound.kwargs)
    return wrapper


def require_bucket(cfg: _config.LabConfig) -> str:
    """Check, with the lab's key, that LAB_BUCKET exists and the key may use it (one cheap listing).

    Raises NotSetUp naming AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or LAB_BUCKET and `stack up`,
    ServiceDown when MinIO does not answer. Returns what it found, for a report.
    """
    # minio-py rather than s3fs: one GET either way, but s3fs's first call loads botocore (about
    # 5 s on a busy 2-core machine against 1 s), and doctor and the preflight only need this one.
    # A GET, not a HEAD: a refused HEAD has no body, so no error code telling a wrong secret
    # (SignatureDoesNotMatch) from a bucket the key may not use (AccessDenied).
    from minio import Minio

    if not minio_ready(cfg):
        raise ServiceDown(minio_down_message(cfg))
    host, port = cfg.s3_host_port
    client = Minio(f"{host}:{port}", access_key=cfg.AWS_ACCESS_KEY_ID, secret_key=cfg.AWS_SECRET_ACCESS_KEY,
                   secure=cfg.AWS_ENDPOINT_URL.startswith("https"), region="us-east-1")
    with s3_errors(cfg):
        next(iter(client.list_objects(cfg.LAB_BUCKET)), None)  # the first page of the top level: one request
    return _("bucket_ok", bucket=cfg.LAB_BUCKET, access_key=cfg.AWS_ACCESS_KEY_ID)


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


@_explains_s3_errors
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
            raise ValueError(_("not_a_log", path=f"{log_dir}/{batches[batch]}", first=lines[:1]))
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


@_explains_s3_errors
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


@_explains_s3_errors
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
