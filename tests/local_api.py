"""The app served over HTTP on 127.0.0.1 against moto's server in this process, with the
stage's resources: what generated requests and the command-line client talk to in tests.

Chalice's own local server (``chalice local``'s API Gateway emulation) runs in a thread on a
free port; moto's server runs in another. Requests are answered one at a time, as the
Chalice app object holds the current request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from chalice.config import Config
from chalice.local import LocalDevServer
from moto.server import ThreadedMotoServer

from chalicelib import clients
from tests.support import STAGE, Tap, create_stage_resources
from tests.timeline_support import create_target_function

LOOPBACK = "127.0.0.1"
WRITES = {
    ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("dynamodb", "DeleteItem"),
    ("dynamodb", "TransactWriteItems"), ("dynamodb", "BatchWriteItem"),
    ("sns", "Publish"), ("sqs", "SendMessage"), ("lambda", "Invoke"),
    ("scheduler", "CreateSchedule"), ("scheduler", "UpdateSchedule"), ("scheduler", "DeleteSchedule"),
}


@dataclass
class WriteRecorder:
    """The AWS writes that succeeded, seen on the app's own clients (botocore after-call)."""

    writes: list[str] = field(default_factory=list)

    def attach(self) -> None:
        for client in (
            clients.resource("dynamodb").meta.client,
            clients.client("sns"),
            clients.client("scheduler"),
        ):
            client.meta.events.register("after-call", self._after_call, unique_id="write-recorder")

    def _after_call(self, event_name: str, http_response: Any = None, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        succeeded = http_response is not None and http_response.status_code < 300
        if succeeded and (service, operation) in WRITES:
            self.writes.append(f"{service}.{operation}")


@dataclass
class LocalApi:
    url: str
    moto_url: str
    resources: dict
    recorder: WriteRecorder


@contextmanager
def local_api(app: Any) -> Iterator[LocalApi]:
    """moto's server with the stage's resources, then the app on a free loopback port."""
    moto = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)  # the server shares this process's backend
    saved = {key: os.environ.get(key) for key in ("AWS_ENDPOINT_URL",)}
    os.environ["AWS_ENDPOINT_URL"] = moto_url
    clients.reset()
    server = LocalDevServer(app, Config(chalice_stage=STAGE), LOOPBACK, 0)
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    try:
        resources = create_stage_resources()
        resources["tap"] = Tap(resources["queues"])
        create_target_function()  # run now invokes it (moto accepts an asynchronous invoke)
        recorder = WriteRecorder()
        recorder.attach()
        thread.start()
        yield LocalApi(f"http://{LOOPBACK}:{server.server.server_address[1]}", moto_url, resources, recorder)
    finally:
        server.shutdown()
        server.server.server_close()
        requests.post(f"{moto_url}/moto-api/reset", timeout=10)
        moto.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.reset()
