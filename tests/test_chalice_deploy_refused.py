"""``chalice deploy`` stops with a message that points at ``make deploy`` before it builds or
calls anything (docs/decisions/0007-deploy-with-chalice-package.md); ``chalice package``, the
path ``make deploy`` takes, is tested by tests/test_package_lint.py."""

from __future__ import annotations

import subprocess

import pytest

from ops.app_stack import chalice_executable
from tests.local_stage import ROOT, clean_environment

pytestmark = pytest.mark.slow  # the chalice command in a subprocess


def test_chalice_deploy_points_at_make_deploy():
    # GIVEN credentials and an endpoint that nothing answers (nothing may reach AWS)
    env = {
        **clean_environment(),
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    # WHEN a Chalice user deploys the way Chalice's tutorial says
    result = subprocess.run(
        [chalice_executable(), "deploy", "--stage", "dev"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )
    # THEN it stops at once, saying what to run instead
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "make deploy STAGE=<stage>" in output
    assert "deployment package" not in output and "Traceback" not in output
