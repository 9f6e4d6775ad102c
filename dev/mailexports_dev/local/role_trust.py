"""Make moto's STS honour a role's trust policy, the way IAM does, for customer destinations.

moto lets any caller assume any role ARN, existing or not. A customer destination
rests on two refusals IAM makes: a role that does not exist cannot be assumed, and
a trust policy that requires `sts:ExternalId` refuses any other value. With this
installed, moto refuses both with `AccessDenied` (the code AWS answers), so the
local stack and the unit tests exercise the same paths as AWS. Only the
`StringEquals` / `sts:ExternalId` condition is modelled; other conditions pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import ServiceException
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend
from moto.utilities.utils import get_partition

_MARK = "_mailexports_trust_enforced"


class _AccessDenied(ServiceException):
    code = "AccessDenied"


def _required_external_ids(document: str) -> set[str] | None:
    """The ExternalIds the trust policy's Allow statements require (None: no such condition)."""
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    required: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        value = statement.get("Condition", {}).get("StringEquals", {}).get("sts:ExternalId")
        if value is not None:
            required.update([value] if isinstance(value, str) else value)
    return required or None


def _enforcing(original: Callable[..., Any]) -> Callable[..., Any]:
    def assume_role(
        self: STSBackend, region_name: str, role_session_name: str, role_arn: str, *args: Any, **kwargs: Any
    ) -> Any:
        external_id = kwargs.get("external_id", args[2] if len(args) > 2 else None)
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else self.account_id
        try:
            role = iam_backends[account][get_partition(region_name)].get_role_by_arn(role_arn)
        except Exception:  # moto raises its IAMNotFoundException
            raise _AccessDenied(f"Not authorized to perform sts:AssumeRole on {role_arn}") from None
        required = _required_external_ids(role.assume_role_policy_document)
        if required is not None and external_id not in required:
            raise _AccessDenied(f"Not authorized to perform sts:AssumeRole on {role_arn}")
        return original(self, region_name, role_session_name, role_arn, *args, **kwargs)

    setattr(assume_role, _MARK, True)
    return assume_role


def enforced_assume_role() -> Callable[..., Any]:
    """STSBackend.assume_role with trust enforcement (for monkeypatching in tests)."""
    original = STSBackend.assume_role
    return original if getattr(original, _MARK, False) else _enforcing(original)


def enforce_role_trust() -> None:
    """Install for the rest of this process (the local stack's embedded moto server)."""
    STSBackend.assume_role = enforced_assume_role()  # type: ignore[method-assign]


def trust_policy(service_account: str, external_id: str) -> str:
    """The trust policy a customer gives their destination role (README shows the same)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{service_account}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )
