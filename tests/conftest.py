"""Fixtures for the lab's tests. Integration tests use the real services, never mocks.

When Kafka or MinIO is down, the fixtures FAIL (not skip) with the command that starts them.
"""

from __future__ import annotations

import uuid

import pytest

from lab_utils import config as lab_config
from lab_utils import stack, storage
from lab_utils.errors import LabError


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
