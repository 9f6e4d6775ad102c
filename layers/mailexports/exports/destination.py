"""Where a task's files live: the service's exports bucket, or the customer's own bucket.

A customer destination is written under the customer's role, assumed with STS and
`ExternalId` = the tenant id. The service always sets the ExternalId from the
authenticated tenant, so a customer's trust policy that requires its tenant id
lets no other tenant use that role (the confused-deputy guard).

Credentials are asked for afresh by each invocation that needs them (submit's
probe, every worker invocation, the lifecycle's cleanup), kept only in the S3
client, and never logged or written to the task.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mailexports import aws
from mailexports.config import Settings, get_settings
from mailexports.errors import DestinationRefused
from mailexports.exports.requests import S3Destination
from mailexports.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Probe objects are this small and removed at once; the name says what they are.
_PROBE_BODY = b"mailexports destination check; safe to delete\n"
# RoleSessionName: at most 64 of [\w+=,.@-]; CloudTrail in the customer's account shows it.
_SESSION_NAME_MAX = 64


@dataclass(frozen=True)
class FileStore:
    """A bucket, a key prefix, and the S3 client allowed to write there."""

    bucket: str
    folder: str  # "" or ends with "/"
    s3: S3Client
    external: bool  # the customer's bucket: no presigned URLs, shown as s3://bucket/key

    def key(self, task_uuid: str, name: str) -> str:
        return f"{self.folder}{task_uuid}/{name}"

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def session_name(task_uuid: str) -> str:
    return f"mailexports-{task_uuid}"[:_SESSION_NAME_MAX]


def exports_store(tenant_id: str, settings: Settings | None = None) -> FileStore:
    settings = settings or get_settings()
    return FileStore(settings.exports_bucket, f"{tenant_id}/", aws.s3(), external=False)


def store_for(
    tenant_id: str, task_uuid: str, destination: S3Destination | None, settings: Settings | None = None
) -> FileStore:
    """The task's file store; for a customer destination this assumes the customer's role."""
    if destination is None:
        return exports_store(tenant_id, settings)
    client = assume(destination, tenant_id, task_uuid, settings)
    return FileStore(destination.bucket, destination.folder(), client, external=True)


def assume(
    destination: S3Destination, tenant_id: str, task_uuid: str, settings: Settings | None = None
) -> S3Client:
    """An S3 client acting as the customer's role (ExternalId = the tenant id)."""
    settings = settings or get_settings()
    # The same rule as the IAM policy's Resource (role/<prefix>*, no path): refused here first,
    # with a clear reason, instead of as AccessDenied.
    if not destination.role_arn.split(":role/", 1)[-1].startswith(settings.destination_role_prefix):
        raise _refused(
            "destination.role_arn",
            f"the role's name must begin with {settings.destination_role_prefix!r} (and have no path): "
            "the service may assume no other roles",
        )
    try:
        answer = aws.client("sts").assume_role(
            RoleArn=destination.role_arn,
            RoleSessionName=session_name(task_uuid),
            ExternalId=tenant_id,
        )
    except (ClientError, BotoCoreError) as error:
        # The reason (AccessDenied, no such role) is the customer's to see; the answer has no secrets.
        raise _refused(
            "destination.role_arn",
            "the role cannot be assumed: it must exist and trust this service with "
            f"sts:ExternalId = your tenant id ({_reason(error)})",
        ) from None
    return aws.s3_with_credentials(answer["Credentials"])


def check_writable(destination: S3Destination, tenant_id: str, task_uuid: str) -> None:
    """Submit's check: assume the role, then write and delete a small probe object under the prefix.
    Nothing is left behind either way."""
    store = store_for(tenant_id, task_uuid, destination)
    key = f"{store.folder}.mailexports-probe-{uuid.uuid4()}"
    try:
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=_PROBE_BODY)
    except (ClientError, BotoCoreError) as error:
        raise _refused(
            "destination.bucket",
            f"the role cannot write to bucket {destination.bucket!r} under the prefix ({_reason(error)})",
        ) from None
    try:
        store.s3.delete_object(Bucket=store.bucket, Key=key)
    except (ClientError, BotoCoreError) as error:
        # Cleanup of a refused or cancelled export needs delete too; refuse now rather than later.
        raise _refused(
            "destination.bucket",
            f"the role can write but not delete in bucket {destination.bucket!r} "
            f"(s3:DeleteObject is needed to remove partial files; {_reason(error)}); "
            f"the probe object {key!r} may remain",
        ) from None
    logger.info("destination checked", extra={"bucket": destination.bucket})


def _refused(field: str, issue: str) -> DestinationRefused:
    return DestinationRefused(f"{field}: {issue}", [{"field": field, "issue": issue}])


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "error"))
    return type(error).__name__
