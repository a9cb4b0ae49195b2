"""Unit-test fixtures: moto in process, the stage's resources, a Chalice test client.

The stage's environment (from .chalice/config.json, stage ``dev``) is set before ``app`` is
imported, because a decorator argument (the SNS topic) reads it.
"""

from __future__ import annotations

import json
import os

import pytest
from moto import mock_aws

from chalicelib import clients
from chalicelib.config import resource_names
from tests.support import REGION, STAGE, Tap, create_stage_resources

with open(os.path.join(os.path.dirname(__file__), "..", ".chalice", "config.json")) as fh:
    _STAGE_ENV = json.load(fh)["stages"][STAGE]["environment_variables"]

for _key, _value in {
    **_STAGE_ENV,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}.items():
    os.environ[_key] = _value
for _key in ("AWS_ENDPOINT_URL", "LOCALSTACK_ENDPOINT", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_key, None)


@pytest.fixture
def aws():
    """moto for everything, with the stage's resources in place."""
    with mock_aws():
        clients.reset()
        resources = create_stage_resources()
        resources["tap"] = Tap(resources["queues"])
        yield resources
        clients.reset()


@pytest.fixture
def names():
    return resource_names(STAGE)


@pytest.fixture
def chalice_client(aws):
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name=STAGE) as client:
        yield client
from tests.timeline_support import clock  # noqa: E402,F401 - the service clock fixture (timeline, history, alerts)
