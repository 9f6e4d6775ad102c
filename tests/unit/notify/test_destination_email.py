"""The email for an export written to the customer's bucket names where the files are,
and promises no link of ours (there is none: the file is theirs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailexports.exports.requests import ExportType, S3Destination
from mailexports.exports.task import ExportFile, ExportTask, Progress, TaskStatus
from mailexports.notify.payloads import email_content

DESTINATION = S3Destination(
    type="s3",
    bucket="acme-warehouse-landing",
    prefix="mailexports/",
    role_arn="arn:aws:iam::111122223333:role/mailexports-destination-acme",
)


def _task(destination: S3Destination | None) -> ExportTask:
    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    return ExportTask(
        task_uuid="3f0c6a2e-0000-4000-8000-000000000001",
        tenant_id="t-1",
        task_type=ExportType.CAMPAIGN_ACTIVITY,
        params={"stat_id": "981"},
        status=TaskStatus.COMPLETED,
        created_at=moment,
        completed_at=moment,
        expires_at=moment + timedelta(days=7),
        progress=Progress(records=3, bytes=120),
        files=[ExportFile(key="mailexports/3f0c/export-0001.json", bytes=120, records=3, sha256="ab" * 32)],
        destination=destination,
    )


def test_a_destination_email_names_the_bucket_and_no_link() -> None:
    content = email_content(_task(DESTINATION), "export.completed")
    assert "s3://acme-warehouse-landing/mailexports/3f0c/export-0001.json" in content.text
    assert "s3://acme-warehouse-landing/mailexports/3f0c/export-0001.json" in content.html
    assert "Download" not in content.text
    assert "API key" not in content.text
    assert "Available until" not in content.text


def test_an_email_for_our_bucket_still_links_the_download(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        "mailexports.notify.payloads.download_link", lambda task, i: "https://x.test/v1/downloads/t"
    )
    content = email_content(_task(None), "export.completed")
    assert "Download:\n  https://x.test/v1/downloads/t" in content.text
    assert "Available until: 2025-03-08 12:00 UTC" in content.text
    assert '<a href="https://x.test/v1/downloads/t">' in content.html
