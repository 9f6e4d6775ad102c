"""Pinpointe's webhook body (`details.notify` of type webhook): the job, its status and
the link to its JSON file, in the top-level shape of Pinpointe's JSON answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailexports.dialects.dialect import DialectWebhook
from mailexports.dialects.names import PINPOINTE
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask
from mailexports.exports.task_view import download_link
from mailexports.marketing.vocabulary import iso_ms


@dataclass(frozen=True)
class MethodName:
    """How the vendor's API names one of its methods: the pair a request carries."""

    requesttype: str
    requestmethod: str


# The method that submits each export type; the webhook names the job by it.
METHOD_NAMES = {
    ExportType.CAMPAIGN_ACTIVITY: MethodName("Newsletters", "GetNewsletterContactDataSummaryAsync"),
    ExportType.SEGMENT_CONTACTS: MethodName("Segments", "GetSegmentSubscribersAsync"),
}


def pinpointe_payload(task: ExportTask, event: str) -> dict[str, Any]:
    """What the webhook receives: the job, its outcome and the link to the JSON file
    (one link per file when a very large export was split)."""
    method = METHOD_NAMES.get(task.task_type)
    job: dict[str, Any] = {
        "jobid": task.task_uuid,
        "requesttype": method.requesttype if method else task.task_type.value,
        "requestmethod": method.requestmethod if method else task.task_type.value,
    }
    if event != "export.completed":
        reason = task.error.message if task.error else "the job could not be completed"
        return {"status": "ERROR", "errormessage": reason, "data": {**job, "status": "failed"}}
    links = [link for i in range(len(task.files)) if (link := download_link(task, i))]
    data = {
        **job,
        "status": "completed",
        "count": task.progress.records,
        "url": links[0] if links else None,
        "urls": links,
        "expires": iso_ms(task.expires_at) if task.expires_at else None,
    }
    return {"status": "SUCCESS", "data": data}


WEBHOOK = DialectWebhook(name=PINPOINTE, payload=pinpointe_payload)
