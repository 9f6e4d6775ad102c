"""Submit-time checks of `notify`: a deliverable email address or an allowed webhook URL."""

from __future__ import annotations

import re

from mailexports.config import Settings
from mailexports.errors import ValidationFailed
from mailexports.exports.requests import NotifyTarget
from mailexports.notify.ssrf import RefusedTarget, Resolver, UnresolvableTarget, WebhookGuard, WebhookPolicy

# One bare address (no display name, no list): dot-atom local part, a dotted domain.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def email_problem(address: str) -> str | None:
    """Why `address` cannot receive the notification email, or None."""
    if len(address) > 254:
        return "the email address is longer than 254 characters"
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "not an email address (expected name@example.com)"
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        return "the part before @ is not a valid mailbox name"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return "the part after @ is not a valid domain name"
    return None


def validate_notify_target(
    target: NotifyTarget,
    settings: Settings | None = None,
    *,
    resolver: Resolver | None = None,
    policy: WebhookPolicy | None = None,
) -> None:
    """Raise ValidationFailed (field `notify.value`) unless the target can be notified.

    Webhooks are checked against `policy`, by default the process's (see ssrf.py). `settings`
    is no longer read (no setting relaxes the guard); callers may stop passing it."""
    if target.type == "email":
        problem = email_problem(target.value)
        if problem:
            raise ValidationFailed(
                f"invalid notify address: {problem}", [{"field": "notify.value", "issue": problem}]
            )
        return
    guard = WebhookGuard(policy=policy, resolver=resolver)
    try:
        guard.check_url(target.value)
    except (RefusedTarget, UnresolvableTarget) as error:
        raise ValidationFailed(
            f"webhook URL not allowed: {error.reason}", [{"field": "notify.value", "issue": error.reason}]
        ) from None
