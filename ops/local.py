"""``make local``: the API alone, served by ``chalice local`` on 127.0.0.1, with somewhere to
write.

Plain ``chalice local`` answers 500: it has no AWS endpoint, no credentials and no table.
This gives it one of two:

- the emulator ``make run`` started (its endpoint from ``.run/env``): the API writes to the
  ``local`` stage's table and publishes commands the running service applies, so schedules
  become active and fire;
- otherwise moto's server, embedded in this process on a free loopback port, with the
  ``local`` stage's table, topics, role and schedule group created in it: the API answers
  and records are written, but no function runs behind it (commands are published and never
  applied, so schedules stay ``pending``, and run now answers 501 ``NotAvailableHere``
  saying so; ``make run`` has the whole loop).

The app is served in this process (Chalice's local server), stage ``local``, until Ctrl-C.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
RUN_ENV = ROOT / ".run" / "env"
LOCAL_STAGE = "local"
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8000
REGION = "us-east-1"


def read_env_file(path: Path) -> dict[str, str]:
    """``export KEY=VALUE`` lines (what ``make run`` writes to ``.run/env``)."""
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        line = line.removeprefix("export ")
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


def answers(url: str, timeout: float = 2.0) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(url, timeout=timeout)
        return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError):
        return False


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def choose_port(requested: int | None, out: TextIO) -> int:
    """The requested port (default 8000) when free; otherwise one the system picks, and why."""
    wanted = DEFAULT_PORT if requested is None else requested
    if wanted and port_is_free(wanted):
        return wanted
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        chosen = int(probe.getsockname()[1])
    if wanted:
        print(f"port {wanted} is taken on {LOOPBACK}; serving on {chosen} instead", file=out, flush=True)
    return chosen


def point_at(url: str) -> None:
    """This process (the app it serves included) talks to ``url`` as the ``local`` stage."""
    from chalicelib import clients
    from chalicelib.config import ENV_STAGE

    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ACCOUNT_ID", "TARGET_FUNCTION_ARN"):
        os.environ.pop(key, None)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            ENV_STAGE: LOCAL_STAGE,
        }
    )
    clients.reset()


def start_moto(out: TextIO) -> tuple[str, Callable[[], None]]:
    """moto's server in a thread, with the local stage's resources; returns (url, stop)."""
    from moto.server import ThreadedMotoServer

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    url = f"http://{LOOPBACK}:{port}"
    point_at(url)
    deploy_stage_resources(out)
    return url, server.stop


def deploy_stage_resources(out: TextIO) -> None:
    """The local stage's table, topics, execution role and schedule group, on this endpoint."""
    from chalicelib.config import get_settings
    from ops.stack.engine import Stack
    from ops.stack.state import StateStore

    stack = Stack(get_settings(), store=StateStore(tempfile.mkdtemp(prefix="rez-agent-local-")))
    result = stack.deploy(stack.plan_deploy())
    if not result.converged:
        raise RuntimeError(f"the local stage's resources did not converge: {result.to_dict()}")
    print("created the local stage's table, topics, execution role and schedule group", file=out, flush=True)


def _nothing() -> None:
    """Nothing to stop: the emulator belongs to ``make run``."""


def serve(port: int | None = None, out: TextIO = sys.stdout, use_run: bool = True) -> tuple[Any, str, Callable[[], None]]:
    """Build the server (not yet serving): (server, base url, cleanup)."""
    stop: Callable[[], None] = _nothing
    run_env = read_env_file(RUN_ENV) if use_run and RUN_ENV.exists() else {}
    endpoint = run_env.get("AWS_ENDPOINT_URL")
    if endpoint and answers(endpoint):
        point_at(endpoint)
        where = f"the emulator `make run` started ({endpoint}): commands are applied and schedules fire"
    else:
        endpoint, stop = start_moto(out)
        where = (
            f"an embedded moto server ({endpoint}): records are written, commands are published "
            "but no function applies them (schedules stay pending; `make run` has the whole loop)"
        )
    from chalice.cli.factory import CLIFactory

    chosen = choose_port(port, out)
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=LOCAL_STAGE)
    for key, value in config.environment_variables.items():
        os.environ.setdefault(key, value)
    base = f"http://{LOOPBACK}:{chosen}"
    os.environ["API_BASE_URL"] = base  # Location and the OpenAPI servers: this server, never a Host header
    server = factory.create_local_server(config.chalice_app, config, LOOPBACK, chosen)
    print(f"serving the API (stage {LOCAL_STAGE}) on {base}, against {where}", file=out, flush=True)
    print(f"BASE={base}", file=out, flush=True)
    print(f"Console: {base}/   (open it in a browser)", file=out, flush=True)
    print(
        "Who you are: X-Created-By: NAME (the console's \"acting as\", the client's --as) acts as that "
        "owner; naming nobody acts as the local stage's admin, who sees every schedule (docs/local.md)",
        file=out, flush=True,
    )
    return server, base, stop


def main(port: int | None = None, out: TextIO = sys.stdout) -> int:
    server, _, stop = serve(port, out)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped", file=out, flush=True)
    finally:
        server.server.server_close()
        stop()
    return 0
