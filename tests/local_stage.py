"""``make local`` as a user runs it, in a subprocess: the API on a free loopback port, with
moto's server embedded behind it (a project directory without ``.run/env``, so no ``make
run`` is used). Shared by the ``make local`` test and the documentation's command test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ``make local`` with .run/env pointed at a file that does not exist, on a free port.
SERVE_WITHOUT_A_RUN = (
    "import sys; from ops import local; local.RUN_ENV = local.Path(sys.argv[1]); sys.exit(local.main(port=0))"
)
MOTO_URL = re.compile(r"embedded moto server \((http://127\.0\.0\.1:\d+)\)")


@dataclass(frozen=True)
class LocalStage:
    base: str  # the API, what `make local` prints as BASE=
    moto_url: str  # the embedded moto server the API writes to
    output: str  # what the server printed up to BASE=


def clean_environment() -> dict[str, str]:
    """This process's environment without the AWS and stage settings the tests set."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SCHEDULE", "STAGE"))}


@contextmanager
def make_local(directory: Path, startup_seconds: float = 120) -> Iterator[LocalStage]:
    """Start ``make local`` (embedded moto), yield once it printed ``BASE=``, stop it after."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITHOUT_A_RUN, str(directory / "no-env")],
        cwd=ROOT, env=clean_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        base = None
        seen: list[str] = []
        deadline = time.monotonic() + startup_seconds
        assert process.stdout is not None
        while base is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("BASE="):
                base = line.strip().split("=", 1)[1]
        output = "".join(seen)
        moto = MOTO_URL.search(output)
        assert base and base.startswith("http://127.0.0.1:") and moto, output
        # Keep reading what the server prints: a pipe nobody reads fills up (64 KB of request
        # and log lines) and the server then blocks on its next write, answering nothing.
        threading.Thread(target=deque, args=(process.stdout, 200), daemon=True).start()
        yield LocalStage(base=base, moto_url=moto.group(1), output=output)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still starting: never leave a server behind
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
