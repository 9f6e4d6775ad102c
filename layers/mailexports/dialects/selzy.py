"""Selzy (seed 002): `async/getCampaignDeliveryStats` and `async/getTaskResult` under any
two-letter language segment (`/selzy/{lang}/api/async/...`), by GET query or POST form,
authenticated by the `api_key` parameter.

- getCampaignDeliveryStats: `campaign_id` (required), `notify_url`, `changed_since`
  (`YYYY-MM-DD hh:mm:ss`, UTC, inclusive), `field_ids[]=1&field_ids[]=2` -> a
  `campaign_delivery` export; answers `{"result": {"task_uuid", "status": "new"}}`.
- getTaskResult: `task_uuid` -> `{"result": {"task_uuid", "task_type", "status"}}`,
  plus `file_to_download` (a freshly signed URL) once completed.
- `notify_url` receives exactly that completed getTaskResult JSON, its link being the
  long-lived download link (a webhook may be retried, and read, hours later;
  selzy_webhook.py).

Errors are Selzy's `{"error": "<message>", "code": "<code>"}` in-band with HTTP 200, as
the vendor answers them: UniSender-family clients read `error`/`code` from the body and
treat any other status as a transport failure. Any other method under `/selzy/{lang}/api/`
answers `unknown_method`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from mailexports.api.http import json_response
from mailexports.api.status import status_of
from mailexports.dialects.common import (
    Params,
    authenticate,
    check_notify,
    describe,
    last,
    list_param,
    request_params,
    submit,
    task_id,
)
from mailexports.dialects.dialect import Dialect
from mailexports.dialects.names import SELZY
from mailexports.dialects.selzy_webhook import task_result
from mailexports.errors import (
    DomainError,
    NotFound,
    RateLimited,
    Unauthorized,
    UnknownReference,
    ValidationFailed,
)
from mailexports.exports.requests import CampaignDeliveryParams, ExportRequest, ExportType, NotifyTarget
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.task_view import effective_status

PREFIX = "/selzy/"
DELIVERY_STATS = "/selzy/<lang>/api/async/getCampaignDeliveryStats"
TASK_RESULT = "/selzy/<lang>/api/async/getTaskResult"
OTHER_METHOD = "/selzy/<lang>/api/<method>"

submit_router = Router()
status_router = Router()

_NAMES = {"params.campaign_id": "campaign_id", "params.field_ids": "field_ids"}
_LANG = re.compile(r"[A-Za-z]{2}")
_CHANGED_SINCE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}): ?(\d{2}): ?(\d{2}))?$")


def _check_lang(lang: str) -> None:
    """The vendor's URL carries a two-letter language (`en`, `ru`, ...); nothing else."""
    if not _LANG.fullmatch(lang):
        raise ValidationFailed(
            "the language segment of the URL must be two letters, such as /selzy/en/api/...",
            [{"field": "lang", "issue": f"got {lang[:20]!r}"}],
        )


def _required(params: Params, name: str) -> str:
    value = (last(params, name) or "").strip()
    if not value:
        raise ValidationFailed(f"{name} is required", [{"field": name, "issue": "missing"}])
    return value


def _changed_since(params: Params) -> datetime | None:
    raw = (last(params, "changed_since") or "").strip()
    if not raw:
        return None
    match = _CHANGED_SINCE.match(raw)
    try:
        if match is None:
            raise ValueError
        day, hour, minute, second = match.groups()
        moment = datetime.strptime(day, "%Y-%m-%d").replace(
            hour=int(hour or 0), minute=int(minute or 0), second=int(second or 0), tzinfo=UTC
        )
    except ValueError:
        raise ValidationFailed(
            "changed_since must be a UTC time as YYYY-MM-DD hh:mm:ss, such as 2025-03-01 10:00:00",
            [{"field": "changed_since", "issue": f"got {raw!r}"}],
        ) from None
    return moment


def _notify(params: Params) -> NotifyTarget | None:
    url = (last(params, "notify_url") or "").strip()
    if not url:
        return None
    target = NotifyTarget(type="webhook", value=url)
    check_notify(target, "notify_url")
    return target


def parse_delivery_stats(params: Params) -> ExportRequest:
    campaign_id = _required(params, "campaign_id")
    if "#" in campaign_id or len(campaign_id) > 256:
        raise ValidationFailed(
            "campaign_id is not a campaign identifier", [{"field": "campaign_id", "issue": "malformed"}]
        )
    field_ids = list(dict.fromkeys(list_param(params, "field_ids")))
    bad = [i for i, field_id in enumerate(field_ids) if "#" in field_id or len(field_id) > 256]
    if bad or len(field_ids) > 100:
        raise ValidationFailed(
            "field_ids must be at most 100 additional field ids",
            [{"field": f"field_ids[{i}]", "issue": "malformed"} for i in bad]
            or [{"field": "field_ids", "issue": "too many"}],
        )
    params_model = CampaignDeliveryParams(
        campaign_id=campaign_id, changed_since=_changed_since(params), field_ids=field_ids
    )
    return ExportRequest(type=ExportType.CAMPAIGN_DELIVERY, params=params_model, notify=_notify(params))


@submit_router.route(DELIVERY_STATS, method=["GET", "POST"])
def get_campaign_delivery_stats(lang: str) -> Response[str]:
    _check_lang(lang)
    event = submit_router.current_event
    params = request_params(event)
    tenant = authenticate(last(params, "api_key"), "api_key")
    request = parse_delivery_stats(params)
    task = submit(event, tenant, request, dialect=SELZY, names=_NAMES)
    return json_response(
        200, {"result": {"task_uuid": task.task_uuid, "status": effective_status(task).value}}
    )


@status_router.route(TASK_RESULT, method=["GET", "POST"])
def get_task_result(lang: str) -> Response[str]:
    _check_lang(lang)
    params = request_params(status_router.current_event)
    tenant = authenticate(last(params, "api_key"), "api_key")
    asked = _required(params, "task_uuid")
    task_uuid = task_id(asked)
    try:
        if task_uuid is None:
            raise NotFound("malformed")
        task = DynamoTaskStore().get(task_uuid, tenant.tenant_id)
    except NotFound:
        # Another tenant's task reads exactly like one that never existed.
        raise UnknownReference(
            f"task_uuid: no task {asked[:100]}", [{"field": "task_uuid", "issue": "no such task"}]
        ) from None
    return json_response(200, {"result": task_result(task)})


@status_router.route(OTHER_METHOD, method=["GET", "POST"])
def unknown_method(lang: str, method: str) -> Response[str]:
    """Any other method of the vendor's API (a client calling e.g. getLists by name)."""
    _check_lang(lang)
    params = request_params(status_router.current_event)
    authenticate(last(params, "api_key"), "api_key")
    raise NotFound(
        f"unknown method {method[:100]!r}: this service answers "
        "async/getCampaignDeliveryStats and async/getTaskResult"
    )


# The vendor's error codes (its "API errors" page), first matching class wins. The
# service has no counterpart of access_denied, not_enough_money or retry_later: it never
# raises them. A tenant over its submit rate gets the vendor's per-key call limit code
# (in-band like every error; the Retry-After header says when to try again).
ERROR_CODES: tuple[tuple[type[DomainError], str], ...] = (
    (Unauthorized, "invalid_api_key"),  # missing or unknown api_key
    (RateLimited, "api_call_limit_exceeded_for_api_key"),
    (ValidationFailed, "invalid_arg"),  # a malformed argument, `lang` included
    (UnknownReference, "invalid_arg"),  # a campaign_id or task_uuid the tenant does not have
    (NotFound, "unknown_method"),  # any other method (or HTTP method) under /selzy/{lang}/api/
)


def error_code(error: DomainError) -> str:
    return next((code for kind, code in ERROR_CODES if isinstance(error, kind)), "unspecified")


# In-band, as the vendor does: every refusal is HTTP 200, told apart by its `code`.
STATUS: dict[type[DomainError], int] = {DomainError: 200}


def selzy_error(error: DomainError) -> Response[str]:
    return json_response(status_of(error, STATUS), {"error": describe(error), "code": error_code(error)})


DIALECT = Dialect(
    name=SELZY,
    path_prefix=PREFIX,
    render_error=selzy_error,
    submit_routers=(submit_router,),
    status_routers=(status_router,),
)
