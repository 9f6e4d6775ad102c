"""What a notification says: webhook payloads (one builder per API dialect) and email text.

Building is kept apart from delivery: a compatibility dialect's value names the payload
its vendor's clients expect (dialects/dialect.py), the notify handler hands those
builders to the notifier, and the same notifier signs, sends, retries and records it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mailexports.exports.requests import ExportType
from mailexports.exports.task import ExportTask
from mailexports.exports.task_view import destination_url, download_link, task_view
from mailexports.marketing.vocabulary import iso_ms
from mailexports.observability import logger

Event = Literal["export.completed", "export.failed"]
EVENTS: tuple[Event, ...] = ("export.completed", "export.failed")

# (task, event) -> a JSON-able dict, or the body text exactly as it must be sent.
PayloadBuilder = Callable[[ExportTask, str], dict[str, Any] | str]


def canonical_payload(task: ExportTask, event: str) -> dict[str, Any]:
    """`{"type", "timestamp", "data": <the task as GET /v1/exports/{id} shows it>}`."""
    data = task_view(task)
    data.pop("notification", None)  # the notification's own progress is not news to its receiver
    at = task.completed_at or datetime.now(UTC)
    return {"type": event, "timestamp": iso_ms(at), "data": data}


def build_payload(task: ExportTask, event: str, builders: Mapping[str, PayloadBuilder]) -> str:
    """The webhook body for `task`, in its dialect; the exact text that is signed and sent.
    `builders`: `{dialect name: builder}`, handed to the notifier by its handler."""
    builder: PayloadBuilder = canonical_payload
    if task.dialect is not None:
        own = builders.get(task.dialect)
        if own is None:
            logger.warning(
                "no payload builder for dialect; sending the canonical one", extra={"dialect": task.dialect}
            )
        else:
            builder = own
    payload = builder(task, event)
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------- email
_TYPE_LABELS = {
    ExportType.CAMPAIGN_ACTIVITY: "Campaign activity",
    ExportType.SEGMENT_CONTACTS: "Segment contacts",
    ExportType.CAMPAIGN_DELIVERY: "Campaign delivery statuses",
    ExportType.CONTACT_DATA: "Contact data",
}


@dataclass(frozen=True)
class EmailContent:
    subject: str
    text: str
    html: str


def export_name(task: ExportTask) -> str:
    """`Campaign activity export (stat_id 981)`: what the export was, in words."""
    label = _TYPE_LABELS.get(task.task_type, str(task.task_type))
    params = task.params
    detail = {
        ExportType.CAMPAIGN_ACTIVITY: f"stat_id {params.get('stat_id')}",
        ExportType.SEGMENT_CONTACTS: "segments " + ", ".join(str(s) for s in params.get("segment_ids", [])),
        ExportType.CAMPAIGN_DELIVERY: f"campaign {params.get('campaign_id')}",
        ExportType.CONTACT_DATA: f"for {params.get('email')}",
    }.get(task.task_type)
    return f"{label} export ({detail})" if detail else f"{label} export"


def human_bytes(size: int) -> str:
    """1536 -> "1.5 KB" (binary multiples, as file managers show them)."""
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return f"{value:.1f} {unit}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def email_content(task: ExportTask, event: str, *, attachment: str | None = None) -> EmailContent:
    """Subject, text and HTML of the email for `event`; `attachment` names the attached file."""
    name = export_name(task)
    if event == "export.failed":
        reason = task.error.message if task.error else "the export could not be completed"
        subject = f"Export failed: {name}"
        lines = [
            f"Your export could not be completed: {name}.",
            "",
            f"Task: {task.task_uuid}",
            f"Reason: {reason}",
            "",
            "No file was kept; you can submit the export again.",
        ]
        body = (
            f"<p>Your export could not be completed: <strong>{html.escape(name)}</strong>.</p>"
            f"<p>Task: <code>{html.escape(task.task_uuid)}</code><br>Reason: {html.escape(reason)}</p>"
            "<p>You can submit the export again.</p>"
        )
        return EmailContent(subject, "\n".join(lines) + "\n", _page(subject, body))

    size = sum(f.bytes for f in task.files)
    subject = f"Your export is ready: {name}"
    lines = [
        f"Your export is ready: {name}.",
        "",
        f"Task: {task.task_uuid}",
        f"Records: {task.progress.records}",
        f"Size: {human_bytes(size)}" + (f" in {len(task.files)} files" if len(task.files) > 1 else ""),
    ]
    if task.destination is not None:
        # The files are the customer's, in their bucket: no link of ours, no expiry of ours.
        places = [place for f in task.files if (place := destination_url(task, f))]
        heading, note = "Written to your bucket:", "Read them with your own credentials."
        items = "".join(f"<li><code>{html.escape(place)}</code></li>" for place in places)
        until = ""
    else:
        places = [link for i in range(len(task.files)) if (link := download_link(task, i))]
        heading = "Download:" if len(places) == 1 else "Download (one link per file):"
        note = "The link needs no API key and works until the file expires; keep it private."
        items = "".join(f'<li><a href="{html.escape(link)}">{html.escape(link)}</a></li>' for link in places)
        lines.append(f"Available until: {_when(task.expires_at)}")
        until = f"<tr><td>Available until</td><td>{html.escape(_when(task.expires_at))}</td></tr>"
    lines.append("")
    if attachment:
        lines += [f"The file is attached ({attachment}). You can also download it here:"]
    else:
        lines += [heading]
    lines += [f"  {place}" for place in places]
    lines += ["", note]
    body = (
        f"<p>Your export is ready: <strong>{html.escape(name)}</strong>.</p>"
        "<table>"
        f"<tr><td>Task</td><td><code>{html.escape(task.task_uuid)}</code></td></tr>"
        f"<tr><td>Records</td><td>{task.progress.records}</td></tr>"
        f"<tr><td>Size</td><td>{html.escape(human_bytes(size))}</td></tr>"
        f"{until}</table>"
        + (f"<p>The file is attached ({html.escape(attachment)}).</p>" if attachment else "")
        + f"<p>{html.escape(heading)}</p><ul>{items}</ul><p>{html.escape(note)}</p>"
    )
    return EmailContent(subject, "\n".join(lines) + "\n", _page(subject, body))


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )
