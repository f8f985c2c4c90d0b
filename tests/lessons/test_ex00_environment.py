"""Notebook 00: the environment table, the preflight, the Docker row and the S3A exercise's check.

Each in both languages (the `lang` fixture runs a test once in English, once in French). The
table and the preflight with the services unreachable need no service; the all-green table and
the ✅ preflight need the live stack. The S3A check runs on the tests' own SparkSession.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import pytest

from lab_utils import checks, config
from lab_utils.i18n import french_typography
from lab_utils.errors import ServiceDown
from lab_utils.lessons.environment import COLUMNS
from lab_utils.lessons import ex00_environment

# A fragment every text of a language has, and the other language's text has not.
SAYS = {
    "placeholder": {"en": "not done yet", "fr": "pas encore fait"},
    "down": {"en": "nothing answers at", "fr": "rien ne répond"},
    "run": {"en": "run `", "fr": "lancez `"},
    "hidden": {"en": "wrong on another configuration", "fr": "faux sur une autre configuration"},
    "live": {"en": "on this lab's", "fr": "sur le `spark.conf` de ce lab"},
    "bool": {"en": "bool(\"false\") is True", "fr": "bool(\"false\") vaut True"},
    "raised": {"en": "raised", "fr": "a levé"},
    "not_dict": {"en": "should return a dict", "fr": "doit renvoyer un dictionnaire"},
    "right": {"en": "right: S3A sends its requests to", "fr": "juste : S3A envoie ses requêtes à"},
}
# French texts carry no-break spaces before « : ; ? ! » (lab_utils.i18n), so the fragments do too.
SAYS = {case: {**texts, "fr": french_typography(texts["fr"])} for case, texts in SAYS.items()}
ROWS = {"broker": {"en": "Kafka broker", "fr": "Broker Kafka"},
        "minio": {"en": "MinIO (S3)", "fr": "MinIO (S3)"},
        "bucket": {"en": "Bucket transactions", "fr": "Compartiment (bucket) transactions"},
        "docker": {"en": "Docker (optional)", "fr": "Docker (facultatif)"}}


def unreachable(cfg: config.LabConfig) -> config.LabConfig:
    return dataclasses.replace(cfg, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", AWS_ENDPOINT_URL="http://127.0.0.1:1")


# --------------------------------------------------------------------------- the table

def test_the_table_speaks_the_labs_language_and_names_the_fix_when_services_are_down(lab_cfg, lang):
    table = checks.environment(unreachable(lab_cfg))
    assert list(table.columns) == list(COLUMNS[lang])
    component, status, found, fix = table.columns
    rows = table.set_index(component)
    for row in (ROWS["broker"][lang], ROWS["minio"][lang]):
        assert rows.loc[row, status] == checks.FAIL
        assert SAYS["down"][lang] in rows.loc[row, found]
        assert "stack up" in rows.loc[row, fix] and SAYS["run"][lang] in rows.loc[row, fix]
    bucket = ROWS["bucket"][lang].replace("transactions", lab_cfg.LAB_BUCKET)
    assert rows.loc[bucket, status] == checks.FAIL and rows.loc[bucket, fix]


def test_lang_sets_the_kernels_language(lab_cfg):
    before = config.use_language(None)
    try:
        table = checks.environment(unreachable(lab_cfg), lang="fr")
        assert table.columns[0] == "Composant" and config.language() == "fr"
        table = checks.environment(unreachable(lab_cfg), lang="en")
        assert table.columns[0] == "Component" and config.language() == "en"
    finally:
        config.use_language(before)


def test_the_table_is_all_green_on_the_live_stack(cfg, lang):
    table = checks.environment(cfg)
    component, status, found, fix = table.columns
    required = table[table[status] != checks.OPTIONAL]
    assert (required[status] == checks.OK).all(), required.to_string()
    assert len(required) == 8, "Python, Java, PySpark, the connectors, the broker, the topic, MinIO, the bucket"
    assert (required[fix] == "").all()


def test_the_docker_row_is_never_a_failure_and_explains_itself(lang):
    """Docker is optional: ✅ with an engine and Compose, else ➖ with the reason and what to do instead."""
    row = checks.docker()
    assert row.status in (checks.OK, checks.OPTIONAL)
    assert row.component == ROWS["docker"][lang]
    if row.status == checks.OPTIONAL:
        assert row.found and row.fix, "a ➖ says what was found and what to do instead"
        assert ("not needed" if lang == "en" else "inutile ici") in row.fix or "Compose" in row.fix


# --------------------------------------------------------------------------- the preflight

def test_preflight_is_one_line_in_the_labs_language(cfg, lang):
    verdict = checks.preflight(cfg)
    assert verdict and "\n" not in str(verdict)
    assert str(verdict).startswith(f"{checks.OK} {'ready' if lang == 'en' else 'prêt'}")


def test_preflight_names_the_fix_in_one_line_when_a_service_is_down(lab_cfg, lang):
    with pytest.raises(ServiceDown) as raised:
        checks.preflight(unreachable(lab_cfg))
    message = str(raised.value)
    assert "\n" not in message and "stack up" in message
    assert ("Kafka is not reachable" if lang == "en" else "Kafka ne répond pas") in message


def test_preflight_lang_sets_the_kernels_language(lab_cfg):
    before = config.use_language(None)
    try:
        with pytest.raises(ServiceDown, match="ne répond pas"):
            checks.preflight(unreachable(lab_cfg), lang="fr")
        assert config.language() == "fr"
    finally:
        config.use_language(before)


# --------------------------------------------------------------------------- the exercise: s3a_settings

def right(conf):
    return {"endpoint": conf.get("spark.hadoop.fs.s3a.endpoint"),
            "access_key": conf.get("spark.hadoop.fs.s3a.access.key"),
            "path_style": conf.get("spark.hadoop.fs.s3a.path.style.access") == "true"}


def untouched(conf):
    """The exercise cell as the notebook gives it."""
    return {"endpoint": ..., "access_key": ..., "path_style": ...}


def copied_from_the_config(conf):
    """Right on this lab, and ignores `conf`: what copying a printed value amounts to."""
    cfg = config.load()
    return {"endpoint": cfg.AWS_ENDPOINT_URL, "access_key": cfg.AWS_ACCESS_KEY_ID, "path_style": True}


def bool_of_text(conf):
    """bool("false") is True."""
    return {"endpoint": conf.get("spark.hadoop.fs.s3a.endpoint"),
            "access_key": conf.get("spark.hadoop.fs.s3a.access.key"),
            "path_style": bool(conf.get("spark.hadoop.fs.s3a.path.style.access"))}


def hadoop_key_without_spark_prefix(conf):
    """The Hadoop name of the setting: spark.conf knows it only with the `spark.hadoop.` prefix."""
    return {"endpoint": conf.get("fs.s3a.endpoint"), "access_key": conf.get("fs.s3a.access.key"),
            "path_style": conf.get("fs.s3a.path.style.access") == "true"}


def path_style_as_text(conf):
    return {"endpoint": conf.get("spark.hadoop.fs.s3a.endpoint"),
            "access_key": conf.get("spark.hadoop.fs.s3a.access.key"),
            "path_style": conf.get("spark.hadoop.fs.s3a.path.style.access")}


def root_user_instead_of_the_labs_key(conf):
    return {**right(conf), "access_key": config.load().MINIO_ROOT_USER}


def a_tuple(conf):
    return (conf.get("spark.hadoop.fs.s3a.endpoint"), conf.get("spark.hadoop.fs.s3a.access.key"), True)


@pytest.mark.parametrize("answer, says", [
    (..., "placeholder"),
    (untouched, "placeholder"),
    (copied_from_the_config, "hidden"),
    (bool_of_text, "bool"),
    (hadoop_key_without_spark_prefix, "raised"),
    (path_style_as_text, "live"),
    (root_user_instead_of_the_labs_key, "live"),
    (a_tuple, "not_dict"),
], ids=lambda a: getattr(a, "__name__", str(a)))
def test_s3a_settings_rejects_the_placeholder_and_wrong_answers(spark, lang, answer, says):
    verdict = checks.s3a_settings(answer, spark)
    assert not verdict, f"{getattr(answer, '__name__', answer)} passed: {verdict}"
    assert str(verdict).startswith(checks.FAIL)
    assert SAYS[says][lang] in str(verdict), str(verdict)


def test_s3a_settings_accepts_the_right_answer(spark, lang):
    verdict = checks.s3a_settings(right, spark)
    assert verdict, str(verdict)
    assert SAYS["right"][lang] in str(verdict) and config.load().AWS_ENDPOINT_URL in str(verdict)


def test_s3a_settings_on_a_stopped_session_says_how_to_restart_spark(lab_cfg):
    """After the notebook's last cell (spark.stop()), running the check cell again gives one line, not a
    Java traceback. In a process of its own: the tests' session must keep running."""
    script = textwrap.dedent("""
        from lab_utils import checks, config
        from lab_utils.pipeline import get_spark
        config.use_language("fr")
        spark = get_spark(app_name="lab-tests-stopped", require_connectors=False)
        spark.stop()
        print(checks.s3a_settings(lambda conf: {}, spark))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1].startswith(f"{checks.FAIL} Spark est arrêté"), run.stdout


def test_the_hidden_configurations_differ_from_the_lab_and_cover_both_path_styles(lab_cfg):
    endpoints = {case[ex00_environment.ENDPOINT] for case in ex00_environment.HIDDEN_CASES}
    assert lab_cfg.AWS_ENDPOINT_URL not in endpoints
    assert {case[ex00_environment.PATH_STYLE] for case in ex00_environment.HIDDEN_CASES} == {"true", "false"}
    conf = ex00_environment.HiddenConf({"a": "1"})
    assert conf.get("a") == "1" and conf.get("b", None) is None
    with pytest.raises(KeyError):
        conf.get("b")  # like spark.conf.get on a key that is not set
