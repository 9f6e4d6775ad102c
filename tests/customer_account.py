"""A customer's own AWS account on emulated AWS: their bucket and the role they let us assume.

moto keeps accounts apart: the service's credentials cannot see this account's buckets,
so a file that arrives there was written under the customer's role. The account is
chosen per request with moto's `x-moto-account-id` header (in-process and on the server).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import boto3

from mailexports_dev.local.resources import ACCOUNT as SERVICE_ACCOUNT
from mailexports_dev.local.resources import REGION
from mailexports_dev.local.role_trust import trust_policy

CUSTOMER_ACCOUNT = "111122223333"
ROLE_PREFIX = "mailexports-destination-"


def _in_account(client: Any, account: str) -> Any:
    def set_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.*.*", set_account)
    return client


@dataclass
class CustomerAccount:
    s3: Any
    iam: Any

    def role(self, name: str, external_id: str) -> str:
        """A role whose trust policy lets the service in with this ExternalId only; its ARN."""
        answer = self.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=trust_policy(SERVICE_ACCOUNT, external_id)
        )
        return str(answer["Role"]["Arn"])

    def bucket(self, name: str) -> str:
        self.s3.create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        listing = self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}

    def open_uploads(self, bucket: str) -> list[Any]:
        return list(self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def customer_account(endpoint_url: str | None = None, account: str = CUSTOMER_ACCOUNT) -> CustomerAccount:
    kwargs: dict[str, Any] = {"region_name": REGION}
    if endpoint_url:
        kwargs.update(endpoint_url=endpoint_url, aws_access_key_id="testing", aws_secret_access_key="testing")
    return CustomerAccount(
        s3=_in_account(boto3.client("s3", **kwargs), account),
        iam=_in_account(boto3.client("iam", **kwargs), account),
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
