"""What a worker saves on the task so that any later invocation can carry on.

A checkpoint is only ever taken where everything before it is durable: after a
part upload (which always ends on a whole record) or after the pending bytes
were saved to S3. Resuming from it reproduces the uninterrupted run byte for byte.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class UploadedPart(BaseModel):
    number: int
    etag: str


class FileCheckpoint(BaseModel):
    """The file being written: its multipart upload and the framing state."""

    number: int  # 1-based position among the task's files
    key: str
    upload_id: str | None = None
    parts: list[UploadedPart] = Field(default_factory=list)
    records: int = 0
    raw_bytes: int = 0  # bytes before compression, headers and separators included
    stored_bytes: int = 0  # bytes uploaded so far
    crc32: int = 0  # of the raw bytes, for the gzip trailer
    last_group: int | None = None  # contact_data: the inner array the last record went to
    pending_key: str | None = None  # raw bytes not yet in a part, saved when yielding on time
    hashed_from_start: bool = True  # False once resumed: the SHA-256 is then read back from S3


class Checkpoint(BaseModel):
    cursor: str | None = None  # the exporter's position after the last record written
    current: FileCheckpoint | None = None
    records: int = 0  # across all files
    # CSV of segment_contacts with `custom_fields: "all"`: the tenant's field names as read
    # when the export began, so every file and every resumed invocation has the same columns.
    csv_field_names: list[str] | None = None
