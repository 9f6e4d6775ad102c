"""`--destination s3://bucket/prefix --role-arn ARN` into the submit body's `destination`.

Only the shape is checked here (both flags or neither, an `s3://` URL with a bucket);
the API validates names and probes the bucket, and its 4xx names the field at fault.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from mailexports_cli.client.errors import UsageError


def parse_destination(url: str | None, role_arn: str | None) -> dict[str, Any] | None:
    if url is None and role_arn is None:
        return None
    if url is None or role_arn is None:
        raise UsageError(
            "--destination and --role-arn go together: the bucket, and the role that may write it"
        )
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"--destination must look like s3://bucket/prefix, not {url!r}")
    return {"type": "s3", "bucket": parts.netloc, "prefix": parts.path.lstrip("/"), "role_arn": role_arn}


def in_customer_bucket(task: dict[str, Any]) -> list[str]:
    """The `s3://` locations of a task's files when it wrote them to the customer's bucket."""
    if not task.get("destination"):
        return []
    return [str(f["url"]) for f in task.get("files") or [] if f.get("url")]
