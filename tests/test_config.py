"""lab_utils.config: environment, then .env, then defaults; secrets generated, never defaults."""

from __future__ import annotations

import subprocess

import pytest

from lab_utils import config
from lab_utils.errors import ConfigError

SECRETS = {"AWS_ACCESS_KEY_ID": "lab-key", "AWS_SECRET_ACCESS_KEY": "secret-of-the-lab-key", "MINIO_ROOT_USER": "root",
           "MINIO_ROOT_PASSWORD": "password-of-root", "JUPYTER_TOKEN": "t"}


def test_defaults_are_the_contract(tmp_path):
    cfg = config.load(env=SECRETS, env_file=tmp_path / "missing.env")
    assert cfg.KAFKA_BOOTSTRAP_SERVERS == "127.0.0.1:9092"
    assert cfg.KAFKA_TOPIC == "transactions"
    assert cfg.AWS_ENDPOINT_URL == "http://127.0.0.1:9000"
    assert cfg.LAB_BUCKET == "transactions"
    assert cfg.LAB_TIMEZONE == "Europe/Paris"
    assert cfg.SPARK_MASTER == "local[*]"
    assert cfg.kafka_host_port == ("127.0.0.1", 9092)
    assert cfg.s3_host_port == ("127.0.0.1", 9000)


def test_environment_beats_env_file_beats_defaults(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nKAFKA_TOPIC=from_file\nLAB_BUCKET='quoted-bucket'\n"
                        + "".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    cfg = config.load(env={"KAFKA_TOPIC": "from_env"}, env_file=env_file)
    assert cfg.KAFKA_TOPIC == "from_env"
    assert cfg.LAB_BUCKET == "quoted-bucket"
    assert cfg.LAB_TIMEZONE == "Europe/Paris"
    assert cfg.s3a_path("output", "x") == "s3a://quoted-bucket/output/x"
    assert cfg.s3a_path("", "/output/") == "s3a://quoted-bucket/output" == cfg.s3a_path("output")
    assert cfg.s3_path("", "rejected") == "quoted-bucket/rejected"


def test_missing_secret_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="AWS_ACCESS_KEY_ID.*stack up"):
        config.load(env={}, env_file=tmp_path / "missing.env")


def test_malformed_env_file_line_is_reported(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("THIS LINE HAS NO EQUALS SIGN\n")
    with pytest.raises(ConfigError, match=r"\.env:1"):
        config.read_env_file(env_file)


def test_generated_env_file_has_fresh_private_secrets(tmp_path):
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    assert config.ensure_env_file(a) and config.ensure_env_file(b)
    assert not config.ensure_env_file(a), "an existing .env is never overwritten"
    va, vb = config.read_env_file(a), config.read_env_file(b)
    assert set(config.SECRETS) <= set(va)
    for key in ("MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY", "JUPYTER_TOKEN"):
        assert va[key] != vb[key] and len(va[key]) >= 24
    assert "minioadmin" not in a.read_text()
    assert a.stat().st_mode & 0o077 == 0, ".env must not be readable by other users"


def test_env_example_lists_every_setting_and_no_secret():
    example = config.read_env_file(config.ENV_EXAMPLE)
    names = {f.name for f in config.fields(config.LabConfig)}
    assert names <= set(example) | set(config.SECRETS), names - set(example)
    for key in config.SECRETS:
        assert not example.get(key), f".env.example must not hold a value for {key}"


def test_env_and_state_are_git_ignored():
    out = subprocess.run(["git", "check-ignore", ".env", ".lab/x", ".venv/x"], cwd=config.ROOT,
                         capture_output=True, text=True)
    assert out.stdout.split() == [".env", ".lab/x", ".venv/x"]


# --------------------------------------------------------------------------- checked when loaded (issue 21)

GOOD = {
    "LAB_TIMEZONE": ["Europe/Paris", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+1"],
    "LAB_BUCKET": ["transactions", "abc", "lab.data-2026", "a" * 63],
    "KAFKA_TOPIC": ["transactions", "t", "test-0a1b_c.d", "x" * 249],
    "KAFKA_BOOTSTRAP_SERVERS": ["127.0.0.1:9092", "kafka:19092", "a:1,b:2", "[::1]:9092", "localhost:65535"],
    "AWS_ENDPOINT_URL": ["http://127.0.0.1:9000", "https://minio.example.org", "http://minio:9000/"],
    "MINIO_CONSOLE_ADDRESS": ["127.0.0.1:9001", "0.0.0.0:9001"],
    "SPARK_MASTER": ["local", "local[*]", "local[4]", "local[2,3]", "spark://spark-master:7077",
                     "spark://h1:7077,h2:7077", "yarn", "k8s://https://10.0.0.1:6443", "k8s://api.cluster:443"],
    "JUPYTER_PORT": ["8888", "1", "65535"],
    "LAB_LANG": ["en", "fr"],
}
BAD = {
    "LAB_TIMEZONE": ["Europe/Pariss", "europe/paris", "Paris", "", "+01:00", "../etc/passwd", "localtime"],
    "LAB_BUCKET": ["My_Bucket", "ab", "a" * 64, "-start", "end-", "two..dots", "192.168.1.1", "with space",
                   "xn--bucket", "bucket-s3alias"],
    "KAFKA_TOPIC": ["bad topic!", "", ".", "..", "x" * 250, "é"],
    "KAFKA_BOOTSTRAP_SERVERS": ["http://127.0.0.1:9092", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":9092",
                                "127.0.0.1:port", "a:1,,b:2"],
    "AWS_ENDPOINT_URL": ["127.0.0.1:9000", "ftp://127.0.0.1:9000", "http://", "http://127.0.0.1:9000/bucket",
                         "http://127.0.0.1:99999", "http://127.0.0.1:9000?x=1"],
    "MINIO_CONSOLE_ADDRESS": ["127.0.0.1", "http://127.0.0.1:9001", "127.0.0.1:0"],
    "SPARK_MASTER": ["local[two]", "local[0]", "spark://", "spark://host", "mesos://h:5050", "LOCAL[*]", "k8s://"],
    "JUPYTER_PORT": ["-8888", "0", "65536", "88a8", "8888.0"],
    "LAB_LANG": ["de", "FR", "english"],
    "MINIO_ROOT_PASSWORD": ["short"],
    "AWS_SECRET_ACCESS_KEY": ["1234567"],
    "AWS_ACCESS_KEY_ID": ["k9"],
}


@pytest.mark.parametrize("name, value", [(n, v) for n, values in GOOD.items() for v in values])
def test_a_good_value_is_accepted(tmp_path, name, value):
    cfg = config.load(env={**SECRETS, name: value}, env_file=tmp_path / "missing.env")
    assert getattr(cfg, name) == value


@pytest.mark.parametrize("name, value", [(n, v) for n, values in BAD.items() for v in values if v])
def test_a_bad_value_stops_the_load_naming_setting_value_source_and_example(tmp_path, name, value):
    with pytest.raises(ConfigError) as err:
        config.load(env={**SECRETS, name: value}, env_file=tmp_path / "missing.env")
    line = str(err.value)
    assert "\n" not in line and "(set in the environment)" in line, line
    if name in config.SECRETS:
        assert line.startswith(f"{name} (") and value not in line, "a secret's value is never printed"
    else:
        assert line.startswith(f"{name}={value!r} ("), line
        assert config.EXAMPLES[name] in line or name == "LAB_TIMEZONE", line


def test_an_empty_setting_falls_back_to_env_file_then_default(tmp_path):
    """An empty value counts as unset (`export LAB_TIMEZONE=` does not blank the zone)."""
    cfg = config.load(env={**SECRETS, "LAB_TIMEZONE": "", "KAFKA_TOPIC": ""}, env_file=tmp_path / "missing.env")
    assert cfg.LAB_TIMEZONE == "Europe/Paris" and cfg.KAFKA_TOPIC == "transactions"


def test_a_time_zone_typo_suggests_the_zone_meant(tmp_path):
    with pytest.raises(ConfigError, match=r"e\.g\. LAB_TIMEZONE=Europe/Paris$"):
        config.load(env={**SECRETS, "LAB_TIMEZONE": "Europe/Pariss"}, env_file=tmp_path / "missing.env")
    with pytest.raises(ConfigError, match=r"e\.g\. LAB_TIMEZONE=America/New_York$"):
        config.load(env={**SECRETS, "LAB_TIMEZONE": "America/NewYork"}, env_file=tmp_path / "missing.env")


def test_each_setting_knows_where_it_was_read(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# a comment\n" + "".join(f"{k}={v}\n" for k, v in SECRETS.items()) + "LAB_BUCKET=from-file\n")
    cfg = config.load(env={"KAFKA_TOPIC": "from_env"}, env_file=env_file)
    assert cfg.source("KAFKA_TOPIC") == "environment" and cfg.where("KAFKA_TOPIC") == "set in the environment"
    assert cfg.source("LAB_BUCKET") == ".env" and cfg.where("LAB_BUCKET") == f"read from {env_file}, line 7"
    assert cfg.source("LAB_TIMEZONE") == "default" and cfg.where("LAB_TIMEZONE") == "the default"
    assert cfg.source("AWS_ACCESS_KEY_ID") == ".env"
    assert cfg.setting("LAB_BUCKET") == f"LAB_BUCKET='from-file' (read from {env_file}, line 7)"
    # A LabConfig made by hand or with dataclasses.replace does not know, and says so.
    import dataclasses

    assert dataclasses.replace(cfg, LAB_BUCKET="x").where("LAB_BUCKET") == "given in code"
    assert {f.name for f in config.fields(config.LabConfig)} >= {"LAB_BUCKET"} and "sources" not in {
        f.name for f in config.fields(config.LabConfig)}


def test_a_bad_line_in_env_file_is_named_with_its_file_and_line(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()) + "\nLAB_TIMEZONE=Europe/Pariss\n")
    with pytest.raises(ConfigError) as err:
        config.load(env={}, env_file=env_file)
    assert str(err.value) == (f"LAB_TIMEZONE='Europe/Pariss' (read from {env_file}, line 7) is not a time zone: "
                              "use an IANA name, e.g. LAB_TIMEZONE=Europe/Paris")


def test_settings_reports_every_problem_without_stopping(tmp_path):
    found = config.settings(env={**SECRETS, "LAB_TIMEZONE": "Mars/Olympus", "LAB_BUCKET": "B"},
                            env_file=tmp_path / "missing.env")
    assert {name for name, s in found.items() if s.problem} == {"LAB_TIMEZONE", "LAB_BUCKET"}
    assert found["AWS_SECRET_ACCESS_KEY"].shown == "***" and found["AWS_ACCESS_KEY_ID"].shown == "lab-key"
    missing = config.settings(env={}, env_file=tmp_path / "missing.env")["JUPYTER_TOKEN"]
    assert missing.value is None and "JUPYTER_TOKEN is not set" in missing.problem


def test_config_errors_speak_the_labs_language(tmp_path):
    before = config.use_language("fr")
    try:
        with pytest.raises(ConfigError) as err:
            config.load(env={**SECRETS, "LAB_TIMEZONE": "Europe/Pariss"}, env_file=tmp_path / "missing.env")
        assert str(err.value) == ("LAB_TIMEZONE='Europe/Pariss' (défini dans l'environnement) n'est pas un fuseau "
                                  "horaire\u00a0: utilisez un nom IANA, par exemple LAB_TIMEZONE=Europe/Paris")
        with pytest.raises(ConfigError, match="AWS_ACCESS_KEY_ID n'est pas défini"):
            config.load(env={}, env_file=tmp_path / "missing.env")
    finally:
        config.use_language(before)
    # LAB_LANG=fr in the environment, with the bad value: the line is French too.
    with pytest.raises(ConfigError, match="n'est pas un nom de compartiment"):
        config.load(env={**SECRETS, "LAB_LANG": "fr", "LAB_BUCKET": "B"}, env_file=tmp_path / "missing.env")


def test_monitoring_is_off_by_default_and_validated_naming_where_the_value_came_from(tmp_path):
    missing = tmp_path / "missing.env"
    assert not config.load(env=SECRETS, env_file=missing).monitoring
    for value, on in (("true", True), ("TRUE", True), ("1", True), ("yes", True), ("false", False), ("off", False)):
        assert config.load(env={**SECRETS, "LAB_MONITORING": value}, env_file=missing).monitoring is on
    env_file = tmp_path / ".env"
    env_file.write_text("LAB_MONITORING=maybe\n")
    with pytest.raises(ConfigError, match=rf"LAB_MONITORING='maybe' \(read from {env_file}, line 1\) is neither true nor false"):
        config.load(env=SECRETS, env_file=env_file)
    with pytest.raises(ConfigError, match=r"\(set in the environment\)"):
        config.load(env={**SECRETS, "LAB_MONITORING": "enabled"}, env_file=missing)


def test_a_kernel_or_a_flag_turns_monitoring_on_for_its_process_only(tmp_path):
    missing = tmp_path / "missing.env"
    before = config.use_monitoring(True)
    try:
        cfg = config.load(env=SECRETS, env_file=missing)
        assert cfg.monitoring and cfg.source("LAB_MONITORING") == config.PROCESS
        assert "--monitoring" in cfg.where("LAB_MONITORING")
    finally:
        config.use_monitoring(before)
    assert config.load(env=SECRETS, env_file=missing).source("LAB_MONITORING") == config.DEFAULT


@pytest.mark.parametrize("name,value", [("KAFKA_METRICS_ADDRESS", "9404"), ("PRODUCER_METRICS_ADDRESS", "127.0.0.1:x"),
                                        ("STREAM_METRICS_ADDRESS", "127.0.0.1:70000"), ("SPARK_UI_PORT", "40a0"),
                                        ("PROMETHEUS_URL", "127.0.0.1:9090"),
                                        ("STREAM_METRICS_ADDRESS", "127.0.0.1:9102,127.0.0.1:9103")])
def test_a_malformed_monitoring_address_names_the_setting_and_an_example(tmp_path, name, value):
    with pytest.raises(ConfigError, match=rf"{name}=.*\(set in the environment\).*e\.g\. {name}="):
        config.load(env={**SECRETS, name: value}, env_file=tmp_path / "missing.env")
