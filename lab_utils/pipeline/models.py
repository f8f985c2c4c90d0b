"""The fraud models in the bucket, one folder per version (docs/contract.md):

    s3a://LAB_BUCKET/<root>/models/fraud/<version>/
        pipeline/     the fitted Spark ML PipelineModel (encoders, scaler, logistic regression)
        cards/        the card profiles it was trained with, Parquet (lab_utils.pipeline.scoring)
        model.json    what it is: version, features, threshold, held-out metrics; written last

A version is the UTC time it was trained, `YYYYMMDD-HHMMSS` (plus `-2`, `-3` ... when two land in
the same second), so the newest sorts last. `model.json` is written after everything else: a
folder without it (training killed while saving) is not a model, and `newest()` skips it.

    save(spark, pipeline_model, profiles, meta)   # -> the new version
    versions(), newest(), require()                # what is there (require: ModelMissing if nothing)
    load(spark)                                    # the newest as a FraudModel; ModelMissing if none
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import config as _config
from .. import i18n
from ..clients import storage
from ..errors import ModelMissing
from . import scoring

MODELS_FOLDER = "models/fraud"
META_FILE = "model.json"
_VERSION = re.compile(r"^\d{8}-\d{6}(?:-\d+)?$")

_ = i18n.catalog(__name__, {
    "no_model": {
        "en": "no fraud model in {path} yet: train one with `python -m lab_utils train{prefix}` (it learns from "
              "labelled history: `python -m lab_utils produce --count 200000 --fraud-ratio 0.02 --history-weeks 4`, "
              "then `python -m lab_utils stream --available-now`; notebook 08 shows every step)",
        "fr": "pas encore de modèle de fraude dans {path} : entraînez-en un avec `python -m lab_utils train{prefix}` "
              "(il apprend sur un historique étiqueté : `python -m lab_utils produce --count 200000 --fraud-ratio "
              "0.02 --history-weeks 4`, puis `python -m lab_utils stream --available-now` ; le notebook 08 montre "
              "chaque étape)",
    },
    "no_such_version": {
        "en": "no fraud model {version} in {path}: the versions there are {versions}",
        "fr": "pas de modèle de fraude {version} dans {path} : les versions présentes sont {versions}",
    },
})


@dataclass
class FraudModel:
    """A loaded model: what lab_utils.pipeline.scoring.score() needs, and what it is.

    version: its folder's name; pipeline: the fitted PipelineModel; profiles: the card profiles
    (a DataFrame); cards: the same as a lookup column (scoring.card_lookup), what the stream uses;
    meta: model.json (threshold, features, held-out metrics, ...).
    """

    version: str
    pipeline: object
    profiles: object
    cards: object
    meta: dict = field(default_factory=dict)
    path: str = ""

    @property
    def threshold(self) -> float:
        """The score above which training suggests flagging a payment (its chosen threshold)."""
        return float(self.meta.get("threshold", 0.5))


def models_path(root: str = "", cfg: _config.LabConfig | None = None) -> str:
    """`s3a://LAB_BUCKET/<root>/models/fraud` for Spark."""
    cfg = cfg or _config.load()
    return cfg.s3a_path(root, MODELS_FOLDER)


def versions(root: str = "", cfg: _config.LabConfig | None = None) -> list[str]:
    """The complete model versions (those with a model.json), oldest first."""
    cfg = cfg or _config.load()
    fs = storage.filesystem(cfg)
    base = cfg.s3_path(root, MODELS_FOLDER)
    try:
        found = fs.find(base, maxdepth=2)
    except FileNotFoundError:
        return []
    done = {path[len(base) + 1:].split("/")[0] for path in found if path.endswith("/" + META_FILE)}
    return sorted(v for v in done if _VERSION.match(v))


def newest(root: str = "", cfg: _config.LabConfig | None = None) -> str | None:
    """The newest complete version, or None when there is none."""
    found = versions(root, cfg)
    return found[-1] if found else None


def new_version(taken: list[str], now: datetime | None = None) -> str:
    """A version name for a model trained `now` (UTC), different from every name in `taken`."""
    now = now or datetime.now(timezone.utc)
    base = now.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    version, n = base, 1
    while version in taken:
        n += 1
        version = f"{base}-{n}"
    return version


def save(spark, pipeline_model, profiles, meta: dict, root: str = "",
         cfg: _config.LabConfig | None = None) -> str:
    """Save a fitted model and its card profiles as a new version; returns the version.

    `meta` goes to model.json with `version` and `saved_at` added, after the rest is written.
    """
    cfg = cfg or _config.load()
    version = new_version(versions(root, cfg))
    path = f"{models_path(root, cfg)}/{version}"
    pipeline_model.write().overwrite().save(f"{path}/pipeline")
    profiles.coalesce(1).write.mode("overwrite").parquet(f"{path}/cards")
    meta = {**meta, "version": version, "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    fs = storage.filesystem(cfg)
    with fs.open(f"{cfg.s3_path(root, MODELS_FOLDER, version)}/{META_FILE}", "w") as f:
        json.dump(meta, f, indent=2, default=str)
    return version


def require(root: str = "", cfg: _config.LabConfig | None = None) -> str:
    """The newest complete version; ModelMissing (one line naming the command that trains one) when
    there is none. Asks the bucket only, so a command can say it before starting Spark."""
    cfg = cfg or _config.load()
    version = newest(root, cfg)
    if version is None:
        raise ModelMissing(_("no_model", path=models_path(root, cfg) + "/", prefix=f" --prefix {root}" if root else ""))
    return version


def load(spark, version: str | None = None, root: str = "", cfg: _config.LabConfig | None = None) -> FraudModel:
    """The model `version` (default: the newest) as a FraudModel, its card profiles read once.

    Raises ModelMissing (one line naming the command that trains one) when there is none.
    """
    from pyspark.ml import PipelineModel

    cfg = cfg or _config.load()
    version = version or require(root, cfg)
    found = versions(root, cfg)
    where = models_path(root, cfg) + "/"
    if version not in found:
        raise ModelMissing(_("no_such_version", version=version, path=where, versions=", ".join(found)))
    path = f"{models_path(root, cfg)}/{version}"
    fs = storage.filesystem(cfg)
    with fs.open(f"{cfg.s3_path(root, MODELS_FOLDER, version)}/{META_FILE}") as f:
        meta = json.load(f)
    profiles = spark.read.parquet(f"{path}/cards")
    # Read from S3 once, here, into the lookup the stream uses: not once per micro-batch.
    return FraudModel(version=version, pipeline=PipelineModel.load(f"{path}/pipeline"), profiles=profiles,
                      cards=scoring.card_lookup(profiles), meta=meta, path=path)
