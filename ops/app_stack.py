"""The app's CloudFormation stack: ``chalice package`` output, deployed the same way everywhere.

    chalice package --stage S  ->  build/package/S/{sam.json, deployment.zip}
    prepare_template()         ->  CodeUri = the zip in the artifacts bucket; function names
                                   <app>-<stage>-<function>; the stage's environment
    upload zip + template      ->  s3://rez-agent-artifacts-<account>-<region>/<stage>/...
    create or update the stack ->  rez-agent-schedules-<stage> (SAM transform), wait, outputs

Against AWS (``make deploy STAGE=dev``) and against an emulator (``make run``, the
end-to-end test) this is the same code; only the endpoint differs. ``chalice deploy`` is not
used because it cannot complete on the emulators (API Gateway ImportRestApi), and a
CloudFormation stack also gives a rollback on failure and a delete that removes everything
the app created, with no ``.chalice/deployed`` state to keep.

The stage's own resources (table, topics, execution role, schedule group) are not in this
stack: ``python -m ops stack deploy`` owns them and runs first.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from chalicelib import clients, names
from chalicelib.config import (
    APP_NAME,
    AUTH_COGNITO,
    AUTH_IAM,
    AUTH_NONE,
    ENV_ACCOUNT_ID,
    ENV_CURSOR_SIGNING_KEY,
    ENV_TARGET_FUNCTION_ARN,
    Settings,
    resource_names,
    settings_for,
)
from ops import monitoring, policy

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build" / "package"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Chalice's logical id for the REST API's function (``names.API_HANDLER`` in the app).
API_HANDLER_LOGICAL_ID = "APIHandler"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
FINAL_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
# A stack in one of these cannot be updated: delete it, then create it again.
DEAD = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}
NO_UPDATES = "No updates are to be performed"
# Set to 1 to package or deploy a stage other than local whose declaration says auth none.
ENV_ALLOW_OPEN_API = "REZ_AGENT_ALLOW_OPEN_API"
REST_API_LOGICAL_ID = "RestAPI"
SERVERLESS_API = "AWS::Serverless::Api"
GATEWAY_RESPONSES = "x-amazon-apigateway-gateway-responses"


class DeployError(RuntimeError):
    """The app could not be packaged or deployed; the message says why."""


@dataclass(frozen=True)
class AppOutputs:
    """What a deployed app stack offers: where its API answers and which functions it has."""

    stack_name: str
    api_stage: str
    base_url: str
    functions: dict[str, str] = field(default_factory=dict)  # short name -> function name


def stack_name(stage: str) -> str:
    return f"{resource_names(stage).chalice_app}-{stage}"


def function_name(stage: str, chalice_name: str) -> str:
    """The deployed name of one of the app's functions: ``<app>-<stage>-<function>``."""
    return resource_names(stage).function(chalice_name)


def stage_environment(stage: str) -> dict[str, str]:
    """The environment every function of ``stage`` gets (its resource names, from
    ``chalicelib.config.resource_names``)."""
    return {**policy.stage_config(stage)["environment_variables"], **resource_names(stage).environment()}


# --- package ----------------------------------------------------------------------------


def chalice_executable() -> str:
    beside = Path(sys.executable).parent / "chalice"
    if beside.exists():
        return str(beside)
    found = shutil.which("chalice")
    if not found:
        raise DeployError("the chalice command is not installed: run `make venv`")
    return found


def open_api_allowed(flag: bool | None = None) -> bool:
    """``--allow-open-api``, else ``REZ_AGENT_ALLOW_OPEN_API=1`` in the environment."""
    if flag is not None:
        return flag
    return os.environ.get(ENV_ALLOW_OPEN_API, "").strip().lower() in ("1", "true", "yes")


def check_access(stage: str, allow_open_api: bool | None = None, out: TextIO | None = None) -> policy.StageAccess:
    """The stage's access declaration, refused when it cannot be deployed as written, or
    when it would publish an open API anywhere but the local stage without being told to."""
    access = policy.stage_access(stage)
    problems = access.problems()
    if problems:
        raise DeployError(f"stage {stage}'s access declaration (ops/policy.py STAGE_ACCESS): " + "; ".join(problems))
    if access.auth == AUTH_NONE and stage != policy.LOCAL_STAGE:
        if not open_api_allowed(allow_open_api):
            raise DeployError(
                f"stage {stage} declares auth none: its API would answer anyone who can reach it, "
                f"with no authentication. Only the {policy.LOCAL_STAGE} stage runs open. Declare "
                f"auth iam or cognito for it in ops/policy.py STAGE_ACCESS, or, to publish it open "
                f"anyway, pass --allow-open-api (or set {ENV_ALLOW_OPEN_API}=1)."
            )
        print(f"warning: stage {stage} is packaged with an OPEN API (auth none), as asked", file=out or sys.stderr, flush=True)
    return access


def package(
    stage: str, out_dir: Path | None = None, region: str | None = None, allow_open_api: bool | None = None
) -> Path:
    """``chalice package --stage S`` into ``out_dir`` (default ``build/package/<stage>``).

    Chalice downloads the Lambda platform's wheels of requirements.txt from PyPI the first
    time and caches the built dependencies in ``.chalice/deployments/`` (gitignored), so a
    repeat costs about a second. A stage other than local declared with ``auth none`` is
    refused unless ``allow_open_api`` (see ``check_access``).
    """
    check_access(stage, allow_open_api)
    for path in policy.write_if_changed(stage):
        print(f"wrote {path.relative_to(ROOT)} for stage {stage} (commit it)", file=sys.stderr)
    out_dir = Path(out_dir or BUILD_DIR / stage)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(stage_environment(stage))
    # chalice wants a region even to package; it makes no AWS call.
    env["AWS_DEFAULT_REGION"] = region or settings_for(stage).region
    result = subprocess.run(
        [chalice_executable(), "--project-dir", str(ROOT), "package", "--stage", stage, str(out_dir)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not (out_dir / "sam.json").exists():
        raise DeployError(
            f"chalice package --stage {stage} failed (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return out_dir


def chalice_name(logical_id: str) -> str:
    """The function's name in app.py, from Chalice's CloudFormation logical id."""
    if logical_id == API_HANDLER_LOGICAL_ID:
        return names.API_HANDLER
    from chalice.utils import to_cfn_resource_name

    name = re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).lower()
    if to_cfn_resource_name(name) != logical_id:
        raise DeployError(f"cannot tell the Chalice name of the function {logical_id}")
    return name


def prepare_template(template: dict[str, Any], stage: str, bucket: str, key: str) -> dict[str, Any]:
    """The template CloudFormation gets: Chalice's, with the code in S3, the functions named
    ``<app>-<stage>-<function>`` (the names the stage's IAM policies and the scheduler's
    execution role are written for), the stage's resource names (the ones in force now,
    which the policies were generated from, whatever an older Chalice config says) and the
    account id (so no function asks STS for it); plus the stage's alarm topic, alarms and
    dashboard, and X-Ray on the API when the stage traces (``ops.monitoring``)."""
    if template.get("Transform") != SAM_TRANSFORM:
        raise DeployError("chalice package did not produce a SAM template")
    prepared = copy.deepcopy(template)
    environment = stage_environment(stage)
    target_name = function_name(stage, names.SCHEDULE_TARGET)
    for logical_id, resource in prepared.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        properties = resource.setdefault("Properties", {})
        properties["CodeUri"] = {"Bucket": bucket, "Key": key}
        properties["FunctionName"] = function_name(stage, chalice_name(logical_id))
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        variables.update(environment)
        variables[ENV_ACCOUNT_ID] = {"Ref": "AWS::AccountId"}
        # page cursors are signed with a key from the stack's own id (chalicelib/cursors.py)
        variables.setdefault(ENV_CURSOR_SIGNING_KEY, {"Ref": "AWS::StackId"})
        variables.setdefault(
            ENV_TARGET_FUNCTION_ARN,
            {"Fn::Sub": f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{target_name}"},
        )
        if chalice_name(logical_id) == names.SCHEDULE_TARGET:
            properties["EventInvokeConfig"] = failure_destination(stage)
        if chalice_name(logical_id) == names.DEAD_LETTERS:
            report_batch_item_failures(properties)
    _lock_down_api(prepared, stage)
    monitoring.add_monitoring(prepared, stage, tracing=policy.tracing(stage))
    prepared["Description"] = (
        f"{APP_NAME} schedules, stage {stage}: functions, REST API, SNS subscription, alarms, dashboard"
    )
    return prepared


def report_batch_item_failures(properties: dict[str, Any]) -> None:
    """The dead-letter consumer answers Lambda's partial batch response: its SQS event
    source reports batch item failures, so a record that failed transiently comes back
    alone and the rest of its batch is done."""
    for event in (properties.get("Events") or {}).values():
        if event.get("Type") == "SQS":
            event.setdefault("Properties", {})["FunctionResponseTypes"] = ["ReportBatchItemFailures"]


# Lambda retries a failed asynchronous invoke this many times before giving up on it.
TARGET_RETRY_ATTEMPTS = 2


def failure_destination(stage: str) -> dict[str, Any]:
    """The target function's asynchronous invoke configuration: two retries, then the record
    of the failure to the stage's dead-letter queue (the ``dead_letters`` function records
    the run as ``failed``)."""
    queue = resource_names(stage).dead_letter_queue
    return {
        "MaximumRetryAttempts": TARGET_RETRY_ATTEMPTS,
        "DestinationConfig": {
            "OnFailure": {
                "Type": "SQS",
                "Destination": {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{queue}"},
            }
        },
    }


def _lock_down_api(template: dict[str, Any], stage: str) -> None:
    """The REST API as the stage's access declaration says: every method behind the
    authorizer (a template where one is not is refused), API Gateway's stage throttle, and
    its own answers (no route, no credentials, throttled) in the API's ``{"Code", "Message"}``
    format."""
    api = template.get("Resources", {}).get(REST_API_LOGICAL_ID)
    if not api or api.get("Type") != SERVERLESS_API:
        return  # no REST API in this app
    access = policy.stage_access(stage)
    properties = api.setdefault("Properties", {})
    definition = properties.get("DefinitionBody") or {}
    unguarded = unguarded_methods(definition)
    if access.auth != AUTH_NONE and unguarded:
        raise DeployError(
            f"stage {stage} declares auth {access.auth}, but these methods have no authorizer: "
            + ", ".join(unguarded)
        )
    properties["MethodSettings"] = [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": access.throttle_rate,
            "ThrottlingBurstLimit": access.throttle_burst,
        }
    ]
    definition[GATEWAY_RESPONSES] = gateway_responses(access)


def unguarded_methods(definition: dict[str, Any]) -> list[str]:
    """``METHOD /path`` of every method without an authorizer, CORS preflights and the
    console's public files aside (API Gateway answers preflights itself, browsers send them
    without credentials, and the console page holds no data)."""
    found = []
    for path, methods in sorted(definition.get("paths", {}).items()):
        if path in names.PUBLIC_PATHS:
            continue
        for method, operation in sorted(methods.items()):
            if method == "options" and operation.get("x-amazon-apigateway-integration", {}).get("type") == "mock":
                continue
            if not operation.get("security"):
                found.append(f"{method.upper()} {path}")
    return found


def gateway_responses(access: policy.StageAccess) -> dict[str, Any]:
    """API Gateway's own answers, in the API's error format (and CORS-readable)."""
    headers = {"gatewayresponse.header.Content-Type": "'application/json'"}
    if access.cors_origins:
        headers["gatewayresponse.header.Access-Control-Allow-Origin"] = f"'{access.cors_origins[0]}'"
    credentials = {
        AUTH_IAM: "sign it with AWS Signature Version 4",
        AUTH_COGNITO: "send a Cognito user pool token in the Authorization header",
    }.get(access.auth, "check the method and path")

    def answer(status: str | None, code: str, message: str) -> dict[str, Any]:
        response: dict[str, Any] = {
            "responseParameters": dict(headers),
            "responseTemplates": {"application/json": json.dumps({"Code": code, "Message": "MESSAGE"}).replace('"MESSAGE"', message)},
        }
        if status:
            response["statusCode"] = status
        return response

    def text(value: str) -> str:
        return json.dumps(value)

    return {
        "MISSING_AUTHENTICATION_TOKEN": answer(
            "403", "Forbidden",
            text(f"no route serves this method and path, or the request carries no credentials: {credentials}"),
        ),
        "UNAUTHORIZED": answer("401", "Unauthenticated", text(f"the request is not authenticated: {credentials}")),
        "ACCESS_DENIED": answer("403", "AccessDenied", "$context.error.messageString"),
        "INVALID_SIGNATURE": answer("403", "InvalidSignature", "$context.error.messageString"),
        "EXPIRED_TOKEN": answer("403", "ExpiredToken", "$context.error.messageString"),
        "THROTTLED": answer(
            "429", "TooManyRequests",
            text(f"this API takes {access.throttle_rate:g} requests per second (bursts of "
                 f"{access.throttle_burst}); retry later"),
        ),
        "DEFAULT_4XX": answer(None, "$context.error.responseType", "$context.error.messageString"),
        "DEFAULT_5XX": answer(None, "$context.error.responseType", "$context.error.messageString"),
    }


def functions_of(template: dict[str, Any]) -> dict[str, str]:
    """short name -> deployed function name, for the functions of a prepared template."""
    found = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == SERVERLESS_FUNCTION:
            found[chalice_name(logical_id)] = resource["Properties"]["FunctionName"]
    return found


# --- artifacts --------------------------------------------------------------------------


def artifacts_bucket(settings: Settings) -> str:
    """One bucket per account and region for every stage's deployment packages."""
    return f"{APP_NAME}-artifacts-{clients.account_id(settings)}-{settings.region}"


def ensure_bucket(settings: Settings, bucket: str) -> None:
    s3 = clients.client("s3", settings)
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    request: dict[str, Any] = {"Bucket": bucket}
    if settings.region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": settings.region}
    s3.create_bucket(**request)
    # New buckets block public access and encrypt (SSE-S3) by default; tag it as ours.
    s3.put_bucket_tagging(
        Bucket=bucket, Tagging={"TagSet": [{"Key": "app", "Value": APP_NAME}]}
    )


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def upload(settings: Settings, bucket: str, key: str, path: Path | None = None, body: bytes | None = None) -> None:
    """Put one object, skipping the upload when an object with that (content-derived) key exists."""
    s3 = clients.client("s3", settings)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    if path is not None:
        s3.upload_file(str(path), bucket, key)
    else:
        s3.put_object(Bucket=bucket, Key=key, Body=body or b"")


def object_url(settings: Settings, bucket: str, key: str) -> str:
    """A path-style URL CloudFormation accepts for TemplateURL, on AWS and on emulators."""
    s3 = clients.client("s3", settings)
    return f"{s3.meta.endpoint_url.rstrip('/')}/{bucket}/{key}"


# --- the stack --------------------------------------------------------------------------


def _describe(cfn: Any, name: str) -> dict[str, Any] | None:
    try:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
        return stack
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _wait(cfn: Any, name: str, since: float, out: TextIO, poll: float) -> dict[str, Any] | None:
    """Wait until the stack settles, printing its events as they happen; None once deleted."""
    seen: set[str] = set()
    while True:
        stack = _describe(cfn, name)
        _print_events(cfn, stack["StackId"] if stack else name, since, seen, out)
        if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
            return None
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(poll)


def _print_events(cfn: Any, stack_id: str, since: float, seen: set[str], out: TextIO) -> None:
    try:
        events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    except ClientError:
        return
    for event in reversed(events):
        stamp = event.get("Timestamp")
        if event["EventId"] in seen or (stamp is not None and stamp.timestamp() < since - 1):
            continue
        seen.add(event["EventId"])
        reason = f"  {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
        print(
            f"  {event['LogicalResourceId']:<48} {event['ResourceStatus']}{reason}",
            file=out,
            flush=True,
        )


def _failure(cfn: Any, name: str, stack: dict[str, Any] | None) -> DeployError:
    reasons = []
    try:
        for event in cfn.describe_stack_events(StackName=stack["StackId"] if stack else name)["StackEvents"]:
            if event["ResourceStatus"].endswith("FAILED") and event.get("ResourceStatusReason"):
                reasons.append(f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}")
    except ClientError:
        pass
    status = stack["StackStatus"] if stack else "gone"
    detail = "\n  ".join(reasons[:10]) or (stack or {}).get("StackStatusReason") or ""
    return DeployError(f"stack {name} ended in {status}\n  {detail}")


def deploy_app(
    stage: str,
    settings: Settings | None = None,
    out: TextIO = sys.stdout,
    package_dir: Path | None = None,
    allow_open_api: bool | None = None,
) -> AppOutputs:
    """Package the app and create or update its stack; return where it answers."""
    settings = settings or settings_for(stage)
    name = stack_name(stage)
    poll = 0.5 if settings.endpoint_url else 5.0
    started = time.monotonic()
    print(f"packaging the app (chalice package --stage {stage}) ...", file=out, flush=True)
    built = package(stage, package_dir, region=settings.region, allow_open_api=allow_open_api)
    zip_path = built / "deployment.zip"
    bucket = artifacts_bucket(settings)
    code_key = f"{stage}/deployment-{_digest(zip_path)[:20]}.zip"
    template = prepare_template(json.loads((built / "sam.json").read_text()), stage, bucket, code_key)
    body = json.dumps(template, indent=1, sort_keys=True).encode()
    (built / "template.json").write_bytes(body)
    template_key = f"{stage}/template-{hashlib.sha256(body).hexdigest()[:20]}.json"
    print(f"uploading to s3://{bucket}/{stage}/ ...", file=out, flush=True)
    ensure_bucket(settings, bucket)
    upload(settings, bucket, code_key, path=zip_path)
    upload(settings, bucket, template_key, body=body)

    cfn = clients.client("cloudformation", settings)
    request = {
        "StackName": name,
        "TemplateURL": object_url(settings, bucket, template_key),
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": stage}],
    }
    stack = _describe(cfn, name)
    if stack and stack["StackStatus"].endswith("_IN_PROGRESS"):
        print(f"stack {name} is {stack['StackStatus']}; waiting for it ...", file=out, flush=True)
        stack = _wait(cfn, name, time.time(), out, poll)
    if stack and stack["StackStatus"] in DEAD:
        print(f"stack {name} is {stack['StackStatus']}: deleting it first", file=out, flush=True)
        since = time.time()
        cfn.delete_stack(StackName=name)
        _wait(cfn, name, since, out, poll)
        stack = None
    since = time.time()
    if stack is None:
        print(f"creating stack {name} ...", file=out, flush=True)
        cfn.create_stack(**request)
    else:
        print(f"updating stack {name} ...", file=out, flush=True)
        try:
            cfn.update_stack(**request)
        except ClientError as exc:
            if NO_UPDATES not in str(exc):
                raise
            print("  no changes", file=out, flush=True)
    stack = _wait(cfn, name, since, out, poll)
    if stack is None or stack["StackStatus"] not in FINAL_OK:
        raise _failure(cfn, name, stack)
    outputs = app_outputs(stage, settings, stack)
    print(f"app stack {name} ready in {time.monotonic() - started:.1f}s", file=out, flush=True)
    return outputs


def app_outputs(stage: str, settings: Settings | None = None, stack: dict[str, Any] | None = None) -> AppOutputs:
    """Where the deployed app answers: BASE for ``curl $BASE/api/schedules``."""
    settings = settings or settings_for(stage)
    cfn = clients.client("cloudformation", settings)
    name = stack_name(stage)
    stack = stack or _describe(cfn, name)
    if stack is None:
        raise DeployError(f"stack {name} does not exist: deploy the app first")
    values = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    api_id = values.get("RestAPIId")
    endpoint_url = values.get("EndpointURL", "")
    if not api_id or not endpoint_url:
        raise DeployError(f"stack {name} has no RestAPIId/EndpointURL outputs")
    api_stage = urlsplit(endpoint_url).path.strip("/") or "api"
    if settings.endpoint_url:
        # LocalStack and ministack both serve a REST API here.
        base = f"{settings.endpoint_url.rstrip('/')}/_aws/execute-api/{api_id}/{api_stage}"
    else:
        base = endpoint_url.rstrip("/")
    functions = {}
    for resource in cfn.describe_stack_resources(StackName=name)["StackResources"]:
        if resource["ResourceType"] == "AWS::Lambda::Function":
            physical = resource["PhysicalResourceId"]
            prefix = f"{resource_names(stage).chalice_app}-{stage}-"
            short = physical[len(prefix):] if physical.startswith(prefix) else physical
            functions[short] = physical
    return AppOutputs(name, api_stage, base, dict(sorted(functions.items())))


def destroy_app(stage: str, settings: Settings | None = None, out: TextIO = sys.stdout) -> None:
    """Delete the app stack (a no-op when absent), then the stage's uploaded artifacts."""
    settings = settings or settings_for(stage)
    cfn = clients.client("cloudformation", settings)
    name = stack_name(stage)
    poll = 0.5 if settings.endpoint_url else 5.0
    stack = _describe(cfn, name)
    if stack is None:
        print(f"stack {name}: absent", file=out, flush=True)
    else:
        print(f"deleting stack {name} ...", file=out, flush=True)
        since = time.time()
        cfn.delete_stack(StackName=name)
        stack = _wait(cfn, name, since, out, poll)
        if stack is not None:
            raise _failure(cfn, name, stack)
        print(f"stack {name}: deleted", file=out, flush=True)
    _delete_artifacts(settings, stage, out)


def _delete_artifacts(settings: Settings, stage: str, out: TextIO) -> None:
    s3 = clients.client("s3", settings)
    bucket = artifacts_bucket(settings)
    try:
        keys = _keys(s3, bucket, f"{stage}/")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            return
        raise
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
        )
    if keys:
        print(f"deleted {len(keys)} artifact(s) under s3://{bucket}/{stage}/", file=out, flush=True)


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return keys


def render_outputs(outputs: AppOutputs) -> Iterable[str]:
    """The stage's stack, functions and base URL as lines of text."""
    yield f"stack     {outputs.stack_name}"
    yield f"functions {', '.join(outputs.functions.values())}"
    yield f"BASE={outputs.base_url}"
