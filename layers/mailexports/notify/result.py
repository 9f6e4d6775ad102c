"""What one delivery attempt came to, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass

# Outcomes recorded on the task (NotificationAttempt.outcome):
#   delivered        2xx from the webhook, or SES accepted the email
#   redirect         3xx: a failure, never followed
#   http_error       any other non-2xx status
#   gone             410: the receiver asked us to stop (final)
#   rate_limited     429, retried no sooner than its Retry-After
#   unavailable      503, retried no sooner than its Retry-After
#   timeout          no answer within the timeout
#   connection_error connection refused or reset
#   tls_error        the certificate or handshake failed
#   dns_error        the host did not resolve at delivery time
#   refused_target   the URL or its address is not allowed (final)
#   throttled        SES throttled the send (retried, never dropped)
#   rejected         SES refused the message (final)
#   ses_error        any other SES failure
#   error            anything else (retried)


@dataclass(frozen=True)
class DeliveryResult:
    outcome: str
    http_status: int | None = None
    retry_after: str | None = None  # the Retry-After header as received
    final: bool = False  # no retry whatever the schedule says

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"
