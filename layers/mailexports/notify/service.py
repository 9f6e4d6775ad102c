"""The notifier: one NotifyQueue message is one delivery attempt of one notification.

- Idempotent: attempt n runs only while exactly n-1 attempts are recorded and the
  notification is open, and only for the invocation that claimed it; a duplicate
  message, or one for a notification already delivered or failed, does nothing.
- Every attempt is appended to the task's `notification.attempts` (conditional
  UpdateItem); `notification.status` ends `delivered` or `failed`.
- Retries are new messages carrying `attempt` and `not_before`; a wait longer than
  SQS's 15-minute delay is a chain of delayed hops. The next hop is queued before
  the attempt is recorded, so a crash in between re-runs the attempt rather than
  losing the chain (the claim and the record conditions drop the duplicate).
- The file is never rebuilt: the payload is built from the task record.
- A failed notification never touches the export's own status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from mailexports.config import Settings, get_settings
from mailexports.exports.messages import NotifyMessage, enqueue_notification
from mailexports.exports.task import ExportTask, NotificationAttempt, NotificationState
from mailexports.exports.task_store import DynamoTaskStore, TaskStore, now
from mailexports.notify.mail import EmailSender
from mailexports.notify.options import NotifyOptions
from mailexports.notify.payloads import PayloadBuilder, build_payload
from mailexports.notify.recorder import NotificationRecorder
from mailexports.notify.result import DeliveryResult
from mailexports.notify.schedule import RetrySchedule, parse_retry_after, sqs_delay_seconds
from mailexports.notify.signing import webhook_headers, webhook_id_for
from mailexports.notify.ssrf import WebhookGuard
from mailexports.notify.webhook import WebhookSender
from mailexports.observability import logger, metrics, task_logging
from mailexports.tenants.store import DynamoTenantStore, TenantStore

# Long enough for one webhook (10 s connect + 10 s answer) or one email; well under
# NotifyQueue's visibility timeout, so a crashed attempt's redelivery can claim again.
CLAIM_HOLD = timedelta(seconds=120)
# SQS delays are whole seconds: a hop that arrives this close to `not_before` goes ahead.
EARLY_TOLERANCE = timedelta(seconds=1)


class NotifyQueue(Protocol):
    def send(self, message: NotifyMessage, delay_seconds: int) -> None: ...


class SqsNotifyQueue:
    def __init__(self, queue_url: str) -> None:
        self._queue_url = queue_url

    def send(self, message: NotifyMessage, delay_seconds: int) -> None:
        enqueue_notification(message, delay_seconds, queue_url=self._queue_url)


class NotificationService:
    def __init__(
        self,
        *,
        settings: Settings | None = None,
        options: NotifyOptions | None = None,
        store: TaskStore | None = None,
        recorder: NotificationRecorder | None = None,
        tenants: TenantStore | None = None,
        webhooks: WebhookSender | None = None,
        mailer: EmailSender | None = None,
        queue: NotifyQueue | None = None,
        schedule: RetrySchedule | None = None,
        clock: Callable[[], datetime] = now,
        payloads: Mapping[str, PayloadBuilder] | None = None,
    ) -> None:
        """`payloads`: `{dialect name: builder}` for the webhooks of the dialects' tasks
        (the handler passes the dialects'); any other task gets the canonical payload."""
        self._settings = settings or get_settings()
        self._payloads: Mapping[str, PayloadBuilder] = payloads or {}
        self._options = options or NotifyOptions.from_env()
        self._store = store or DynamoTaskStore()
        self._recorder = recorder or NotificationRecorder()
        self._tenants = tenants or DynamoTenantStore()
        self._webhooks = webhooks or WebhookSender(
            WebhookGuard(),  # the process's policy: strict unless the local stack relaxed it
            timeout=self._options.webhook_timeout_seconds,
        )
        self._mailer = mailer or EmailSender(
            self._settings, attachment_max_bytes=self._options.attachment_max_bytes
        )
        self._queue = queue or SqsNotifyQueue(self._settings.notify_queue_url)
        self._schedule = schedule or RetrySchedule(
            base=timedelta(seconds=self._options.retry_base_seconds),
            cap=timedelta(seconds=self._options.retry_max_delay_seconds),
            horizon=self._options.retry_horizon,
        )
        self._clock = clock

    def handle(self, body: str, *, clock: Callable[[], datetime] | None = None) -> None:
        """Run the attempt `body` asks for, if it is still due and not done already."""
        message = NotifyMessage.model_validate_json(body)
        with task_logging(message.task_uuid):
            self._attempt(message, clock or self._clock)

    def _attempt(self, message: NotifyMessage, clock: Callable[[], datetime]) -> None:
        log = {"attempt": message.attempt, "event": message.event}
        task = self._store.load(message.task_uuid)
        state = task.notification if task else None
        if task is None or state is None:
            logger.warning("notification for an unknown task or one without notify; dropped", extra=log)
            return
        if state.status in ("delivered", "failed") or len(state.attempts) >= message.attempt:
            logger.info("attempt already made; duplicate message dropped", extra=log)
            return
        if len(state.attempts) < message.attempt - 1:
            # Only a copy of a retry hop that overtook its own attempt's record gets here;
            # the message that made that attempt queues the hop again when it is redelivered.
            logger.info("attempt ahead of the record; dropped", extra=log)
            return
        moment = clock()
        if message.not_before is not None and message.not_before - moment > EARLY_TOLERANCE:
            self._queue.send(message, sqs_delay_seconds(moment, message.not_before))  # next hop of the chain
            return
        if not self._recorder.claim(task.task_uuid, message.attempt, now=moment, hold=CLAIM_HOLD):
            logger.info("attempt claimed by another invocation; dropped", extra=log)
            return
        result = self._deliver(task, state, message.event, moment)
        self._settle(task, state, message, result, started=moment, finished=clock())

    def defer(self, body: str) -> None:
        """Put a message back unchanged (the invocation is running out of time)."""
        self._queue.send(NotifyMessage.model_validate_json(body), 0)

    # ------------------------------------------------------------------ one attempt
    def _deliver(
        self, task: ExportTask, state: NotificationState, event: str, at: datetime
    ) -> DeliveryResult:
        try:
            if state.type == "webhook":
                return self._send_webhook(task, state.target, event, at)
            return self._mailer.send(task, event, state.target)
        except Exception:  # whatever broke, the attempt is recorded and retried, never lost
            logger.exception("notification attempt failed unexpectedly")
            return DeliveryResult("error")

    def _send_webhook(self, task: ExportTask, url: str, event: str, at: datetime) -> DeliveryResult:
        tenant = self._tenants.get(task.tenant_id)
        if tenant is None:
            logger.error("the task's tenant is gone; nothing to sign with")
            return DeliveryResult("error", final=True)
        body = build_payload(task, event, self._payloads)
        headers = webhook_headers(tenant.signing_secrets(at), webhook_id_for(task.task_uuid, event), at, body)
        return self._webhooks.send(url, body, headers)

    def _settle(
        self,
        task: ExportTask,
        state: NotificationState,
        message: NotifyMessage,
        result: DeliveryResult,
        *,
        started: datetime,
        finished: datetime,
    ) -> None:
        status = self._status_after(state, message, result, started, finished)
        if status == "retrying":
            retry_after = parse_retry_after(result.retry_after, finished)
            not_before = self._schedule.next_attempt_at(finished, message.attempt, retry_after)
            following = NotifyMessage(
                task_uuid=task.task_uuid,
                event=message.event,
                attempt=message.attempt + 1,
                not_before=not_before,
            )
            self._queue.send(following, sqs_delay_seconds(finished, not_before))
        recorded = self._recorder.record(
            task.task_uuid,
            message.attempt,
            NotificationAttempt(at=started, outcome=result.outcome, http_status=result.http_status),
            status=status,
            webhook_id=webhook_id_for(task.task_uuid, message.event) if state.type == "webhook" else None,
        )
        logger.info(
            "notification attempt",
            extra={
                "channel": state.type,
                "attempt": message.attempt,
                "outcome": result.outcome,
                "http_status": result.http_status,
                "status": status,
                "recorded": recorded,
            },
        )
        if recorded and status in ("delivered", "failed"):
            metrics.add_metric(
                name="NotificationsDelivered" if status == "delivered" else "NotificationsFailed",
                unit=MetricUnit.Count,
                value=1,
            )

    def _status_after(
        self,
        state: NotificationState,
        message: NotifyMessage,
        result: DeliveryResult,
        started: datetime,
        finished: datetime,
    ) -> str:
        if result.delivered:
            return "delivered"
        if result.final or message.attempt >= self._options.max_attempts:
            return "failed"
        if result.outcome == "throttled":  # SES throttling is retried past the horizon: never dropped
            return "retrying"
        first = state.attempts[0].at if state.attempts else started
        return "failed" if self._schedule.exhausted(first, finished) else "retrying"
