"""Notebook 00's exercise check: where Spark's S3A connector finds MinIO."""

from __future__ import annotations

from .. import config as _config
from .verdict import Verdict, not_done, placeholder, verdict


def s3_endpoint(answer) -> Verdict:
    """Notebook 00: the S3 endpoint Spark's S3A connector talks to."""
    if not_done(answer):
        return placeholder()
    want = _config.load().AWS_ENDPOINT_URL
    return verdict(str(answer).rstrip("/") == want.rstrip("/"),
                   f"right: Spark reaches MinIO at {want}, the same AWS_ENDPOINT_URL every tool of the lab uses",
                   f"{answer!r} is not it: look for the key spark.hadoop.fs.s3a.endpoint in spark.conf")
