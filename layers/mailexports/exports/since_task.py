"""`params.since_task`: which earlier export an incremental one continues from.

Checked at submit, before anything is written: the task must be the tenant's own
(another tenant's id reads as unknown), completed (only then is its watermark
final), of the same type and over the same send or campaign. Its watermark is
copied onto the new task, so the window stays fixed even after the earlier task's
record expires.
"""

from __future__ import annotations

from datetime import datetime

from mailexports.errors import NotFound, UnknownReference
from mailexports.exports.requests import CampaignActivityParams, CampaignDeliveryParams, ExportRequest
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_store import TaskStore

_FIELD = "params.since_task"


def _refuse(issue: str) -> UnknownReference:
    return UnknownReference(f"since_task: {issue}", [{"field": _FIELD, "issue": issue}])


def _subject(params: CampaignActivityParams | CampaignDeliveryParams) -> tuple[str, str]:
    if isinstance(params, CampaignActivityParams):
        return "stat_id", params.stat_id
    return "campaign_id", params.campaign_id


def since_watermark(store: TaskStore, tenant_id: str, request: ExportRequest) -> datetime | None:
    """The watermark the new export starts from, or None without `since_task`."""
    params = request.params
    if not isinstance(params, CampaignActivityParams | CampaignDeliveryParams) or params.since_task is None:
        return None
    try:
        earlier: ExportTask = store.get(params.since_task, tenant_id)
    except NotFound:
        raise _refuse(f"no export task {params.since_task}") from None
    if earlier.task_type is not request.type:
        raise _refuse(
            f"task {params.since_task} is a {earlier.task_type.value} export, not {request.type.value}"
        )
    name, value = _subject(params)
    if earlier.params.get(name) != value:
        raise _refuse(f"task {params.since_task} exported {name} {earlier.params.get(name)}, not {value}")
    if earlier.status is not TaskStatus.COMPLETED or earlier.watermark is None:
        raise _refuse(
            f"task {params.since_task} is {earlier.status.value}; only a completed export has a watermark"
        )
    return earlier.watermark
