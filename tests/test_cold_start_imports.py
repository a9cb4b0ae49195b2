"""A cold start's ``import app`` loads neither pydantic nor Powertools nor the service: they
load with the first event that needs them (bench/bench_import.py times the difference)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a fresh interpreter per import

ROOT = Path(__file__).resolve().parent.parent
# The models, repository and service import pydantic: it is absent only if they did not load.
PROBE = (
    "import json, sys; import app; "
    "print(json.dumps(sorted(m for m in list(sys.modules) "
    "if m.split('.')[0] in ('pydantic', 'pydantic_core', 'aws_lambda_powertools', 'aws_xray_sdk'))))"
)


def test_import_app_loads_no_model_library_and_no_powertools():
    # GIVEN a fresh interpreter with the dev stage's environment, as on Lambda
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**os.environ, **config["stages"]["dev"]["environment_variables"], "AWS_DEFAULT_REGION": "us-east-1"}
    # WHEN it imports the app
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    # THEN none of them was loaded
    assert json.loads(result.stdout) == []
