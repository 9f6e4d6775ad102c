"""The notifier: one message, one attempt, recorded on the task; retries chained through the queue."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import boto3
import pytest
from standardwebhooks import Webhook
from tests.unit.notify.receiver import Reply, WebhookReceiver
from tests.unit.notify.support import START, FakeClock, FakeQueue, first_message, make_task, stored

from mailexports.config import Settings
from mailexports.exports.requests import NotifyTarget
from mailexports.exports.task import TaskStatus
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.notify import ssrf
from mailexports.notify.options import NotifyOptions
from mailexports.notify.recorder import NotificationRecorder
from mailexports.notify.service import NotificationService, NotifyMessage
from mailexports.tenants.models import CreatedTenant
from mailexports.tenants.service import rotate_webhook_secret


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def local(aws_stack: Settings) -> Iterator[Settings]:
    """The service as the local stack runs it: its execution environments install the policy
    that allows http and loopback webhooks."""
    ssrf.install_policy(ssrf.LOCAL_DEVELOPMENT)
    yield aws_stack
    ssrf.install_policy(ssrf.STRICT)


def service(settings: Settings, queue: FakeQueue, clock: FakeClock, **options: float) -> NotificationService:
    return NotificationService(
        settings=settings, options=NotifyOptions.model_validate(options), queue=queue, clock=clock
    )


def webhook(url: str) -> NotifyTarget:
    return NotifyTarget(type="webhook", value=url)


def test_a_delivered_webhook_is_signed_recorded_and_visible(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    queue, clock = FakeQueue(), FakeClock(datetime.now(UTC))
    service(local, queue, clock).handle(first_message(task))

    request = hooks.received[0]
    payload = Webhook(tenant.webhook_secret).verify(request.body, request.headers)
    assert payload["type"] == "export.completed"
    assert payload["data"]["task_uuid"] == task.task_uuid
    assert payload["data"]["status"] == "completed"
    assert payload["data"]["files"][0]["download_link"].startswith(
        "https://api.example.test/dev/v1/downloads/"
    )
    assert "notification" not in payload["data"]

    state = stored(task).notification
    assert state is not None
    assert state.status == "delivered"
    assert state.webhook_id == request.headers["webhook-id"]
    assert [(a.outcome, a.http_status, a.at) for a in state.attempts] == [("delivered", 200, clock.now)]
    assert queue.sent == []  # nothing to retry


def test_a_duplicate_message_sends_nothing_twice(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    notifier = service(local, FakeQueue(), FakeClock(datetime.now(UTC)))
    notifier.handle(first_message(task))
    notifier.handle(first_message(task))
    assert len(hooks.received) == 1
    assert len(stored(task).notification.attempts) == 1  # type: ignore[union-attr]


def test_an_attempt_claimed_by_a_live_invocation_is_left_to_it(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    clock = FakeClock(datetime.now(UTC))
    assert NotificationRecorder().claim(task.task_uuid, 1, now=clock.now, hold=timedelta(seconds=120))
    notifier = service(local, FakeQueue(), clock)
    notifier.handle(first_message(task))
    assert hooks.received == []
    clock.advance(121)  # the claimant crashed; its claim ran out and the redelivery goes ahead
    notifier.handle(first_message(task))
    assert len(hooks.received) == 1
    assert stored(task).notification.status == "delivered"  # type: ignore[union-attr]


def test_a_message_for_a_later_attempt_than_recorded_is_dropped(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    body = NotifyMessage(task_uuid=task.task_uuid, event="export.completed", attempt=3).model_dump_json()
    service(local, FakeQueue(), FakeClock(datetime.now(UTC))).handle(body)
    assert hooks.received == []
    assert stored(task).notification.attempts == []  # type: ignore[union-attr]


def test_410_fails_the_notification_at_once_but_never_the_export(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    hooks.replies["/hook"] = Reply(410)
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    queue = FakeQueue()
    service(local, queue, FakeClock(datetime.now(UTC))).handle(first_message(task))
    after = stored(task)
    assert after.status is TaskStatus.COMPLETED
    assert after.notification is not None
    assert after.notification.status == "failed"
    assert [(a.outcome, a.http_status) for a in after.notification.attempts] == [("gone", 410)]
    assert queue.sent == []


def test_429_is_retried_no_sooner_than_retry_after(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    hooks.replies["/hook"] = Reply(429, {"Retry-After": "600"})
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    queue, clock = FakeQueue(), FakeClock(datetime.now(UTC))
    notifier = service(local, queue, clock)
    notifier.handle(first_message(task))

    state = stored(task).notification
    assert state is not None
    assert state.status == "retrying"
    assert [(a.outcome, a.http_status) for a in state.attempts] == [("rate_limited", 429)]
    (retry, delay) = queue.pop()
    assert retry.attempt == 2
    assert retry.not_before == clock.now + timedelta(seconds=600)  # longer than the first backoff
    assert delay == 600

    hooks.replies["/hook"] = Reply(200)
    clock.advance(delay)
    notifier.handle(retry.model_dump_json())
    state = stored(task).notification
    assert state is not None
    assert state.status == "delivered"
    assert [a.outcome for a in state.attempts] == ["rate_limited", "delivered"]
    # The same notification: the same webhook-id on both attempts, a fresh timestamp on each.
    first, second = hooks.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 600


def test_503_with_an_http_date_is_waited_for_through_chained_delays(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    hooks.replies["/hook"] = Reply(
        503, {"Retry-After": format_datetime(clock.now + timedelta(hours=2), usegmt=True)}
    )
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    queue = FakeQueue()
    notifier = service(local, queue, clock)
    notifier.handle(first_message(task))
    hooks.replies["/hook"] = Reply(200)

    delays = []
    while queue.sent:
        message, delay = queue.pop()
        delays.append(delay)
        clock.advance(delay)
        notifier.handle(message.model_dump_json())
    assert delays == [900] * 8  # 2 h = 8 hops of SQS's longest delay
    assert [a.outcome for a in stored(task).notification.attempts] == ["unavailable", "delivered"]  # type: ignore[union-attr]
    assert len(hooks.received) == 2


@pytest.mark.parametrize(
    ("reply", "outcome"), [(Reply(200, delay=1.0), "timeout"), (Reply(500), "http_error")]
)
def test_failures_are_recorded_and_retried(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver, reply: Reply, outcome: str
) -> None:
    hooks.replies["/hook"] = reply
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    queue = FakeQueue()
    service(local, queue, FakeClock(datetime.now(UTC)), NOTIFY_WEBHOOK_TIMEOUT_SECONDS=0.3).handle(
        first_message(task)
    )
    state = stored(task).notification
    assert state is not None
    assert (state.status, state.attempts[0].outcome) == ("retrying", outcome)
    assert [m.attempt for m, _ in queue.sent] == [2]


def test_a_refused_connection_is_retried(local: Settings, tenant: CreatedTenant) -> None:
    with WebhookReceiver() as closed:
        url = closed.url()
    task = make_task(local, tenant.tenant_id, webhook(url))
    queue = FakeQueue()
    service(local, queue, FakeClock(datetime.now(UTC))).handle(first_message(task))
    state = stored(task).notification
    assert state is not None
    assert (state.status, state.attempts[0].outcome) == ("retrying", "connection_error")


def test_rebinding_after_submit_is_refused_at_connect_and_not_retried(
    aws_stack: Settings, tenant: CreatedTenant, hooks: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_task(aws_stack, tenant.tenant_id, webhook("https://rebind.example.com/hook"))
    monkeypatch.setattr(ssrf, "resolve_host", lambda host, port: ["169.254.169.254"])
    queue = FakeQueue()
    service(aws_stack, queue, FakeClock(datetime.now(UTC))).handle(first_message(task))
    state = stored(task).notification
    assert state is not None
    assert (state.status, [a.outcome for a in state.attempts]) == ("failed", ["refused_target"])
    assert queue.sent == []


def test_the_retry_schedule_over_24_hours_with_a_fake_clock(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    hooks.replies["/hook"] = Reply(500)
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    queue, clock = FakeQueue(), FakeClock(START)
    notifier = service(local, queue, clock)
    notifier.handle(first_message(task))

    hops: list[int] = []
    waits: dict[int, timedelta] = {}  # attempt -> the wait planned before it
    while queue.sent:
        message, delay = queue.pop()
        assert 0 < delay <= 900
        hops.append(delay)
        if message.not_before is not None and message.attempt not in waits:
            waits[message.attempt] = message.not_before - clock.now
        clock.advance(delay)
        notifier.handle(message.model_dump_json())

    state = stored(task).notification
    assert state is not None
    assert state.status == "failed"
    times = [a.at for a in state.attempts]
    assert all(a.outcome == "http_error" and a.http_status == 500 for a in state.attempts)
    assert len(hooks.received) == len(times)
    assert times[-1] - times[0] >= timedelta(hours=24)  # retried for at least a day
    assert times[-2] - times[0] < timedelta(hours=24)  # and stopped once it had
    for n, (before, after) in enumerate(itertools.pairwise(times), start=1):
        ceiling = min(timedelta(hours=4), timedelta(seconds=30) * 2 ** (n - 1))
        assert ceiling / 2 <= after - before <= ceiling + timedelta(seconds=1), n  # equal jitter
        assert waits[n + 1] <= ceiling
    assert max(hops) == 900
    assert any(w > timedelta(seconds=900) for w in waits.values())  # waits longer than SQS allows: chained
    assert 10 <= len(times) <= 30
    assert stored(task).status is TaskStatus.COMPLETED  # never the export's failure


def test_rotation_signs_with_both_secrets_until_the_old_one_retires(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    rotated = rotate_webhook_secret(tenant.tenant_id, grace=timedelta(hours=24))
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    service(local, FakeQueue(), FakeClock(datetime.now(UTC))).handle(first_message(task))
    request = hooks.received[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(rotated.webhook_secret).verify(request.body, request.headers)
    Webhook(tenant.webhook_secret).verify(request.body, request.headers)

    later = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    service(local, FakeQueue(), FakeClock(datetime.now(UTC) + timedelta(hours=25))).handle(
        first_message(later)
    )
    assert len(hooks.received[1].headers["webhook-signature"].split(" ")) == 1


def test_a_failed_export_is_notified_with_its_error(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()), failed=True)
    service(local, FakeQueue(), FakeClock(datetime.now(UTC))).handle(first_message(task))
    payload = json.loads(hooks.received[0].body)
    assert payload["type"] == "export.failed"
    assert payload["data"]["status"] == "failed"
    assert payload["data"]["error"] == {
        "code": "export_failed",
        "message": "the marketing data could not be read",
    }


def test_a_dialect_supplies_its_own_payload_through_the_same_notifier(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    builder = lambda task, event: {"result": {"task_id": task.task_uuid, "event": event}}  # noqa: E731
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()), dialect="test-dialect")
    notifier = NotificationService(
        settings=local,
        options=NotifyOptions.model_validate({}),
        queue=FakeQueue(),
        clock=FakeClock(datetime.now(UTC)),
        payloads={"test-dialect": builder},
    )
    notifier.handle(first_message(task))
    request = hooks.received[0]
    assert Webhook(tenant.webhook_secret).verify(request.body, request.headers) == {
        "result": {"task_id": task.task_uuid, "event": "export.completed"}
    }


def test_the_receivers_body_is_never_kept(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    hooks.replies["/hook"] = Reply(500, body=b"internal stack trace: db password=hunter2")
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    service(local, FakeQueue(), FakeClock(datetime.now(UTC))).handle(first_message(task))
    item = boto3.client("dynamodb").get_item(
        TableName=local.tasks_table, Key={"task_uuid": {"S": task.task_uuid}}
    )
    assert "hunter2" not in json.dumps(item["Item"])
    assert stored(task).notification.attempts[0].http_status == 500  # type: ignore[union-attr]


def test_attempts_are_appended_without_touching_the_rest_of_the_task(
    local: Settings, tenant: CreatedTenant, hooks: WebhookReceiver
) -> None:
    task = make_task(local, tenant.tenant_id, webhook(hooks.url()))
    # Something else changes the task between the load and the record: it must survive.
    table = boto3.resource("dynamodb").Table(local.tasks_table)
    table.update_item(
        Key={"task_uuid": task.task_uuid},
        UpdateExpression="SET redrives = :r",
        ExpressionAttributeValues={":r": 2},
    )
    service(local, FakeQueue(), FakeClock(datetime.now(UTC))).handle(first_message(task))
    after = DynamoTaskStore().load(task.task_uuid)
    assert after is not None
    assert after.redrives == 2
    assert after.notification is not None
    assert after.notification.status == "delivered"
