"""Local AWS endpoints for the integration suite and for ``make run``.

An ``Endpoint`` is a URL plus what is known about the emulator behind it (its ``kind``:
``moto``, ``ministack`` or ``external``) and how to reset it. ``start_moto()`` runs moto's
server in this process; ``start_ministack()`` runs ministack from its own virtual
environment (``.venv-ministack``, made by ``make ministack-venv``) as a child process.
Both bind to 127.0.0.1 only and are stopped by process id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
MINISTACK_VENV = ROOT / ".venv-ministack"
LOOPBACK = "127.0.0.1"


@dataclass
class Endpoint:
    url: str
    kind: str  # "moto" | "ministack" | "external"
    reset_path: str | None = None
    stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def reset(self) -> None:
        """Forget every resource the emulator holds (no-op for an external endpoint)."""
        if self.reset_path:
            request = urllib.request.Request(self.url + self.reset_path, data=b"", method="POST")
            with urllib.request.urlopen(request, timeout=10):
                pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered: it is up
        except OSError as exc:
            last_error = exc
            time.sleep(0.1)
    raise RuntimeError(f"endpoint {url} did not come up in {timeout}s: {last_error}")


def start_moto() -> Endpoint:
    """moto's server in a thread of this process, on a free loopback port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    url = f"http://{LOOPBACK}:{port}"
    wait_until_up(url + "/moto-api/")
    return Endpoint(url=url, kind="moto", reset_path="/moto-api/reset", stop=server.stop)


def ministack_available() -> bool:
    return (MINISTACK_VENV / "bin" / "ministack").exists()


def start_ministack(log_path: Path | None = None, extra_env: dict | None = None) -> Endpoint:
    """ministack as a child process (its own venv), on a free loopback port."""
    if not ministack_available():
        raise RuntimeError(
            f"ministack is not installed in {MINISTACK_VENV}; run `make ministack-venv`"
        )
    port = free_port()
    env = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL", "LOCALSTACK_ENDPOINT"):
        env.pop(key, None)
    env.update(
        GATEWAY_PORT=str(port),
        BIND_HOST=LOOPBACK,
        IOT_MTLS_ENABLED="0",
        SFTP_ENABLED="0",
        **(extra_env or {}),
    )
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(MINISTACK_VENV / "bin" / "ministack")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{LOOPBACK}:{port}"

    def stop() -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if log_path:
            log.close()

    try:
        wait_until_up(url + "/_ministack/health")
    except Exception:
        stop()
        raise
    return Endpoint(url=url, kind="ministack", reset_path="/_ministack/reset", stop=stop)


def external_endpoint() -> Endpoint | None:
    """The running endpoint named by LOCALSTACK_ENDPOINT or AWS_ENDPOINT_URL, if any."""
    url = os.environ.get("LOCALSTACK_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    return Endpoint(url=url.rstrip("/"), kind="external") if url else None


@contextlib.contextmanager
def running(kind: str) -> Iterator[Endpoint]:
    """Start the named emulator, yield its endpoint, stop it."""
    endpoint = start_moto() if kind == "moto" else start_ministack()
    try:
        yield endpoint
    finally:
        endpoint.stop()
