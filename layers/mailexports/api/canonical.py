"""The canonical v1 API: submit and cancel (SubmitFunction), reads (StatusFunction).

Bodies, query strings, headers and path segments are declared with their types and
constraints; Powertools validates them before a handler runs (a failure becomes the
canonical 400 in api/errors.py) and documents them in the OpenAPI document.
Handlers read the request from the injected `Request`, not from their router, so the
same routers can also be mounted on the resolver that generates the document.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.request import Request

from mailexports.api.http import Instant, api_base_url, blank_as_none, json_response
from mailexports.api.responses import KEYED, answers, header
from mailexports.api.schemas import SubmitBody, TaskList, TaskView, TrackingList
from mailexports.auth import Authenticator, bearer_or_api_key
from mailexports.errors import Conflict, NotFound
from mailexports.exports import download_tokens, tracking
from mailexports.exports.lifecycle import TaskLifecycle
from mailexports.exports.submit import ExportSubmitter
from mailexports.exports.submit_rate import SubmitRate
from mailexports.exports.task import TaskStatus
from mailexports.exports.task_store import DynamoTaskStore, TransitionRefused
from mailexports.exports.task_view import destination_url, effective_status, presigned_url, task_view
from mailexports.exports.tracking import tracking_page
from mailexports.observability import MetricUnit, metrics
from mailexports.tenants.models import Tenant

submit_router = Router()
status_router = Router()
ANY_STATUS = [
    {"$ref": "#/components/schemas/TaskStatus"},
    {"const": "", "type": "string"},
    {"type": "null"},
]

# Seconds a client should wait before polling an unfinished task again.
POLL_AFTER_SECONDS = 5

TaskId = Annotated[str, Path(description="The task's id, as `POST /v1/exports` returned it.")]
Cursor = Annotated[
    str | None,
    Query(description="The `next_cursor` of the previous page."),
    blank_as_none,
]
_REDIRECT = {"Location": header("The signed S3 URL of the file.")}


def authenticate(request: Request) -> Tenant:
    return Authenticator().tenant_for_key(bearer_or_api_key(request.headers))


@submit_router.post(
    "/v1/exports",
    summary="Submit an export",
    security=KEYED,
    responses=answers(
        202,
        "Accepted: the task (a retried submit with the same Idempotency-Key: the same task).",
        TaskView,
        errors=(400, 401, 422, 429),
        headers={"Location": header("The task's URL.")},
    ),
)
def create_export(
    request: Request,
    body: Annotated[SubmitBody, Body(description="What to export; `params` depend on `type`.")],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="Makes a retried submit return the task it already made.",
        ),
    ] = None,
) -> Response[str]:
    tenant = authenticate(request)
    base = api_base_url(request.resolved_event)
    task, created = ExportSubmitter(rate=SubmitRate()).submit(
        tenant.tenant_id, body, idempotency_key=idempotency_key, api_base_url=base
    )
    if created:
        metrics.add_metric(name="ExportsSubmitted", unit=MetricUnit.Count, value=1)
    view = task_view(task, TaskLifecycle().queue.position(task))
    return json_response(202, view, {"Location": f"{base}/v1/exports/{task.task_uuid}"})


@submit_router.delete(
    "/v1/exports/<task_uuid>",
    summary="Cancel an unfinished export",
    security=KEYED,
    responses=answers(200, "The cancelled task.", TaskView, errors=(401, 404, 409)),
)
def cancel_export(request: Request, task_uuid: TaskId) -> Response[str]:
    tenant = authenticate(request)
    lifecycle = TaskLifecycle()
    task = lifecycle.store.get(task_uuid, tenant.tenant_id)
    try:
        task = lifecycle.cancel(task)
    except TransitionRefused:
        raise Conflict(f"task {task_uuid} has already finished ({task.status})") from None
    return json_response(200, task_view(task))


@status_router.get(
    "/v1/exports/<task_uuid>",
    summary="Get an export task",
    security=KEYED,
    responses=answers(
        200,
        "The task, with freshly signed file URLs.",
        TaskView,
        errors=(401, 404),
        headers={"Retry-After": header("Seconds to wait before polling again; only while unfinished.")},
    ),
)
def get_export(request: Request, task_uuid: TaskId) -> Response[str]:
    tenant = authenticate(request)
    lifecycle = TaskLifecycle()
    task = lifecycle.store.get(task_uuid, tenant.tenant_id)
    headers = {} if task.finished else {"Retry-After": str(POLL_AFTER_SECONDS)}
    return json_response(200, task_view(task, lifecycle.queue.position(task)), headers)


@status_router.get(
    "/v1/exports",
    summary="List export tasks, newest first",
    security=KEYED,
    responses=answers(200, "A page of the tenant's tasks.", TaskList, errors=(400, 401)),
)
def list_exports(
    request: Request,
    status: Annotated[
        TaskStatus | None,
        # The document says what the API has always done: `?status=` (empty) means any status.
        Query(description="Only tasks in this status.", json_schema_extra={"anyOf": ANY_STATUS}),
        blank_as_none,
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Tasks per page.")] = 50,
    cursor: Cursor = None,
) -> Response[str]:
    tenant = authenticate(request)
    lifecycle = TaskLifecycle()
    tasks, next_cursor = lifecycle.store.list(tenant.tenant_id, status=status, limit=limit, cursor=cursor)
    waiting = {t.task_uuid for t in tasks if t.status is TaskStatus.NEW}
    places = lifecycle.queue.positions(tenant.tenant_id, waiting) if waiting else {}
    exports = [task_view(t, places.get(t.task_uuid)) for t in tasks]
    return json_response(200, {"exports": exports, "next_cursor": next_cursor})


@status_router.get(
    "/v1/exports/<task_uuid>/download",
    summary="Download a completed export's (first) file",
    description="409 when the task wrote its files to your own bucket (`destination`): read them there.",
    security=KEYED,
    responses=answers(302, "Redirect to a freshly signed URL.", errors=(401, 404, 409), headers=_REDIRECT),
)
def download_export(request: Request, task_uuid: TaskId) -> Response[None]:
    tenant = authenticate(request)
    task = DynamoTaskStore().get(task_uuid, tenant.tenant_id)
    status = effective_status(task)
    if status is not TaskStatus.COMPLETED or not task.files:
        raise Conflict(f"task {task_uuid} has no file to download (status {status})")
    if (location := destination_url(task, task.files[0])) is not None:
        # We hold no credentials for the customer's bucket and keep none: they read it themselves.
        raise Conflict(f"task {task_uuid} wrote its files to your bucket: {location}")
    return Response(
        status_code=302, headers={"Location": presigned_url(task.files[0]), "Cache-Control": "no-store"}
    )


@status_router.get(
    "/v1/downloads/<token>",
    summary="Download a file by the link notifications carry (no API key)",
    responses=answers(302, "Redirect to a freshly signed URL.", errors=(404,), headers=_REDIRECT),
)
def download_by_token(
    token: Annotated[str, Path(description="The signed token of the link.")],
) -> Response[None]:
    """The link notifications carry: no API key, the signed token is the permission."""
    task_uuid, index = download_tokens.verify(token)
    task = DynamoTaskStore().load(task_uuid)
    if task is None or effective_status(task) is not TaskStatus.COMPLETED or index >= len(task.files):
        raise NotFound("no such download")
    return Response(
        status_code=302, headers={"Location": presigned_url(task.files[index]), "Cache-Control": "no-store"}
    )


@status_router.get(
    "/v1/campaigns/<campaign_id>/tracking/<activity>",
    summary="List a campaign's opens or clicks, newest first",
    security=KEYED,
    responses=answers(200, "A page of tracking events.", TrackingList, errors=(400, 401, 404)),
)
def campaign_tracking(
    request: Request,
    campaign_id: Annotated[str, Path(description="The campaign's id.")],
    activity: Annotated[str, Path(description="`opens` or `clicks` (anything else is a 404).")],
    created_since: Annotated[
        Instant | None,
        Query(description="Only events at or after this ISO-8601 time (UTC when no offset)."),
        blank_as_none,
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=tracking.MAX_LIMIT, description="Events per page.")
    ] = tracking.MAX_LIMIT,
    cursor: Cursor = None,
) -> Response[str]:
    """Synchronous listing: a campaign's opens or clicks, newest first, cursor-paginated."""
    tenant = authenticate(request)
    page = tracking_page(
        tenant.tenant_id, campaign_id, activity, created_since=created_since, limit=limit, cursor=cursor
    )
    return json_response(
        200,
        {"results": [item.model_dump(mode="json") for item in page.items], "next_cursor": page.next_cursor},
    )
