"""Notebook 07's exercise check: time travel in the lake."""

from __future__ import annotations

from numbers import Integral

from .. import config as _config
from .. import i18n
from ..clients import lake
from .verdict import Verdict, not_done, placeholder, verdict

_ = i18n.catalog(__name__, {
    "not_a_number": {
        "en": "{answer} is a {kind}, not a number of rows: end your query with `.count()`",
        "fr": "{answer} est un objet {kind}, pas un nombre de lignes : terminez votre requête par `.count()`",
    },
    "right": {
        "en": "right: at version {version}, silver/transactions held {want:,} transactions ({now:,} now)",
        "fr": "exact : à la version {version}, silver/transactions contenait {want:,} transactions "
              "({now:,} aujourd'hui)",
    },
    "newest": {
        "en": "{answer:,} is what silver holds now, at version {newest}: read version {version} with "
              "`.option(\"versionAsOf\", {version})`",
        "fr": "{answer:,}, c'est ce que contient silver maintenant, à la version {newest} : lisez la version "
              "{version} avec `.option(\"versionAsOf\", {version})`",
    },
    "other_version": {
        "en": "{answer:,} is the count at version {other}, not {version}: check the number you pass to "
              "`versionAsOf`",
        "fr": "{answer:,} est le nombre de lignes à la version {other}, pas {version} : vérifiez le numéro que "
              "vous passez à `versionAsOf`",
    },
    "other_table": {
        "en": "{answer:,} counts {table} at version {version}; the question is about silver/transactions "
              "(the valid transactions)",
        "fr": "{answer:,} compte {table} à la version {version} ; la question porte sur silver/transactions "
              "(les transactions valides)",
    },
    "wrong": {
        "en": "{answer!r} is not it: read silver/transactions with `spark.read.format(\"delta\")"
              ".option(\"versionAsOf\", {version})`, then `.count()`",
        "fr": "{answer!r} n'est pas la bonne réponse : lisez silver/transactions avec "
              "`spark.read.format(\"delta\").option(\"versionAsOf\", {version})`, puis `.count()`",
    },
})


def _rows(name: str, version: int, cfg, root: str = "") -> int | None:
    """Rows of a table at a version, read through its log (None when it has no such version)."""
    try:
        return len(lake.read(name, version=version, columns=["kafka_offset"], root=root, cfg=cfg))
    except Exception:  # noqa: BLE001 - no such version (or table): not a count the student could have made
        return None


def silver_at_version(answer, version: int, cfg: _config.LabConfig | None = None, root: str = "") -> Verdict:
    """Notebook 07: how many transactions silver/transactions held at `version` (time travel).

    The truth comes from the table's log at that version, read without Spark (deltalake). The
    hints name the usual slips: the newest count, a neighbouring version, another table.
    """
    if not_done(answer):
        return placeholder()
    if isinstance(answer, bool) or not isinstance(answer, Integral):
        return Verdict(False, _("not_a_number", answer=repr(answer)[:80], kind=type(answer).__name__))
    cfg = cfg or _config.load()
    answer = int(answer)
    silver = lake.table(lake.SILVER, root=root, cfg=cfg)
    newest = silver.version()
    want = _rows(lake.SILVER, version, cfg, root)
    now = len(silver.to_pyarrow_table(columns=["kafka_offset"]))
    if answer == want:
        return verdict(True, _("right", version=version, want=want, now=now), "")
    if answer == now:
        return Verdict(False, _("newest", answer=answer, newest=newest, version=version))
    for other in (version - 1, version + 1, version - 2, version + 2):
        if 0 <= other <= newest and _rows(lake.SILVER, other, cfg, root) == answer:
            return Verdict(False, _("other_version", answer=answer, other=other, version=version))
    for name in (lake.BRONZE, lake.REJECTED):
        if _rows(name, version, cfg, root) == answer:
            return Verdict(False, _("other_table", answer=answer, table=name, version=version))
    return Verdict(False, _("wrong", answer=answer, version=version))
