"""The S3 server of the native stack: MinIO on 127.0.0.1, with the lab's bucket and key.

MinIO's root account is used here and nowhere else: `setup_minio` creates the bucket, a key
for the lab (AWS_ACCESS_KEY_ID) and a policy that confines that key to the bucket.
"""

from __future__ import annotations

import os

from .. import config as _config
from .. import i18n
from ..errors import SetupFailed
from .builds import MINIO_BIN
from .monitoring import minio_environment
from .processes import Proc, check_port_free, recorded, spawn

POLICY_NAME = "lab-bucket-readwrite"

_ = i18n.catalog(__name__, {
    "console": {"en": "MinIO's console", "fr": "la console de MinIO"},
    "setup_failed": {
        "en": "setting up MinIO failed: {error}",
        "fr": "la préparation de MinIO a échoué : {error}",
    },
    "root_refused": {
        "en": "setting up MinIO failed: {error} (MinIO's data was created with other root credentials than "
              "MINIO_ROOT_USER/MINIO_ROOT_PASSWORD in .env: restore the old .env, or `stack down` and delete .lab/minio)",
        "fr": "la préparation de MinIO a échoué : {error} (les données de MinIO ont été créées avec d'autres "
              "identifiants root que MINIO_ROOT_USER/MINIO_ROOT_PASSWORD de .env : remettez l'ancien .env, ou "
              "lancez `stack down` et supprimez .lab/minio)",
    },
})


def start_minio(cfg: _config.LabConfig) -> Proc:
    running = recorded("minio")
    if running and running.alive:
        return running
    host, port = cfg.s3_host_port
    chost, cport = cfg.console_host_port
    check_port_free(host, port, "MinIO", "AWS_ENDPOINT_URL")
    check_port_free(chost, cport, _("console"), "MINIO_CONSOLE_ADDRESS")
    _config.MINIO_DATA.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(_config.ROOT)),
        "MINIO_ROOT_USER": cfg.MINIO_ROOT_USER, "MINIO_ROOT_PASSWORD": cfg.MINIO_ROOT_PASSWORD,
        # A teaching lab phones nobody: no update checks, no call-home.
        "MINIO_UPDATE": "off", "MINIO_CALLHOME_ENABLE": "off",
        **minio_environment(cfg),
    }
    cmd = [str(MINIO_BIN), "server", str(_config.MINIO_DATA), "--address", f"{host}:{port}",
           "--console-address", f"{chost}:{cport}", "--quiet"]
    return spawn("minio", cmd, port, _config.LOGS_DIR / "minio.log", env=env)


def bucket_policy(bucket: str) -> dict:
    """The lab key may do anything inside LAB_BUCKET, and nothing elsewhere."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket",
                                           "s3:ListBucketMultipartUploads"],
             "Resource": [f"arn:aws:s3:::{bucket}"]},
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{bucket}/*"]},
        ],
    }


def setup_minio(cfg: _config.LabConfig) -> None:
    """Create the bucket, the lab's access key and its bucket-only policy (idempotent).

    MinIO's root account is used here and nowhere else; the lab itself uses AWS_ACCESS_KEY_ID.
    """
    from minio import Minio, MinioAdmin
    from minio.credentials import StaticProvider
    from minio.error import MinioAdminException, S3Error

    host, port = cfg.s3_host_port
    secure = cfg.AWS_ENDPOINT_URL.startswith("https")
    try:
        s3 = Minio(f"{host}:{port}", access_key=cfg.MINIO_ROOT_USER, secret_key=cfg.MINIO_ROOT_PASSWORD,
                   secure=secure)
        if not s3.bucket_exists(cfg.LAB_BUCKET):
            s3.make_bucket(cfg.LAB_BUCKET)
        admin = MinioAdmin(endpoint=f"{host}:{port}", secure=secure,
                           credentials=StaticProvider(cfg.MINIO_ROOT_USER, cfg.MINIO_ROOT_PASSWORD))
        admin.policy_add(POLICY_NAME, policy=bucket_policy(cfg.LAB_BUCKET))
        admin.user_add(cfg.AWS_ACCESS_KEY_ID, cfg.AWS_SECRET_ACCESS_KEY)
        try:
            admin.attach_policy([POLICY_NAME], user=cfg.AWS_ACCESS_KEY_ID)
        except MinioAdminException as e:
            if "already" not in str(e).lower():  # attaching twice is not an error for us
                raise
    except (S3Error, MinioAdminException) as e:
        refused = "InvalidAccessKeyId" in str(e) or "SignatureDoesNotMatch" in str(e) or "403" in str(e)
        raise SetupFailed(_("root_refused" if refused else "setup_failed", error=e)) from e
