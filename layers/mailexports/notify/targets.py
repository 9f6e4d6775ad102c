"""Submit-time checks of `notify`: a deliverable email address or an allowed webhook URL."""

from __future__ import annotations

from mailexports.emails import email_problem
from mailexports.errors import ValidationFailed
from mailexports.exports.requests import NotifyTarget
from mailexports.notify.ssrf import RefusedTarget, Resolver, UnresolvableTarget, WebhookGuard, WebhookPolicy

__all__ = ["validate_notify_target"]


def validate_notify_target(
    target: NotifyTarget,
    *,
    resolver: Resolver | None = None,
    policy: WebhookPolicy | None = None,
) -> None:
    """Raise ValidationFailed (field `notify.value`) unless the target can be notified.

    Webhooks are checked against `policy`, by default the process's (see ssrf.py); no
    setting relaxes the guard."""
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
