"""``make run``: the whole service on a local AWS endpoint, in the foreground, until Ctrl-C.

1. the endpoint: ministack started on 127.0.0.1 (port 4566 when free), or the running
   LocalStack-compatible endpoint named by ``LOCALSTACK_ENDPOINT``;
2. ``python -m ops stack deploy --stage local``: table, topics, role, group;
3. the app: ``ops.app_stack.deploy_app`` (the same path as ``make deploy`` on AWS);
4. ``BASE=...`` and a curl to paste, then the functions' logs and the messages published to
   the web-actions, notifications and results topics, as they happen.

Ctrl-C (or ``make stop`` from another shell, which signals the pid in ``.run/run.pid``) stops
what the run started. ministack keeps its state in memory, so the next run starts clean.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import clients
from chalicelib.config import AUTH_NONE, ENV_TARGET_FUNCTION_ARN, resource_names, settings_for
from ops import app_stack, policy
from ops.emulator import (
    DEFAULT_PORT,
    Endpoint,
    alive,
    command_line,
    launch_ministack,
    remove_temporary_folder,
    stop_process_group,
)
from ops.logs import LogFollower, TopicTap
from ops.stack.state import ENV_STACK_STATE_DIR

ROOT = app_stack.ROOT
RUN_DIR = ROOT / ".run"
PID_FILE = RUN_DIR / "run.pid"
EMULATOR_PID_FILE = RUN_DIR / "ministack.pid"
EMULATOR_LOG = RUN_DIR / "ministack.log"
ENV_FILE = RUN_DIR / "env"
STACK_STATE = RUN_DIR / "stacks"  # the stack command's record, for the emulator only
LOCAL_STAGE = "local"
REGION = "us-east-1"

EXAMPLE = (
    '{"name":"tee-times","schedule_expression":"rate(1 minute)","target_type":"web_action",'
    '"payload":{"action":"check_tee_times"}}'
)


def curl_create() -> str:
    return f"curl -X POST $BASE/api/schedules -H 'Content-Type: application/json' -d '{EXAMPLE}'"


def capture_id(curl: str) -> str:
    """The curl with ``-s``, its answer's ``id`` kept in ``ID`` for the next commands."""
    quiet = curl.replace("curl -X", "curl -s -X", 1)
    return f"ID=$({quiet} | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"id\"])')"


def emulator_environment(url: str, region: str = REGION) -> dict[str, str]:
    """What boto3, chalicelib and the stack command need to talk to an emulator."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


# Variables that would point this process somewhere else than the emulator's local stage.
UNSET = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ACCOUNT_ID",
    *app_stack.stage_environment(LOCAL_STAGE),  # resource-name overrides: names follow the stage
    ENV_TARGET_FUNCTION_ARN,
)


def point_at(url: str) -> None:
    """Point this process (and the commands it starts) at the emulator at ``url``."""
    for key in UNSET:
        os.environ.pop(key, None)
    os.environ.update(emulator_environment(url))
    clients.reset()


def stack_command(action: str, stage: str, out: TextIO, state_dir: Path | None = None) -> None:
    """``python -m ops stack <action> --stage <stage>``, its output indented.

    ``state_dir`` keeps the stack's record of what it deployed (STACK_STATE_DIR) apart from
    the one for AWS in ``.rez-agent/``: an emulator's resources come and go with it."""
    command = [sys.executable, "-m", "ops", "stack", action, "--stage", stage]
    print(f"$ python -m ops stack {action} --stage {stage}", file=out, flush=True)
    env = dict(os.environ)
    if state_dir is not None:
        env[ENV_STACK_STATE_DIR] = str(state_dir)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        print(f"  {line.rstrip()}", file=out, flush=True)
    if process.wait() != 0:
        raise app_stack.DeployError(f"stack {action} --stage {stage} failed (exit {process.returncode})")


def bring_up(stage: str, out: TextIO = sys.stdout, state_dir: Path | None = None) -> app_stack.AppOutputs:
    """The stage's resources, then the app, on the endpoint this process points at."""
    stack_command("deploy", stage, out, state_dir)
    clients.reset()
    return app_stack.deploy_app(stage, settings_for(stage), out)


def tear_down(stage: str, out: TextIO = sys.stdout, state_dir: Path | None = None) -> None:
    """The reverse of ``bring_up``."""
    app_stack.destroy_app(stage, settings_for(stage), out)
    stack_command("destroy", stage, out, state_dir)


def topic_tap(stage: str, out: TextIO) -> TopicTap:
    settings = settings_for(stage)
    names = resource_names(stage)
    return TopicTap(
        clients.client("sns", settings),
        clients.client("sqs", settings),
        {
            "web-actions": clients.topic_arn(names.web_actions_topic, settings),
            "notifications": clients.topic_arn(names.notifications_topic, settings),
            "results": clients.topic_arn(names.results_topic, settings),
        },
        prefix=f"rez-agent-run-tap-{stage}",
        out=out,
    )


def log_follower(
    outputs: app_stack.AppOutputs, stage: str, out: TextIO, since_ms: int, verbose: bool = False
) -> LogFollower:
    """One readable line per event (failures marked, red on a terminal); with ``verbose``
    every line the functions wrote, raw JSON included."""
    settings = settings_for(stage)
    groups = {f"/aws/lambda/{name}": short for short, name in outputs.functions.items()}
    color = bool(getattr(out, "isatty", lambda: False)())
    return LogFollower(
        clients.client("logs", settings), groups, out=out, since_ms=since_ms,
        raw=verbose, readable=not verbose, color=color,
    )


def open_api_notice(stage: str) -> str:
    """What a run says about who can call its API."""
    auth = policy.stage_access(stage).auth
    if auth != AUTH_NONE:
        return f"The API of stage {stage} authenticates every call ({auth})."
    return (
        f"The local API is OPEN: stage {stage} has no authentication (auth none); anyone who can\n"
        "reach this port can call it, and X-Created-By names the caller (naming nobody acts as\n"
        "the local admin, who sees every schedule: docs/local.md). Deployed stages\n"
        "authenticate every call (docs/api.md: Who may call; docs/security.md)."
    )


def banner(outputs: app_stack.AppOutputs, where: str, seconds: float) -> str:
    return f"""
rez-agent schedules (stage {LOCAL_STAGE}) is up on {where}, in {seconds:.0f}s.
Functions: {", ".join(outputs.functions)}

{open_api_notice(LOCAL_STAGE)}

BASE={outputs.base_url}
Console: {outputs.base_url}/   (open it in a browser)

Create a schedule that fires every minute (paste both lines; ID keeps its id):
  {capture_id(curl_create())}
Then:
  curl $BASE/api/schedules/$ID                  # its status goes pending -> active
  curl $BASE/api/schedules/$ID/executions       # one execution a minute
In another shell, `source .run/env` sets BASE and points boto3 here (docs/operations.md: The local stage);
then `.venv/bin/python examples/worker.py` takes each web action's run and reports how it ended
(`--fail` reports failures; docs/runs.md).
Below: one line per event of the functions (failures marked !!; `make run VERBOSE=1` for
the raw JSON), and every message published to the web-actions, notifications and results topics.
Ctrl-C (or `make stop`) stops everything this started.
"""


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_runner(pid: int) -> bool:
    line = command_line(pid)
    return "-m ops" in line and " run" in line


def _is_our_ministack(pid: int) -> bool:
    return "ministack" in command_line(pid)


def _clear_stale(out: TextIO) -> bool:
    """False when a run is going; otherwise remove what a dead run left behind."""
    pid = _read_pid(PID_FILE)
    if pid and pid != os.getpid() and alive(pid) and _is_runner(pid):
        print(f"a run is already going (pid {pid}): `make stop` first", file=out, flush=True)
        return False
    emulator = _read_pid(EMULATOR_PID_FILE)
    if emulator and alive(emulator) and _is_our_ministack(emulator):
        print(f"stopping ministack left by an earlier run (pid {emulator})", file=out, flush=True)
        stop_process_group(emulator)
    remove_temporary_folder(EMULATOR_PID_FILE)
    for path in (PID_FILE, EMULATOR_PID_FILE, ENV_FILE):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return True


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> NoReturn:  # noqa: ARG001
    raise _Stop()


def run(port: int | None = None, out: TextIO = sys.stdout, poll_seconds: float = 1.0, verbose: bool = False) -> int:
    RUN_DIR.mkdir(exist_ok=True)
    if not _clear_stale(out):
        return 1
    PID_FILE.write_text(f"{os.getpid()}\n")
    # Ctrl-C even when started in the background (which ignores SIGINT), SIGTERM from
    # `make stop`, SIGHUP when the terminal goes: all end the run the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    started = time.monotonic()
    since_ms = int(time.time() * 1000)
    endpoint = None
    tap = None
    external = os.environ.get("LOCALSTACK_ENDPOINT")
    code = 0
    try:
        if external:
            url = external.rstrip("/")
            where = f"the endpoint at {url}"
        else:
            endpoint = _start_ministack(port, out)
            url = endpoint.url
            where = f"ministack at {url} (its log: .run/ministack.log)"
        point_at(url)
        outputs = bring_up(LOCAL_STAGE, out, STACK_STATE)
        tap = topic_tap(LOCAL_STAGE, out)
        tap.start()
        env_lines = {**emulator_environment(url), "BASE": outputs.base_url}
        ENV_FILE.write_text("".join(f"export {k}={v}\n" for k, v in env_lines.items()))
        print(banner(outputs, where, time.monotonic() - started), file=out, flush=True)
        code = _follow(log_follower(outputs, LOCAL_STAGE, out, since_ms, verbose), tap, out, poll_seconds)
    except (KeyboardInterrupt, _Stop):
        print("\nstopping ...", file=out, flush=True)
    except (app_stack.DeployError, RuntimeError, ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=out, flush=True)
        if endpoint is not None:
            print("ministack's log: .run/ministack.log", file=out, flush=True)
        code = 1
    finally:
        with contextlib.suppress(KeyboardInterrupt, _Stop):
            _wind_down(tap, endpoint, external, out)
    return code


def _start_ministack(port: int | None, out: TextIO) -> Endpoint:
    """ministack on the asked port, else the default one, else any free one (said so)."""
    print("starting ministack ...", file=out, flush=True)
    endpoint = launch_ministack(EMULATOR_LOG, EMULATOR_PID_FILE, port, prefer_default_port=True)
    chosen = urlsplit(endpoint.url).port
    if not port and chosen != DEFAULT_PORT:
        print(
            f"port {DEFAULT_PORT} on 127.0.0.1 is taken (another emulator or run?): "
            f"ministack is on port {chosen} instead (RUN_PORT=N picks one)",
            file=out, flush=True,
        )
    shutil.rmtree(STACK_STATE, ignore_errors=True)  # a new ministack holds nothing
    return endpoint


def _follow(follower: LogFollower, tap: TopicTap, out: TextIO, poll_seconds: float) -> int:
    """Stream the functions' logs and the topics' messages until the emulator exits (1)."""
    emulator_pid = _read_pid(EMULATOR_PID_FILE)
    while True:
        try:
            follower.poll()
            tap.poll()
        except (ClientError, BotoCoreError) as exc:  # keep following; say what went wrong
            if not (emulator_pid and not alive(emulator_pid)):
                print(f"(could not read logs or topics: {exc})", file=out, flush=True)
        if emulator_pid and not alive(emulator_pid):
            print("ministack exited; see .run/ministack.log", file=out, flush=True)
            return 1
        time.sleep(poll_seconds)


def _wind_down(tap: TopicTap | None, endpoint: Endpoint | None, external: str | None, out: TextIO) -> None:
    """Stop what the run started; on an endpoint it did not start, leave only the service
    behind and say how to remove it."""
    if tap is not None and endpoint is None:
        tap.stop()
    if endpoint is not None:
        endpoint.stop()
    for path in (PID_FILE, ENV_FILE):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if external:
        print(
            f"the local stage stays deployed on {external}; to remove it:\n"
            f"  AWS_ENDPOINT_URL={external} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
            f"{ENV_STACK_STATE_DIR}=.run/stacks make destroy STAGE={LOCAL_STAGE}",
            file=out,
            flush=True,
        )
    print("stopped", file=out, flush=True)


def stop(out: TextIO = sys.stdout, timeout: float = 30.0) -> int:
    """End a run left in the background: signal the runner (it cleans up), then make sure."""
    stopped = []
    pid = _read_pid(PID_FILE)
    if pid and alive(pid) and _is_runner(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        stopped.append(f"run (pid {pid})")
    emulator = _read_pid(EMULATOR_PID_FILE)
    if emulator and alive(emulator) and _is_our_ministack(emulator):
        stop_process_group(emulator)
        stopped.append(f"ministack (pid {emulator})")
    remove_temporary_folder(EMULATOR_PID_FILE)  # ministack unpacks every function it ran there
    for path in (PID_FILE, EMULATOR_PID_FILE, ENV_FILE):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running", file=out)
    return 0
