"""`/v1/schedules`: writes on SubmitFunction, reads on StatusFunction, typed like api/canonical.py."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.request import Request

from mailexports.api.canonical import Cursor, authenticate
from mailexports.api.http import api_base_url, json_response
from mailexports.api.responses import KEYED, answers, header
from mailexports.api.schedule_schemas import ScheduleBody, ScheduleList, ScheduleView
from mailexports.schedules.models import SchedulePatch
from mailexports.schedules.service import apply_patch, create_schedule, schedule_view
from mailexports.schedules.store import DynamoScheduleStore

schedules_write_router = Router()
schedules_read_router = Router()

ScheduleId = Annotated[str, Path(description="The schedule's id, as `POST /v1/schedules` returned it.")]


@schedules_write_router.post(
    "/v1/schedules",
    summary="Create a recurring export",
    security=KEYED,
    responses=answers(
        201,
        "The schedule.",
        ScheduleView,
        errors=(400, 401, 422),
        headers={"Location": header("The schedule's URL.")},
    ),
)
def create(
    request: Request,
    body: Annotated[ScheduleBody, Body(description="The export to repeat and when.")],
) -> Response[str]:
    tenant = authenticate(request)
    base = api_base_url(request.resolved_event)
    fields = body.model_dump(include={"schedule", "timezone", "incremental", "enabled"})
    schedule = create_schedule(tenant.tenant_id, body.export, fields, api_base_url=base)
    return json_response(
        201, schedule_view(schedule), {"Location": f"{base}/v1/schedules/{schedule.schedule_id}"}
    )


@schedules_write_router.patch(
    "/v1/schedules/<schedule_id>",
    summary="Pause, resume or re-time a schedule",
    security=KEYED,
    responses=answers(200, "The changed schedule.", ScheduleView, errors=(400, 401, 404)),
)
def update(
    request: Request,
    schedule_id: ScheduleId,
    body: Annotated[SchedulePatch, Body(description='`{"enabled": false}` pauses.')],
) -> Response[str]:
    tenant = authenticate(request)
    store = DynamoScheduleStore()
    schedule = apply_patch(store.get(schedule_id, tenant.tenant_id), body)
    store.replace(schedule)
    return json_response(200, schedule_view(schedule))


@schedules_write_router.delete(
    "/v1/schedules/<schedule_id>",
    summary="Delete a schedule (its tasks stay)",
    security=KEYED,
    responses=answers(204, "Deleted.", errors=(401, 404)),
)
def delete(request: Request, schedule_id: ScheduleId) -> Response[None]:
    tenant = authenticate(request)
    DynamoScheduleStore().delete(schedule_id, tenant.tenant_id)
    return Response(status_code=204)


@schedules_read_router.get(
    "/v1/schedules/<schedule_id>",
    summary="Get a schedule",
    security=KEYED,
    responses=answers(200, "The schedule.", ScheduleView, errors=(401, 404)),
)
def show(request: Request, schedule_id: ScheduleId) -> Response[str]:
    tenant = authenticate(request)
    return json_response(200, schedule_view(DynamoScheduleStore().get(schedule_id, tenant.tenant_id)))


@schedules_read_router.get(
    "/v1/schedules",
    summary="List schedules, newest first",
    security=KEYED,
    responses=answers(200, "A page of the tenant's schedules.", ScheduleList, errors=(400, 401)),
)
def list_schedules(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Schedules per page.")] = 50,
    cursor: Cursor = None,
) -> Response[str]:
    tenant = authenticate(request)
    schedules, next_cursor = DynamoScheduleStore().list(tenant.tenant_id, limit=limit, cursor=cursor)
    return json_response(
        200, {"schedules": [schedule_view(s) for s in schedules], "next_cursor": next_cursor}
    )
