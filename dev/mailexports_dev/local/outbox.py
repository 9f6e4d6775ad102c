"""Emails sent through the embedded moto's SES, made readable: printed and kept as files.

moto keeps every sent message in its SES backend (SESv2 `SendEmail` lands there too);
the server runs in this process, so the watcher reads that list directly. Each new
message becomes `<n>-<message id>.eml` (the MIME message) and `.json` (from, to,
subject, text) in the outbox folder; the `.json` is written last, so a reader that
sees it also finds the `.eml`.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any

DEFAULT_OUTBOX = Path.home() / ".mailexports" / "outbox"


@dataclass
class OutboxMessage:
    message_id: str
    sender: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str | None = None
    received_at: str = ""
    eml: str = ""  # file name of the MIME message next to the .json


def sent_messages() -> Iterator[Any]:
    """Every message moto's SES backends hold, all accounts and regions."""
    from moto.ses.models import ses_backends

    for regions in list(ses_backends.values()):
        for backend in list(regions.values()):
            yield from list(backend.sent_messages)


def to_outbox_message(sent: Any) -> tuple[OutboxMessage, bytes]:
    """moto's Message / RawMessage / TemplateMessage -> the summary and the .eml bytes."""
    now = datetime.now(UTC)
    if hasattr(sent, "raw_data"):
        parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        summary = OutboxMessage(
            message_id=sent.id,
            sender=str(parsed.get("From") or sent.source or ""),
            to=[addr for _, addr in getaddresses([str(v) for v in parsed.get_all("To", [])])]
            or list(sent.destinations),
            cc=[addr for _, addr in getaddresses([str(v) for v in parsed.get_all("Cc", [])])],
            subject=str(parsed.get("Subject") or ""),
            text=_part_text(parsed, "plain"),
            html=_part_text(parsed, "html") or None,
        )
        raw = sent.raw_data.encode("utf-8")
    else:
        destinations = sent.destinations if isinstance(sent.destinations, dict) else {}
        body = getattr(sent, "body", None)
        if body is None:  # a templated message: moto keeps the template name and data only
            body = f"template {sent.template}: {sent.template_data}"
        is_html = "<html" in body.lower() or "</" in body
        summary = OutboxMessage(
            message_id=sent.id,
            sender=sent.source,
            to=list(destinations.get("ToAddresses", [])),
            cc=list(destinations.get("CcAddresses", [])),
            bcc=list(destinations.get("BccAddresses", [])),
            subject=getattr(sent, "subject", ""),
            text="" if is_html else body,
            html=body if is_html else None,
        )
        raw = _as_mime(summary, now)
    summary.received_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return summary, raw


def _part_text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


def _as_mime(summary: OutboxMessage, now: datetime) -> bytes:
    message = EmailMessage()
    message["From"] = summary.sender
    if summary.to:
        message["To"] = ", ".join(summary.to)
    if summary.cc:
        message["Cc"] = ", ".join(summary.cc)
    message["Subject"] = summary.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{summary.message_id}@local.mailexports>"
    if summary.html is not None:
        message.set_content(summary.html, subtype="html")
    else:
        message.set_content(summary.text)
    return message.as_bytes(policy=email.policy.SMTP)


class Outbox:
    """Watches moto's SES for new messages from a daemon thread; `collect()` runs one check (tests)."""

    def __init__(self, directory: Path = DEFAULT_OUTBOX, interval: float = 0.5, echo: bool = True) -> None:
        self.directory = directory
        self.interval = interval
        self.echo = echo
        self._seen: set[str] = set()
        self._count = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def collect(self) -> list[Path]:
        """Write every message not seen yet; returns the .json files written."""
        written = []
        with self._lock:
            for sent in sent_messages():
                if sent.id in self._seen:
                    continue
                self._seen.add(sent.id)
                self._count += 1
                written.append(self._save(*to_outbox_message(sent)))
        return written

    def _save(self, message: OutboxMessage, raw: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{self._count:04d}-{_safe(message.message_id)}"
        message.eml = f"{stem}.eml"
        _write_atomically(self.directory / message.eml, raw)
        json_path = self.directory / f"{stem}.json"
        _write_atomically(json_path, json.dumps(asdict(message), indent=2).encode())
        if self.echo:
            lines = (message.text or message.html or "").strip().splitlines()[:4]
            print(
                f"[outbox] {message.sender} -> {', '.join(message.to + message.cc + message.bcc)}: "
                f"{message.subject!r}",
                *(f"    {line}" for line in lines),
                f"    saved {self.directory / message.eml}",
                sep="\n",
                flush=True,
            )
        return json_path

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)  # there to look at before the first email
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.collect()  # what was sent during the last interval

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.collect()
            except Exception as error:  # never let one odd message stop the watcher
                print(f"[outbox] could not save a message: {error!r}", file=sys.stderr, flush=True)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
