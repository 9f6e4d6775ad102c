"""Copernica's webhook body: a `report` web address receives the JSON data itself, the
file byte for byte (which is also what `GET .../datarequest/{id}` answers, copernica.py)."""

from __future__ import annotations

import gzip
from typing import Any

from mailexports import aws
from mailexports.config import get_settings
from mailexports.dialects.dialect import DialectWebhook
from mailexports.dialects.names import COPERNICA
from mailexports.exports.task import ExportTask


def info(email: str) -> dict[str, str]:
    """The `info` of a data request's document: whose data it is."""
    return {"type": "email", "id": email}


def file_text(task: ExportTask, max_bytes: int | None = None) -> str | None:
    """The JSON file as text (None when it is larger than `max_bytes`)."""
    file = task.files[0]
    if max_bytes is not None and file.bytes > max_bytes:
        return None
    body = aws.s3().get_object(Bucket=get_settings().exports_bucket, Key=file.key)["Body"].read()
    data: bytes = gzip.decompress(body) if task.compression == "gzip" else body
    return data.decode()


def copernica_payload(task: ExportTask, event: str) -> dict[str, Any] | str:
    """A report URL receives the JSON data itself: the file, byte for byte."""
    if event == "export.completed" and task.files:
        text = file_text(task)
        assert text is not None
        return text
    reason = task.error.message if task.error else "the data could not be collected"
    return {"info": info(task.params.get("email", "")), "data": "Data not available", "error": reason}


WEBHOOK = DialectWebhook(name=COPERNICA, payload=copernica_payload)
