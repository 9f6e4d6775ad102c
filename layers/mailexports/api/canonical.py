"""The canonical v1 API: submit and cancel (SubmitFunction), reads (StatusFunction)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from mailexports.api.http import api_base_url, json_body, json_response, parse_instant, parse_int
from mailexports.auth import Authenticator, bearer_or_api_key
from mailexports.errors import Conflict, NotFound, ValidationFailed
from mailexports.exports import download_tokens, tracking
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.requests import parse_export_request
from mailexports.exports.submit import ExportSubmitter
from mailexports.exports.task import TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TransitionRefused
from mailexports.exports.task_view import effective_status, presigned_url, task_view
from mailexports.exports.tracking import tracking_page
from mailexports.observability import MetricUnit, metrics
from mailexports.tenants.models import Tenant

submit_router = Router()
status_router = Router()

# Seconds a client should wait before polling an unfinished task again.
POLL_AFTER_SECONDS = 5


def _tenant(router: Router) -> Tenant:
    return Authenticator().tenant_for_key(bearer_or_api_key(router.current_event.headers or {}))


@submit_router.post("/v1/exports")
def create_export() -> Response[str]:
    tenant = _tenant(submit_router)
    event = submit_router.current_event
    request = parse_export_request(json_body(event))
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    key = headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 characters", [{"field": "Idempotency-Key", "issue": "length"}]
        )
    base = api_base_url(event)
    task, created = ExportSubmitter().submit(
        tenant.tenant_id, request, idempotency_key=key, api_base_url=base
    )
    if created:
        metrics.add_metric(name="ExportsSubmitted", unit=MetricUnit.Count, value=1)
    return json_response(202, task_view(task), {"Location": f"{base}/v1/exports/{task.task_uuid}"})


@submit_router.delete("/v1/exports/<task_uuid>")
def cancel_export(task_uuid: str) -> Response[str]:
    tenant = _tenant(submit_router)
    lifecycle = TaskLifecycle()
    task = lifecycle.store.get(task_uuid, tenant.tenant_id)
    try:
        task = lifecycle.cancel(task)
    except TransitionRefused:
        raise Conflict(f"task {task_uuid} has already finished ({task.status})") from None
    return json_response(200, task_view(task))


@status_router.get("/v1/exports/<task_uuid>")
def get_export(task_uuid: str) -> Response[str]:
    tenant = _tenant(status_router)
    task = DynamoTaskStore().get(task_uuid, tenant.tenant_id)
    headers = {} if task.finished else {"Retry-After": str(POLL_AFTER_SECONDS)}
    return json_response(200, task_view(task), headers)


@status_router.get("/v1/exports")
def list_exports() -> Response[str]:
    tenant = _tenant(status_router)
    query = status_router.current_event.query_string_parameters or {}
    status = None
    if query.get("status"):
        try:
            status = TaskStatus(query["status"])
        except ValueError:
            raise ValidationFailed(
                "unknown status",
                [{"field": "status", "issue": f"one of {', '.join(s.value for s in TaskStatus)}"}],
            ) from None
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise ValidationFailed(
            "limit must be an integer from 1 to 100", [{"field": "limit", "issue": "out of range"}]
        )
    tasks, cursor = DynamoTaskStore().list(
        tenant.tenant_id, status=status, limit=limit, cursor=query.get("cursor")
    )
    return json_response(200, {"exports": [task_view(t) for t in tasks], "next_cursor": cursor})


@status_router.get("/v1/exports/<task_uuid>/download")
def download_export(task_uuid: str) -> Response[str]:
    tenant = _tenant(status_router)
    task = DynamoTaskStore().get(task_uuid, tenant.tenant_id)
    status = effective_status(task)
    if status is not TaskStatus.COMPLETED or not task.files:
        raise Conflict(f"task {task_uuid} has no file to download (status {status})")
    return Response(
        status_code=302, headers={"Location": presigned_url(task.files[0]), "Cache-Control": "no-store"}
    )


@status_router.get("/v1/downloads/<token>")
def download_by_token(token: str) -> Response[str]:
    """The link notifications carry: no API key, the signed token is the permission."""
    task_uuid, index = download_tokens.verify(token)
    task = DynamoTaskStore().load(task_uuid)
    if task is None or effective_status(task) is not TaskStatus.COMPLETED or index >= len(task.files):
        raise NotFound("no such download")
    return Response(
        status_code=302, headers={"Location": presigned_url(task.files[index]), "Cache-Control": "no-store"}
    )


@status_router.get("/v1/campaigns/<campaign_id>/tracking/<activity>")
def campaign_tracking(campaign_id: str, activity: str) -> Response[str]:
    """Synchronous listing: a campaign's opens or clicks, newest first, cursor-paginated."""
    tenant = _tenant(status_router)
    query = status_router.current_event.query_string_parameters or {}
    page = tracking_page(
        tenant.tenant_id,
        campaign_id,
        activity,
        created_since=parse_instant(query.get("created_since"), "created_since"),
        limit=parse_int(query.get("limit"), "limit", default=tracking.MAX_LIMIT),
        cursor=query.get("cursor") or None,
    )
    return json_response(
        200,
        {"results": [item.model_dump(mode="json") for item in page.items], "next_cursor": page.next_cursor},
    )
