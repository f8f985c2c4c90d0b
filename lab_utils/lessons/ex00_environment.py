"""Notebook 00's exercise check: reading how Spark's S3A connector reaches MinIO, from a Spark configuration.

The student writes `s3a_settings(conf)`; the check runs it on the live `spark.conf` and on
configurations the student has not seen, so copying a value printed somewhere does not pass.
"""

from __future__ import annotations

from .. import config as _config
from .. import i18n
from .verdict import Verdict, not_done, placeholder

ENDPOINT = "spark.hadoop.fs.s3a.endpoint"
ACCESS_KEY = "spark.hadoop.fs.s3a.access.key"
PATH_STYLE = "spark.hadoop.fs.s3a.path.style.access"
# Configurations the student never sees: other endpoints, other keys, path-style on and off
# (Spark keeps every setting as text, so "false" must become False, not bool("false") == True).
HIDDEN_CASES = (
    {ENDPOINT: "http://minio.classroom.example:9000", ACCESS_KEY: "student-17", PATH_STYLE: "true"},
    {ENDPOINT: "https://s3.eu-west-3.amazonaws.com", ACCESS_KEY: "AKIAEXAMPLE0PARIS", PATH_STYLE: "false"},
    {ENDPOINT: "http://10.0.0.12:9100", ACCESS_KEY: "lab-0a1b2c3d4e5f", PATH_STYLE: "true"},
)
FIELDS = ("endpoint", "access_key", "path_style")

_ = i18n.catalog(__name__, {
    "raised": {"en": "s3a_settings raised {error}: it should only read `conf.get(...)`",
               "fr": "s3a_settings a levé {error} : elle doit seulement lire `conf.get(...)`"},
    "not_dict": {"en": "s3a_settings should return a dict with the keys {fields}, got {got}",
                 "fr": "s3a_settings doit renvoyer un dictionnaire avec les clés {fields}, pas {got}"},
    "wrong_live": {
        "en": "on this lab's `spark.conf`, {field} should be {want!r}, got {got!r}: print "
              "`spark.conf.get(key)` for each key listed above that starts with `spark.hadoop.fs.s3a.`",
        "fr": "sur le `spark.conf` de ce lab, {field} devrait valoir {want!r}, pas {got!r} : affichez "
              "`spark.conf.get(clé)` pour chaque clé de la liste ci-dessus qui commence par `spark.hadoop.fs.s3a.`"},
    "wrong_hidden": {
        "en": "right on this lab, wrong on another configuration: with {setting} = {value!r}, {field} should be "
              "{want!r}, got {got!r} ({why})",
        "fr": "juste sur ce lab, faux sur une autre configuration : avec {setting} = {value!r}, {field} devrait "
              "valoir {want!r}, pas {got!r} ({why})"},
    "why_read": {"en": "read it from `conf`, do not copy this lab's value",
                 "fr": "lisez-la dans `conf`, ne recopiez pas la valeur de ce lab"},
    "why_bool": {"en": "Spark keeps settings as text, and bool(\"false\") is True: compare the text with \"true\"",
                 "fr": "Spark garde ses réglages sous forme de texte, et bool(\"false\") vaut True : comparez le texte "
                       "à \"true\""},
    "spark_stopped": {
        "en": "Spark is stopped (the notebook's last cell stops it): run the cell `spark = lab_utils.get_spark()` "
              "again, then this one",
        "fr": "Spark est arrêté (la dernière cellule du notebook l'arrête) : relancez la cellule "
              "`spark = lab_utils.get_spark()`, puis celle-ci"},
    "right": {
        "en": "right: S3A sends its requests to {endpoint}, signed with the lab's key {access_key}, with the bucket in "
              "the path (path style); and your function reads any Spark configuration",
        "fr": "juste : S3A envoie ses requêtes à {endpoint}, signées avec la clé du lab {access_key}, avec le compartiment "
              "dans le chemin (path style) ; et votre fonction lit n'importe quelle configuration Spark"},
})


class HiddenConf:
    """A Spark configuration the student has not seen: `get(key)` like `spark.conf`, which raises
    when a key is not set and no default is given."""

    _missing = object()

    def __init__(self, settings: dict[str, str]):
        self._settings = dict(settings)

    def get(self, key: str, default=_missing):
        if key in self._settings:
            return self._settings[key]
        if default is self._missing:
            raise KeyError(key)
        return default


def _expected(get) -> dict:
    return {"endpoint": get(ENDPOINT), "access_key": get(ACCESS_KEY),
            "path_style": str(get(PATH_STYLE)).strip().lower() == "true"}


def _call(s3a_settings, conf) -> dict | Verdict:
    try:
        got = s3a_settings(conf)
    except Exception as e:  # noqa: BLE001 - shown to the student
        return Verdict(False, _("raised", error=f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}"))
    if not isinstance(got, dict) or not set(FIELDS) <= set(got):
        return Verdict(False, _("not_dict", fields=", ".join(FIELDS), got=repr(got)[:80]))
    return got


def _same(field: str, got, want) -> bool:
    if field == "path_style":
        return got is want or (isinstance(got, bool) and got == want)
    return isinstance(got, str) and got.rstrip("/") == str(want).rstrip("/")


def s3a_settings(student_s3a_settings, spark) -> Verdict:
    """Notebook 00: `student_s3a_settings(conf)` returns {"endpoint", "access_key", "path_style"} read from a
    Spark configuration. Run on the live `spark.conf`, then on HIDDEN_CASES."""
    if not_done(student_s3a_settings):
        return placeholder()
    try:
        conf = spark.conf
        conf.get(ENDPOINT)
        # A stopped session may still answer conf.get() (when its JVM stays up, e.g. for the
        # monitoring's query listener): ask the SparkContext itself.
        stopped = spark.sparkContext._jsc.sc().isStopped()
    except Exception:  # noqa: BLE001 - py4j's error for a stopped session, a Java traceback otherwise
        stopped = True
    if stopped:
        return Verdict(False, _("spark_stopped"))
    live = _call(student_s3a_settings, conf)
    if isinstance(live, Verdict):
        return live
    if all(live[f] is Ellipsis for f in FIELDS):
        return placeholder()
    cfg = _config.load()
    want = {"endpoint": cfg.AWS_ENDPOINT_URL, "access_key": cfg.AWS_ACCESS_KEY_ID, "path_style": True}
    for field in FIELDS:
        if not _same(field, live[field], want[field]):
            return Verdict(False, _("wrong_live", field=field, want=want[field], got=live[field]))
    keys = dict(zip(FIELDS, (ENDPOINT, ACCESS_KEY, PATH_STYLE)))
    for case in HIDDEN_CASES:
        got = _call(student_s3a_settings, HiddenConf(case))
        if isinstance(got, Verdict):
            return got
        expected = _expected(case.get)
        for field in FIELDS:
            if not _same(field, got[field], expected[field]):
                why = _("why_bool") if field == "path_style" and got[field] == (not expected[field]) else _("why_read")
                return Verdict(False, _("wrong_hidden", setting=keys[field], value=case[keys[field]], field=field,
                                        want=expected[field], got=got[field], why=why))
    return Verdict(True, _("right", endpoint=want["endpoint"], access_key=want["access_key"]))
