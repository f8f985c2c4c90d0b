"""Security smoke test (issue 7): loopback-only listeners, no default MinIO credentials, a lab
key confined to its bucket, no secret in the repository.

JupyterLab's token (403 without it, 200 with it) and its loopback listener are checked by
tests/test_jupyter.py; not repeated here.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import uuid
from io import BytesIO
from pathlib import Path

import pytest

from lab_utils import config
from lab_utils.services import monitoring, processes
from lab_utils.config import ROOT


def _address(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: hex, in 32-bit little-endian words."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that process `pid` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                host, port = local.split(":")
                found.append((str(_address(host)), int(port, 16)))
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def test_address_decoding():
    assert str(_address("0100007F")) == "127.0.0.1"
    assert str(_address("00000000000000000000000001000000")) == "::1"
    assert is_loopback("::ffff:127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    assert not is_loopback("::")


@pytest.mark.integration
def test_every_service_listens_on_loopback_only(cfg, spark):
    pids = {name: processes.recorded(name).pid for name in ("kafka", "minio")}
    pids["spark driver"] = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    prometheus = processes.recorded("prometheus")  # with monitoring on (issue 17)
    if prometheus and prometheus.alive:
        pids["prometheus"] = prometheus.pid
    report = {}
    for name, pid in pids.items():
        sockets = listening_sockets(pid)
        report[name] = sockets
        assert sockets, f"{name} (pid {pid}) listens nowhere? {report}"
        exposed = [s for s in sockets if not is_loopback(s[0])]
        assert not exposed, f"{name} (pid {pid}) listens beyond loopback: {exposed}"
    # This Python process: the driver's metrics exporter when monitoring is on, else nothing.
    exposed = [s for s in listening_sockets(os.getpid()) if not is_loopback(s[0])]
    assert not exposed, f"the driver's Python process listens beyond loopback: {exposed}"
    assert (cfg.kafka_host_port[1]) in {p for _, p in report["kafka"]}
    assert cfg.s3_host_port[1] in {p for _, p in report["minio"]}
    if monitoring.exports_metrics("kafka", cfg):  # the JMX exporter agent, inside the broker's JVM
        assert cfg.host_port(cfg.KAFKA_METRICS_ADDRESS)[1] in {p for _, p in report["kafka"]}
    if "prometheus" in pids:
        assert cfg.prometheus_host_port[1] in {p for _, p in report["prometheus"]}
    print(f"\nlisteners: {report}")


def _minio(cfg, access_key: str, secret_key: str):
    from minio import Minio

    host, port = cfg.s3_host_port
    return Minio(f"{host}:{port}", access_key=access_key, secret_key=secret_key,
                 secure=cfg.AWS_ENDPOINT_URL.startswith("https"))


@pytest.mark.integration
def test_minio_refuses_its_factory_credentials(cfg):
    from minio.error import S3Error

    with pytest.raises(S3Error) as refused:
        _minio(cfg, "minioadmin", "minioadmin").list_buckets()
    assert refused.value.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"), refused.value


@pytest.mark.integration
def test_the_lab_key_reaches_its_bucket_and_nothing_else(cfg):
    from minio.error import S3Error

    root = _minio(cfg, cfg.MINIO_ROOT_USER, cfg.MINIO_ROOT_PASSWORD)
    lab = _minio(cfg, cfg.AWS_ACCESS_KEY_ID, cfg.AWS_SECRET_ACCESS_KEY)
    other = f"lab-security-{uuid.uuid4().hex[:10]}"
    probe = f"test-runs/security-{uuid.uuid4().hex[:10]}.txt"
    root.make_bucket(other)
    try:
        root.put_object(other, "secret.txt", BytesIO(b"root only"), 9)
        # The key works where it should (so the refusals below are the policy, not a typo) ...
        lab.put_object(cfg.LAB_BUCKET, probe, BytesIO(b"ok"), 2)
        assert lab.get_object(cfg.LAB_BUCKET, probe).read() == b"ok"
        lab.remove_object(cfg.LAB_BUCKET, probe)
        # ... and nowhere else.
        attempts = {
            "list another bucket": lambda: list(lab.list_objects(other)),
            "read from another bucket": lambda: lab.get_object(other, "secret.txt").read(),
            "write to another bucket": lambda: lab.put_object(other, "planted.txt", BytesIO(b"x"), 1),
            "delete in another bucket": lambda: lab.remove_object(other, "secret.txt"),
            "create a bucket": lambda: lab.make_bucket(f"lab-security-{uuid.uuid4().hex[:10]}"),
            "delete a bucket": lambda: lab.remove_bucket(other),
        }
        for what, attempt in attempts.items():
            with pytest.raises(S3Error) as refused:
                attempt()
            assert refused.value.code == "AccessDenied", f"{what}: {refused.value}"
        assert root.stat_object(other, "secret.txt").size == 9
        assert [o.object_name for o in root.list_objects(other)] == ["secret.txt"], "the lab key planted something"
    finally:
        for obj in root.list_objects(other, recursive=True):
            root.remove_object(other, obj.object_name)
        root.remove_bucket(other)
    assert not root.bucket_exists(other)


# Patterns of credentials that must never be committed (built so this file does not match them).
SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile("-" * 5 + r"BEGIN (?:[A-Z]+ )?PRIVATE KEY" + "-" * 5),
    "AWS secret in an assignment": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b"),
}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_secret_in_the_repository():
    values = {name: value for name, value in config.read_env_file().items()
              if name in config.SECRETS and name != "MINIO_ROOT_USER" and len(value) >= 8}
    assert values, "no .env secrets to look for: run `python -m lab_utils stack up` once"
    files = tracked_files()
    assert any(p.suffix == ".ipynb" or p.parent.name == "notebooks" for p in files), "notebooks/ is tracked"
    found = []
    for path in files:
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found += [(str(path.relative_to(ROOT)), name) for name, value in values.items() if value in text]
        found += [(str(path.relative_to(ROOT)), name) for name, rx in SECRET_PATTERNS.items() if rx.search(text)]
    assert not found, f"secrets in tracked files: {found}"
    # Nor in any commit of the history.
    revs = subprocess.run(["git", "rev-list", "--all"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.split()
    grep = ["git", "grep", "-l", "-F", *[x for v in values.values() for x in ("-e", v)], *revs]
    hits = subprocess.run(grep, cwd=ROOT, capture_output=True, text=True)
    assert hits.returncode == 1 and not hits.stdout, f"a secret of .env is in git history: {hits.stdout[:500]}"
    print(f"\nscanned {len(files)} tracked files and {len(revs)} commits for {len(values)} secrets "
          f"and {len(SECRET_PATTERNS)} patterns")


def test_env_file_is_private():
    assert config.ENV_FILE.stat().st_mode & 0o077 == 0, ".env must be readable by its owner only"


def test_the_patterns_catch_what_they_are_for():
    samples = {"AWS access key id": "key = " + "AKIA" + "IOSFODNN7EXAMPLE",
               "private key": "-" * 5 + "BEGIN RSA PRIVATE KEY" + "-" * 5,
               "AWS secret in an assignment": "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    for name, rx in SECRET_PATTERNS.items():
        assert rx.search(samples[name]), name
