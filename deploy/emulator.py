"""ministack for ``make run``: a child process on 127.0.0.1, found again by its pid file.

Unlike ``integration.emulators.start_ministack`` (the test harness's), this one takes a port
(4566, LocalStack's, when it is free), writes a pid file so ``make stop`` can end a run left
in the background, and gives ministack a small environment: ministack runs each Lambda
function as a host subprocess with ministack's own environment underneath the function's,
so whatever the developer's shell holds (AWS_PROFILE, STAGE, ...) would leak into them.
ministack gives every function ``AWS_ENDPOINT_URL=http://127.0.0.1:<port>`` itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from integration.emulators import LOOPBACK, MINISTACK_VENV, Endpoint, free_port, wait_until_up

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


def ministack_environment(port: int, region: str = "us-east-1") -> dict[str, str]:
    env = {key: os.environ[key] for key in PASS_THROUGH if key in os.environ}
    env.update(
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


def launch_ministack(log_path: Path, pid_file: Path | None = None, port: int | None = None) -> Endpoint:
    """Start ministack from ``.venv-ministack`` on 127.0.0.1; its log goes to ``log_path``."""
    binary = MINISTACK_VENV / "bin" / "ministack"
    if not binary.exists():
        raise RuntimeError(f"ministack is not installed in {MINISTACK_VENV}; run `make ministack-venv`")
    port = choose_port(port)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # one run, one log
    process = subprocess.Popen(
        [str(binary)],
        env=ministack_environment(port),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: Ctrl-C reaches the runner only
    )
    if pid_file is not None:
        pid_file.write_text(f"{process.pid}\n")
    url = f"http://{LOOPBACK}:{port}"

    def stop() -> None:
        try:
            stop_process_group(process.pid, wait=process.wait)
        finally:
            log.close()
            if pid_file is not None:
                with contextlib.suppress(FileNotFoundError):
                    pid_file.unlink()

    try:
        wait_until_up(url + "/_ministack/health", timeout=60)
    except Exception:
        stop()
        raise
    return Endpoint(url=url, kind="ministack", reset_path="/_ministack/reset", stop=stop)


def stop_process_group(pid: int, wait=None, timeout: float = 10.0) -> bool:
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
