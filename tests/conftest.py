"""Fixtures for the lab's tests. Integration tests use the real services, never mocks.

Two tiers: a test that uses the `cfg` fixture (directly or through another fixture) needs the
live stack and is marked `integration` automatically; every other test needs no service
(`make test-unit` runs those, with Kafka and MinIO down). When Kafka or MinIO is down, `cfg`
FAILS (not skips) with the command that starts them.
"""

from __future__ import annotations

import uuid

import pytest

from lab_utils import config as lab_config
from lab_utils.clients import kafka, require_services, storage
from lab_utils.errors import LabError

SERVICE_FIXTURE = "cfg"


def pytest_collection_modifyitems(config, items):
    """Mark every test that needs the live stack `integration`, so the unit tier can deselect it."""
    for item in items:
        if SERVICE_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def lab_cfg() -> lab_config.LabConfig:
    """Yields the lab configuration (environment, .env, defaults) without touching any service."""
    return lab_config.load()


@pytest.fixture(scope="session")
def cfg(lab_cfg) -> lab_config.LabConfig:
    """Yields the lab configuration after checking that Kafka and MinIO answer. Cleans up nothing."""
    try:
        return require_services(lab_cfg)
    except LabError as e:
        pytest.fail(f"{e}  (this test needs the live stack: `make test` starts it; `make test-unit` "
                    "runs only the tests that need no service)", pytrace=False)


@pytest.fixture
def french():
    """Makes this process speak French for one test (`config.use_language("fr")`, as a French
    notebook's kernel does). Yields nothing; puts back the language chosen before."""
    before = lab_config.use_language("fr")
    yield
    lab_config.use_language(before)


@pytest.fixture(scope="session")
def spark(lab_cfg):
    """Yields the lab's SparkSession (lab_utils.get_spark), with the connector jars when `stack up`
    has fetched them, so it needs no service itself. Stops every active query, then the session."""
    from lab_utils.pipeline import get_spark

    session = get_spark(app_name="lab-tests", cfg=lab_cfg, require_connectors=False)
    yield session
    for query in session.streams.active:
        query.stop()
    session.stop()


@pytest.fixture
def topic(cfg):
    """Yields the name of a fresh 3-partition topic for this test. Deletes the topic afterwards,
    and its chargebacks topic if the test produced fraud."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    kafka.ensure_topic(cfg, name)
    yield name
    kafka.delete_topics(cfg, [name, cfg.chargebacks_topic(name)])


@pytest.fixture
def run_prefix(cfg):
    """Yields a fresh folder `test-runs/<id>` in LAB_BUCKET, so tests never touch a student's
    output/, rejected/ or checkpoint/. Deletes everything under it afterwards."""
    prefix = f"test-runs/{uuid.uuid4().hex[:10]}"
    yield prefix
    storage.clear(cfg, (prefix,))
