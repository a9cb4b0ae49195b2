"""Local AWS endpoints: the one launcher for ``make run`` and the integration suite.

An ``Endpoint`` is a URL plus what is known about the emulator behind it (its ``kind``:
``moto``, ``ministack`` or ``external``) and how to reset and stop it.

- ``start_moto()``: moto's server in a thread of this process, on a free loopback port.
- ``launch_ministack()``: ministack from its own virtual environment (``.venv-ministack``,
  made by ``make ministack-venv``) as a child process on 127.0.0.1, in its own process group,
  with a small environment: ministack runs each Lambda function as a host subprocess with
  ministack's environment underneath the function's, so whatever the developer's shell holds
  (AWS_PROFILE, STAGE, ...) would leak into them. It gets a temporary folder of its own
  (ministack unpacks every function it runs there, about 69 MB each), removed when it stops.
  ``make run`` asks for port 4566 (LocalStack's) when it is free and a pid file.
- ``external_endpoint()``: the running endpoint named by ``LOCALSTACK_ENDPOINT`` or
  ``AWS_ENDPOINT_URL``.
Every server binds to 127.0.0.1 only and is stopped by process id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, timeout: float = 30.0, context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context):
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


def external_endpoint() -> Endpoint | None:
    """The running endpoint named by LOCALSTACK_ENDPOINT or AWS_ENDPOINT_URL, if any."""
    url = os.environ.get("LOCALSTACK_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    return Endpoint(url=url.rstrip("/"), kind="external") if url else None


@contextlib.contextmanager
def running(kind: str) -> Iterator[Endpoint]:
    """Start the named emulator, yield its endpoint, stop it."""
    endpoint = start_moto() if kind == "moto" else launch_ministack()
    try:
        yield endpoint
    finally:
        endpoint.stop()


DEFAULT_PORT = 4566
# What ministack and the functions it runs need from the developer's environment.
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # as a server binds it: connections of an earlier run in TIME_WAIT do not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def choose_port(requested: int | None = None) -> int:
    if requested:
        if not port_is_free(requested):
            raise RuntimeError(f"port {requested} on {LOOPBACK} is in use")
        return requested
    return DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()


def ministack_environment(port: int, temporary: Path, region: str = "us-east-1") -> dict[str, str]:
    env = {key: os.environ[key] for key in PASS_THROUGH if key in os.environ}
    env.update(
        TMPDIR=str(temporary),
        GATEWAY_PORT=str(port),
        BIND_HOST=LOOPBACK,
        IOT_MTLS_ENABLED="0",
        SFTP_ENABLED="0",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        PYTHONUNBUFFERED="1",
    )
    return env


def launch_ministack(
    log_path: Path | None = None,
    pid_file: Path | None = None,
    port: int | None = None,
    prefer_default_port: bool = False,
    enforce_iam: bool = False,
) -> Endpoint:
    """Start ministack from ``.venv-ministack`` on 127.0.0.1: on ``port``, or 4566 when
    ``prefer_default_port`` and it is free, else a free port; its output goes to
    ``log_path`` (or nowhere). With ``enforce_iam`` it judges every call by the IAM and
    resource policies in force (its ``AUTH=true``) and answers over HTTPS with a self-signed
    certificate (``USE_SSL=1``: a policy may require TLS); clients then skip verification."""
    binary = MINISTACK_VENV / "bin" / "ministack"
    if not binary.exists():
        raise RuntimeError(f"ministack is not installed in {MINISTACK_VENV}; run `make ministack-venv`")
    port = choose_port(port) if port or prefer_default_port else free_port()
    temporary = Path(tempfile.mkdtemp(prefix=f"rez-agent-ministack-{port}-"))
    log = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "wb")  # noqa: SIM115 - one run, one log; stop() closes it
    environment = ministack_environment(port, temporary)
    if enforce_iam:
        environment.update(AUTH="true", USE_SSL="1")
    process = subprocess.Popen(
        [str(binary)],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: Ctrl-C reaches the runner only
    )
    if pid_file is not None:
        pid_file.write_text(f"{process.pid}\n")
        temporary_folder_file(pid_file).write_text(f"{temporary}\n")
    url = f"{'https' if enforce_iam else 'http'}://{LOOPBACK}:{port}"

    def stop() -> None:
        try:
            stop_process_group(process.pid, wait=process.wait)
        finally:
            if log is not None:
                log.close()
            shutil.rmtree(temporary, ignore_errors=True)
            if pid_file is not None:
                with contextlib.suppress(FileNotFoundError):
                    pid_file.unlink()
                with contextlib.suppress(FileNotFoundError):
                    temporary_folder_file(pid_file).unlink()

    try:
        wait_until_up(url + "/_ministack/health", timeout=60, context=_unverified() if enforce_iam else None)
    except Exception:
        stop()
        raise
    return Endpoint(url=url, kind="ministack", reset_path="/_ministack/reset", stop=stop)


def _unverified() -> ssl.SSLContext:
    """TLS without checking the certificate: ministack's own, self-signed, on loopback."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def temporary_folder_file(pid_file: Path) -> Path:
    """Where a launch with a pid file records ministack's temporary folder, so a later
    ``make stop`` can remove it even when the run that started ministack is gone."""
    return pid_file.with_suffix(".tmpdir")


def remove_temporary_folder(pid_file: Path) -> None:
    record = temporary_folder_file(pid_file)
    with contextlib.suppress(OSError):
        folder = Path(record.read_text().strip())
        if folder.name.startswith("rez-agent-ministack-"):
            shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        record.unlink()


def stop_process_group(pid: int, wait: Callable[..., object] | None = None, timeout: float = 10.0) -> bool:
    """SIGTERM the process group led by ``pid`` (a process we started with its own session),
    then SIGKILL it if it lingers. True if something was running."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wait is not None:
            try:
                wait(timeout=0.2)
                return True
            except subprocess.TimeoutExpired:
                continue
        if not alive(pid):
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    if wait is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(timeout=5)
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as gone.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def command_line(pid: int) -> str:
    """The command line of ``pid`` ("" when it is gone)."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    result = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
    return result.stdout.strip()
