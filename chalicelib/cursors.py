"""Page cursors: opaque, signed, bounded.

A cursor is the JSON of where the next page starts, base64url, then ``.`` and an HMAC-SHA256
tag (first 16 bytes, base64url) under the stage's cursor key. A cursor the service did not
issue, or issued under another key (another stage, a rotated key), answers 400 before any of
it is read; one it did issue is still read within chalicelib.strict_json's bounds.

The key (``Settings.cursor_key``): ``CURSOR_SIGNING_KEY`` from the stage's function
environment, which the packaged template sets to the app stack's own id (``AWS::StackId``:
unique per stack, stable across updates, never shown to an API caller); a stage without it
(the local stage, tests) derives one from its own names, which signs but is not secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

from chalicelib import strict_json
from chalicelib.config import get_settings
from chalicelib.errors import ValidationError

MAX_CURSOR_LENGTH = 4096
TAG_BYTES = 16
NOT_OURS = "is not a cursor this service issued"


def encode(state: Any, key: bytes | None = None) -> str:
    raw = json.dumps(state, separators=(",", ":"), default=_decimal).encode()
    body = _b64(raw)
    return f"{body}.{_b64(_tag(body, key))}"


def decode(cursor: str, key: bytes | None = None) -> Any:
    """The state a cursor carries, or a 400 naming the ``cursor`` parameter."""
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise ValidationError(NOT_OURS, field="cursor")
    body, tag = cursor.split(".")
    try:
        if not hmac.compare_digest(_unb64(tag), _tag(body, key)):
            raise ValidationError(NOT_OURS, field="cursor")
        return strict_json.loads(_unb64(body))
    except (ValueError, binascii.Error):  # JsonRefused and UnicodeDecodeError are ValueErrors
        raise ValidationError(NOT_OURS, field="cursor") from None


def _tag(body: str, key: bytes | None) -> bytes:
    secret = key if key is not None else get_settings().cursor_key
    return hmac.new(secret, body.encode(), hashlib.sha256).digest()[:TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
