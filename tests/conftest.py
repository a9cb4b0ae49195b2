"""Unit-test fixtures: moto in process, the stage's resources, a Chalice test client.

The stage's environment (from .chalice/config.json, stage ``dev``) is set before ``app`` is
imported, because a decorator argument (the SNS topic) reads it.

The unit tests drive the API open, as the ``local`` stage runs (``AUTH_MODE=none``: the
caller is ``X-Created-By``); the authentication tests (tests/test_auth_*.py) switch the mode
and pass the identity in the request context as API Gateway's authorizer does.
"""

from __future__ import annotations

import json
import os

import pytest
from moto import mock_aws

from chalicelib import clients
from chalicelib.config import resource_names
from integration.faults import FaultInjector
from tests import moto_transactions
from tests.stage import KeptClients, MotoPatch, StageWorld, foreign_mock_active
from tests.support import (
    PACKAGE_BUCKET,
    PACKAGED_STAGES,
    REGION,
    STAGE,
    one_package_at_a_time,
    unit_test_environment,
)
from tests.support import unit_test_project as support_project

UNIT_TEST_ENV = unit_test_environment()

for _key, _value in {
    **UNIT_TEST_ENV,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}.items():
    os.environ[_key] = _value
for _key in (
    "AWS_ENDPOINT_URL", "LOCALSTACK_ENDPOINT", "AWS_PROFILE", "AWS_SESSION_TOKEN",
    "COGNITO_USER_POOL_ARNS", "ADMIN_PRINCIPALS", "ADMIN_COGNITO_GROUP", "CORS_ALLOWED_ORIGINS",
):
    os.environ.pop(_key, None)


# A TransactWriteItems backs up the items it touches, not its whole table (moto's copy made
# each schedule change cost more the more items a test had made).
moto_transactions.install()

# The stage on moto, created once per session and reset between the tests that use it
# (tests/stage.py says what a reset restores).
_STAGE_WORLD = StageWorld()
_MOTO = MotoPatch()


_CLIENTS = KeptClients()
_CLIENTS.install()


@pytest.fixture
def moto_stage():
    """moto for everything, with the stage's resources in place and empty: ``topics`` and
    ``queues`` by name, ``role_arn``, and ``tap`` to read what was published. The app's
    clients are kept from the last test on the stage unless it changed their hooks."""
    foreign = foreign_mock_active(_MOTO)
    _MOTO.start()
    if foreign:
        _CLIENTS.drop()
    else:
        _CLIENTS.start()
    yield _STAGE_WORLD.ready(foreign)
    if foreign:
        _CLIENTS.drop()
    else:
        _CLIENTS.finish()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test that does not name the stage runs without moto's patching (before its fixtures
    are set up); its own ``mock_aws`` starts from an empty backend, as moto resets it then."""
    if not _uses_the_shared_stage(item):
        _MOTO.stop()


def _uses_the_shared_stage(item) -> bool:
    """The test asks for this module's ``moto_stage`` (a module may define its own)."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.get("moto_stage") if info is not None else None
    return bool(definitions) and definitions[-1].func.__module__ == __name__


def pytest_sessionfinish(session):
    _MOTO.stop()


@pytest.fixture
def offline_client(unit_test_project):
    """The API for routes that touch no AWS resource (the expression preview): moto keeps any
    stray call in process, and the stage's resources are not created."""
    from chalice.test import Client

    import app as app_module

    with mock_aws():
        clients.reset()
        with Client(app_module.app, stage_name=STAGE, project_dir=unit_test_project) as client:
            yield client
        clients.reset()


# Fixtures that make a test slow wherever it lives: ``packaged`` runs ``chalice package`` per
# stage. (``moto_stage`` no longer does: the stage is created once and reset between tests.)
SLOW_FIXTURES = frozenset({"packaged"})


def pytest_collection_modifyitems(items):
    """Mark ``slow`` every test using a fixture of ``SLOW_FIXTURES``: `make unit` leaves them
    out (modules that serve the app over a port, start subprocesses or drive thousands of
    cases mark themselves)."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def names():
    return resource_names(STAGE)


@pytest.fixture(scope="session")
def unit_test_project():
    """The project as the Chalice test client sees it: the stage's environment for unit tests."""
    return support_project(UNIT_TEST_ENV)


@pytest.fixture
def chalice_client(moto_stage, unit_test_project):
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name=STAGE, project_dir=unit_test_project) as client:
        yield client


@pytest.fixture
def faults(moto_stage):
    """AWS faults on the stage's cached clients (``integration.faults``); cleared after."""
    injector = FaultInjector()
    yield injector
    injector.clear()
@pytest.fixture(scope="session", autouse=True)
def _one_package_at_a_time():
    """Tests in several processes (pytest-xdist) package the app one at a time."""
    with one_package_at_a_time():
        yield


@pytest.fixture(scope="session", params=PACKAGED_STAGES)
def packaged(request, tmp_path_factory):
    """``chalice package --stage S`` for each declared stage, once per session: (stage,
    Chalice's template, the template CloudFormation gets, the output directory)."""
    from pathlib import Path

    from ops import app_stack

    stage = request.param
    out = app_stack.package(stage, tmp_path_factory.mktemp(f"package-{stage}") / "out", region=REGION)
    chalice_template = json.loads((Path(out) / "sam.json").read_text())
    prepared = app_stack.prepare_template(chalice_template, stage, PACKAGE_BUCKET, f"{stage}/deployment-0123456789abcdef.zip")
    return stage, chalice_template, prepared, out


from tests.timeline_support import clock  # noqa: E402,F401 - the service clock fixture (timeline, history, alerts)
