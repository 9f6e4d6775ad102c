"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with
the base64-decoded part of the tenant's `whsec_...` secret, sent as
`webhook-signature: v1,<base64>`; while a secret is being rotated one
signature per valid secret, separated by spaces.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
DEFAULT_TOLERANCE = timedelta(minutes=5)
_WEBHOOK_ID_NAMESPACE = uuid.UUID("5b0e7f8e-8a57-4c51-9a3e-2f2b8d1c6a40")


class InvalidSecret(ValueError):
    pass


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (the prefix is optional)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecret("a webhook secret is 'whsec_' followed by base64") from None
    if not key:
        raise InvalidSecret("the webhook secret is empty")
    return key


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """One `v1,<base64>` signature of `body` as sent."""
    content = f"{webhook_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secrets: Sequence[str], webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in `secrets`."""
    if not secrets:
        raise InvalidSecret("no secret to sign with")
    timestamp = int(at.timestamp())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, webhook_id, timestamp, body) for s in secrets),
    }


def verify(
    secret: str,
    body: str,
    headers: Mapping[str, str],
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """True when one of the header's v1 signatures is `secret`'s and the timestamp is fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    webhook_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    if not webhook_id or not stamp.isdigit():
        return False
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        return False
    expected = sign(secret, webhook_id, int(stamp), body)
    return any(
        hmac.compare_digest(expected.encode(), candidate.encode())
        for candidate in lowered.get("webhook-signature", "").split()
    )


def webhook_id_for(task_uuid: str, event: str) -> str:
    """The `webhook-id` of one notification: derived, so every retry (and any duplicate
    message) carries the same id and a receiver can drop repeats."""
    return "msg_" + uuid.uuid5(_WEBHOOK_ID_NAMESPACE, f"{task_uuid}\n{event}").hex
