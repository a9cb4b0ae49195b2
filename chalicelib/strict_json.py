"""JSON as every door of the service reads it: bounded before anything recurses.

A request body, an SNS message, a dead letter and a cursor are all read by ``loads``: it
refuses, before the parser recurses, a document nested deeper than ``MAX_DEPTH`` or holding a
number of more than ``MAX_NUMBER_DIGITS`` digits (DynamoDB keeps 38 significant digits, and
a number it cannot store must be refused, not fail a write), then parses without NaN or
Infinity and with no key twice in one object. Every refusal is a ``JsonRefused`` (a
``ValueError``) whose text says which rule was broken.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 38
MAX_EXPONENT_DIGITS = 3

# A JSON string (escapes included); what is left after removing them is structure and
# numbers only, so brackets and digits inside strings never count.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?(?:[eE][+-]?(\d+))?")


class JsonRefused(ValueError):
    """The text is not JSON this service reads; the message completes a sentence whose
    subject is the document (``f"request body {error}"``)."""


class DuplicateKey(JsonRefused):
    """A JSON object names the same key twice (which one wins is up to the parser)."""


def check_bounds(text: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and numbers longer than the limits,
    without recursing (a linear scan of the text outside its strings)."""
    structure = _STRING.sub('""', text)
    depth = 0
    for bracket in _BRACKET.findall(structure):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise JsonRefused(f"is nested more than {MAX_DEPTH} levels deep")
    for number in _NUMBER.finditer(structure):
        whole, fraction, exponent = number.groups()
        if len(whole) + len(fraction or "") > MAX_NUMBER_DIGITS:
            raise JsonRefused(f"holds a number of more than {MAX_NUMBER_DIGITS} digits")
        if exponent is not None and len(exponent) > MAX_EXPONENT_DIGITS:
            raise JsonRefused(f"holds a number whose exponent has more than {MAX_EXPONENT_DIGITS} digits")


def too_deep(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether an already parsed value nests deeper than ``max_depth`` (an iterative walk:
    safe on any depth, for events Lambda parsed before we saw them)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads(text: str | bytes) -> Any:
    """Parse ``text`` within the bounds above; ``JsonRefused`` says why it cannot be read
    (``UnicodeDecodeError`` for bytes that are not UTF-8)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    check_bounds(text)
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except JsonRefused:
        raise
    except RecursionError:  # not reachable within MAX_DEPTH; kept so nothing escapes as a crash
        raise JsonRefused(f"is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise JsonRefused(f"is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> None:
    raise JsonRefused(f"is not valid JSON: {name} is not a JSON value")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise DuplicateKey(f"is not valid: the key {key!r} appears more than once in one object")
        body[key] = value
    return body


def message_text(message: dict[str, Any]) -> str:
    """A message as the service sends it (SNS, SQS, Lambda): compact JSON, with what JSON
    cannot say (a datetime) as its text."""
    return json.dumps(message, separators=(",", ":"), default=str)


def fit(value: Any, max_bytes: int) -> tuple[Any, bool]:
    """``value`` as it serializes within ``max_bytes`` of UTF-8 JSON, and whether it was cut:
    a value too large becomes its own JSON text, cut (at a character) so that text, quoted
    and escaped, fits. Used for the originals that rejection events carry."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if _encoded_size(value) <= max_bytes:
        return value, False
    low, high = 0, min(len(text), max_bytes)
    while low < high:  # the longest prefix whose encoding fits
        middle = (low + high + 1) // 2
        if _encoded_size(text[:middle]) <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return text[:low], True


def _encoded_size(value: Any) -> int:
    """Bytes as the publisher serializes (``message_text``: ASCII with escapes)."""
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))
