"""Emails sent through (in-process) moto SES end up printed and saved in the outbox folder."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import boto3
import pytest

from mailexports.config import Settings
from mailexports_dev.local.outbox import Outbox


def test_simple_sesv2_email_is_saved_as_json_and_eml(
    aws_stack: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("sesv2").send_email(
        FromEmailAddress=aws_stack.sender_email,
        Destination={"ToAddresses": ["ann@example.com"], "CcAddresses": ["bob@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "Your export is ready"},
                "Body": {"Text": {"Data": "Download it here:\nhttp://127.0.0.1:3000/v1/downloads/tok"}},
            }
        },
    )
    outbox = Outbox(tmp_path, echo=True)
    (written,) = outbox.collect()
    saved = json.loads(written.read_text())
    assert saved["sender"] == aws_stack.sender_email
    assert saved["to"] == ["ann@example.com"]
    assert saved["cc"] == ["bob@example.com"]
    assert saved["subject"] == "Your export is ready"
    assert "/v1/downloads/tok" in saved["text"]
    mime = email.message_from_bytes((tmp_path / saved["eml"]).read_bytes(), policy=email.policy.default)
    assert mime["Subject"] == "Your export is ready"
    assert mime["To"] == "ann@example.com"
    printed = capsys.readouterr().out
    assert "Your export is ready" in printed
    assert "Download it here:" in printed
    assert outbox.collect() == []  # each message once


def test_raw_email_keeps_its_mime_and_text_part(aws_stack: Settings, tmp_path: Path) -> None:
    raw = (
        f"From: {aws_stack.sender_email}\r\nTo: carol@example.com\r\nSubject: Raw one\r\n"
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nHello from raw\r\n'
    )
    boto3.client("sesv2").send_email(
        FromEmailAddress=aws_stack.sender_email,
        Destination={"ToAddresses": ["carol@example.com"]},
        Content={"Raw": {"Data": raw.encode()}},
    )
    (written,) = Outbox(tmp_path, echo=False).collect()
    saved = json.loads(written.read_text())
    assert saved["subject"] == "Raw one"
    assert saved["to"] == ["carol@example.com"]
    assert saved["text"].strip() == "Hello from raw"
    assert (tmp_path / saved["eml"]).read_bytes() == raw.encode()
