"""Standard Webhooks signatures: the spec's test vector, and what a receiver's library accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from mailexports.notify import signing
from mailexports.tenants.credentials import new_webhook_secret

# The test vector published with the Standard Webhooks specification.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_PAYLOAD = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_published_test_vector() -> None:
    assert signing.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_PAYLOAD) == VECTOR_SIGNATURE
    at = datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC)
    headers = signing.webhook_headers([VECTOR_SECRET], VECTOR_ID, at, VECTOR_PAYLOAD)
    assert headers == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    assert signing.verify(VECTOR_SECRET, VECTOR_PAYLOAD, headers, now=at + timedelta(seconds=10))


def test_the_standardwebhooks_library_verifies_our_headers() -> None:
    secret = new_webhook_secret()
    body = '{"type":"export.completed","data":{"task_uuid":"t-1"}}'
    headers = signing.webhook_headers([secret], "msg_1", datetime.now(UTC), body)
    assert Webhook(secret).verify(body, headers) == {"type": "export.completed", "data": {"task_uuid": "t-1"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("t-1", "t-2"), headers)


def test_during_rotation_both_secrets_verify() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    body = '{"a":1}'
    headers = signing.webhook_headers([new, old], "msg_2", datetime.now(UTC), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert all(part.startswith("v1,") for part in headers["webhook-signature"].split(" "))
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)


def test_verify_refuses_stale_timestamps_and_missing_headers() -> None:
    secret = new_webhook_secret()
    at = datetime(2025, 1, 1, tzinfo=UTC)
    headers = signing.webhook_headers([secret], "msg_3", at, "{}")
    assert signing.verify(secret, "{}", headers, now=at + timedelta(minutes=4))
    assert not signing.verify(secret, "{}", headers, now=at + timedelta(minutes=6))
    assert not signing.verify(secret, "{}", {**headers, "webhook-id": ""}, now=at)


def test_webhook_id_is_stable_per_notification() -> None:
    first = signing.webhook_id_for("task-1", "export.completed")
    assert first == signing.webhook_id_for("task-1", "export.completed")
    assert first.startswith("msg_")
    assert first != signing.webhook_id_for("task-1", "export.failed")
    assert first != signing.webhook_id_for("task-2", "export.completed")


@pytest.mark.parametrize("secret", ["whsec_", "whsec_not base64!", ""])
def test_a_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(signing.InvalidSecret):
        signing.sign(secret, "msg", 1, "{}")
