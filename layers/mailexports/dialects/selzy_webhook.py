"""Selzy's webhook body: `notify_url` receives the getTaskResult answer of the finished
task, which is also what getTaskResult itself answers (selzy.py)."""

from __future__ import annotations

from typing import Any

from mailexports.dialects.dialect import DialectWebhook
from mailexports.dialects.names import SELZY
from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask, TaskStatus
from mailexports.exports.task_view import download_link, effective_status, presigned_url

# getTaskResult's task_type is the name of the method that prepared the task.
TASK_TYPES = {ExportType.CAMPAIGN_DELIVERY: "getCampaignDeliveryStats"}


def task_result(task: ExportTask, *, long_lived_link: bool = False) -> dict[str, Any]:
    """getTaskResult's `result`: file_to_download only once completed."""
    status = effective_status(task)
    result: dict[str, Any] = {
        "task_uuid": task.task_uuid,
        "task_type": TASK_TYPES.get(task.task_type, task.task_type.value),
        "status": status.value,
    }
    if status is TaskStatus.COMPLETED and task.files:
        link = download_link(task, 0) if long_lived_link else None
        result["file_to_download"] = link or presigned_url(task.files[0])
    if task.error is not None and status is TaskStatus.FAILED:
        result["error"] = task.error.message
    return result


def selzy_payload(task: ExportTask, event: str) -> dict[str, Any]:
    """The notify_url receives the getTaskResult answer of the finished task; its link is
    the long-lived download link (a webhook may be retried, and read, hours later)."""
    return {"result": task_result(task, long_lived_link=True)}


WEBHOOK = DialectWebhook(name=SELZY, payload=selzy_payload)
