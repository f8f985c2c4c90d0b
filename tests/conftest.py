"""Fixtures for the lab's tests. Integration tests use the real services, never mocks.

When Kafka or MinIO is down, the fixtures FAIL (not skip) with the command that starts them.
"""

from __future__ import annotations

import time
import uuid

import pytest

from lab_utils import config as lab_config
from lab_utils import stack, storage
from lab_utils.errors import LabError


def wait_until(what: str, ready, timeout_s: float, every_s: float = 0.2):
    """Poll `ready()` until it returns a true value (returned), or fail saying what was awaited.

    The shared wait (STYLE: no fixed sleeps, one `wait_until`): test_checkpoint.py and
    test_reliability.py still carry copies of this same function and can import it instead.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = ready()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(every_s)


@pytest.fixture(scope="session")
def cfg() -> lab_config.LabConfig:
    """Yields the lab configuration after checking that Kafka and MinIO answer. Cleans up nothing."""
    try:
        return stack.require_services()
    except LabError as e:
        pytest.fail(f"{e}  (the test suite needs the live stack: `make test` starts it)", pytrace=False)


@pytest.fixture(scope="session")
def spark(cfg):
    """Yields the lab's SparkSession (lab_utils.get_spark). Stops every active query, then the session."""
    from lab_utils import get_spark

    session = get_spark(app_name="lab-tests")
    yield session
    for query in session.streams.active:
        query.stop()
    session.stop()


@pytest.fixture
def topic(cfg):
    """Yields the name of a fresh 3-partition topic for this test. Deletes the topic afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    stack.ensure_topic(cfg, name)
    yield name
    stack.delete_topics(cfg, [name])


@pytest.fixture
def run_prefix(cfg):
    """Yields a fresh folder `test-runs/<id>` in LAB_BUCKET, so tests never touch a student's
    output/, rejected/ or checkpoint/. Deletes everything under it afterwards."""
    prefix = f"test-runs/{uuid.uuid4().hex[:10]}"
    yield prefix
    storage.clear(cfg, (prefix,))
