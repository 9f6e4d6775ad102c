"""Request bodies read as the hostile input they may be.

API Gateway hands a body over as text, or as base64 (`isBase64Encoded`) when it is binary
or not UTF-8. Powertools' `decoded_body` decodes that leniently and lets a
UnicodeDecodeError escape, and `json.loads` lets a RecursionError escape on deep
nesting: both would be 500s for bad input. Every route reads its body through here, so
each such body is a ValidationFailed naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from mailexports.errors import ValidationFailed


def _invalid(message: str, issue: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": "body", "issue": issue}])


def body_bytes(event: BaseProxyEvent) -> bytes | None:
    """The body as sent, or None when there is none."""
    body = event.body
    if body is None:
        return None
    if not event.is_base64_encoded:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            "the request body is marked base64 (isBase64Encoded) but is not valid base64",
            "not valid base64",
        ) from None


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid(
            f"the request body is not valid UTF-8 (at byte {error.start})", "not valid UTF-8"
        ) from None


def body_text(event: BaseProxyEvent) -> str | None:
    """The body as text, or None when there is none."""
    raw = body_bytes(event)
    return None if raw is None else decode_utf8(raw)


def parse_json(text: str) -> Any:
    """JSON text as values, refusing what no part of the service could store or answer with."""
    try:
        value = json.loads(text)
        # A `\ud800` escape parses to a lone surrogate, which no UTF-8 store or answer can hold.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as error:
        raise _invalid(
            f"the request body is not valid JSON ({error.msg} at position {error.pos})", "not valid JSON"
        ) from None
    except RecursionError:
        raise _invalid("the request body is nested too deeply", "nested too deeply") from None
    except UnicodeEncodeError:
        raise _invalid(
            "the request body holds a lone UTF-16 surrogate escape (such as \\ud800), not text",
            "lone surrogate",
        ) from None
    return value
