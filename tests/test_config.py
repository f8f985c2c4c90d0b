"""lab_utils.config: environment, then .env, then defaults; secrets generated, never defaults."""

from __future__ import annotations

import subprocess

import pytest

from lab_utils import config
from lab_utils.errors import ConfigError

SECRETS = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "MINIO_ROOT_USER": "r",
           "MINIO_ROOT_PASSWORD": "p", "JUPYTER_TOKEN": "t"}


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


def test_monitoring_is_off_by_default_and_validated_naming_where_the_value_came_from(tmp_path):
    missing = tmp_path / "missing.env"
    assert not config.load(env=SECRETS, env_file=missing).monitoring
    for value, on in (("true", True), ("TRUE", True), ("1", True), ("yes", True), ("false", False), ("off", False)):
        assert config.load(env={**SECRETS, "LAB_MONITORING": value}, env_file=missing).monitoring is on
    env_file = tmp_path / ".env"
    env_file.write_text("LAB_MONITORING=maybe\n")
    with pytest.raises(ConfigError, match=rf"LAB_MONITORING='maybe' \(from {env_file}\) is neither true nor false"):
        config.load(env=SECRETS, env_file=env_file)
    with pytest.raises(ConfigError, match=r"\(from the environment\)"):
        config.load(env={**SECRETS, "LAB_MONITORING": "enabled"}, env_file=missing)


def test_a_kernel_or_a_flag_turns_monitoring_on_for_its_process_only(tmp_path):
    missing = tmp_path / "missing.env"
    before = config.use_monitoring(True)
    try:
        assert config.load(env=SECRETS, env_file=missing).monitoring
        assert config.source("LAB_MONITORING", env={}, env_file=missing).startswith("this process")
    finally:
        config.use_monitoring(before)
    assert config.source("LAB_MONITORING", env={}, env_file=missing) == "the default"


@pytest.mark.parametrize("name,value", [("KAFKA_METRICS_ADDRESS", "9404"), ("PRODUCER_METRICS_ADDRESS", "127.0.0.1:x"),
                                        ("STREAM_METRICS_ADDRESS", "127.0.0.1:70000"), ("SPARK_UI_PORT", "40a0"),
                                        ("PROMETHEUS_URL", "127.0.0.1:9090")])
def test_a_malformed_monitoring_address_names_the_setting_and_an_example(tmp_path, name, value):
    with pytest.raises(ConfigError, match=rf"{name}=.*\(from the environment\).*e\.g\. {name}="):
        config.load(env={**SECRETS, name: value}, env_file=tmp_path / "missing.env")
