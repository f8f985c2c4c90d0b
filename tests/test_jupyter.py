"""`python -m lab_utils jupyter` (what `make lab` opens): JupyterLab on 127.0.0.1 that refuses requests
without the token from .env."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from lab_utils import config
from lab_utils.config import ROOT


def status(port: int, token: str | None) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status")
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_jupyterlab_listens_on_loopback_and_requires_the_token():
    with socket.socket() as s:  # a free port, so a student's running JupyterLab is left alone
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = config.load().JUPYTER_TOKEN
    # LAB_LANG=fr: it opens on the French lessons (README, "Two commands").
    proc = subprocess.Popen([sys.executable, "-m", "lab_utils", "jupyter"], cwd=ROOT,
                            env={**os.environ, "JUPYTER_PORT": str(port), "LAB_LANG": "fr"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.2)
        else:
            raise AssertionError("JupyterLab did not listen within 60 s")
        assert status(port, None) == 403
        assert status(port, "not-the-token") == 403
        assert status(port, token) == 200
        printed = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/lab/tree/notebooks/fr?token=" in printed, printed
        home = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(home, timeout=5) as r:
            assert r.url.split("?")[0].endswith("/lab/tree/notebooks/fr"), r.url
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert listening.strip() and all("127.0.0.1:" in line for line in listening.strip().splitlines()), listening
    finally:
        proc.terminate()
        proc.wait(timeout=30)
