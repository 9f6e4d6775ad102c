"""Download tokens: the links emails and webhooks carry, `/v1/downloads/{token}`.

A token names one file of one task and its expiry, signed with HMAC-SHA256 by a
key only the service knows (Secrets Manager). It needs no API key, so it must
be unguessable and unforgeable; it stays valid exactly as long as the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from functools import lru_cache

from mailexports import aws, opaque
from mailexports.config import get_settings
from mailexports.errors import NotFound


@lru_cache(maxsize=1)
def _signing_key() -> bytes:
    secret = aws.secrets_manager().get_secret_value(SecretId=get_settings().signing_secret_arn)
    return str(secret["SecretString"]).encode()


def issue(task_uuid: str, file_index: int, expires_at: datetime) -> str:
    payload = opaque.b64encode(
        json.dumps({"t": task_uuid, "f": file_index, "e": int(expires_at.timestamp())}).encode()
    )
    signature = opaque.b64encode(hmac.new(_signing_key(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify(token: str, at: datetime | None = None) -> tuple[str, int]:
    """Return (task_uuid, file_index); any forged, damaged or expired token is a plain 404."""
    payload, _, signature = token.partition(".")
    try:
        expected = hmac.new(_signing_key(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, opaque.b64decode(signature)):
            raise ValueError("bad signature")
        claims = json.loads(opaque.b64decode(payload))
        task_uuid, index, expires = str(claims["t"]), int(claims["f"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        raise NotFound("no such download") from None
    if (at or datetime.now(UTC)).timestamp() >= expires:
        raise NotFound("this download link has expired")
    return task_uuid, index


def reset_key_cache() -> None:
    _signing_key.cache_clear()
