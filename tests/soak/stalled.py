"""The soak's last phase: exports the watchdog gives up on.

A tenant whose contacts carry a large `Notes` field submits, one at a time, a few segment
exports big enough to need a multipart upload. As soon as each has checkpointed its first
part, every WorkerFunction environment is SIGKILLed, so the tasks stay `processing` with an
upload open and no heartbeat. A watchdog with `WATCHDOG_MAX_REDRIVES=0` (its own settings; the
soak's re-driving watchdog is stopped by then, and every other task has ended, so this
one may sweep the whole table) then fails them. What must follow, per task: status
`failed` with the watchdog's code, one signed `export.failed` delivery under its own
webhook-id, no object and no open multipart upload left in the exports bucket.
"""

from __future__ import annotations

import json
import os
import random
import signal
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from standardwebhooks import Webhook

from mailexports.config import Settings
from mailexports.exports.task import ExportTask
from mailexports.exports.task_store import DynamoTaskStore
from mailexports.exports.watchdog import Watchdog
from mailexports.notify.signing import webhook_id_for
from tests.soak.faults import WorkerKiller, is_environment
from tests.soak.receiver import FlakyReceiver

STALLED_CODE = "stalled"  # the code the watchdog fails a task with (exports/watchdog.py)
SEGMENT = "seg-notes"
FORMATS = ("json", "csv")


@dataclass(frozen=True)
class NotesTenant:
    tenant_id: str
    api_key: str
    webhook_secret: str
    contacts: int
    note_bytes: int

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def create_notes_tenant(contacts: int, note_bytes: int, directory: Path) -> NotesTenant:
    """A tenant of `contacts` contacts in one segment, each with `note_bytes` of notes (so a
    segment export is `contacts * note_bytes` bytes and more); call inside `aws_env.pointed_at`."""
    from mailexports.tenants.service import create_tenant
    from mailexports_cli.load import load_file

    directory.mkdir(parents=True, exist_ok=True)
    created = create_tenant("Soak stalled", "soak-stalled@example.com")
    letters = random.Random(7)  # filler text: random letters so it is not all one byte
    path = directory / "notes-tenant.ndjson"
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"kind": "field", "field_id": "1", "name": "Notes"}) + "\n")
        for n in range(1, contacts + 1):
            notes = "".join(letters.choices(string.ascii_letters, k=note_bytes))
            contact = {
                "kind": "contact",
                "contact_id": str(n),
                "email": f"notes.{n}@example.com",
                "custom_fields": {"Notes": notes},
                "segments": [SEGMENT],
            }
            out.write(json.dumps(contact) + "\n")
    load_file(path, created.tenant_id, progress=False)
    return NotesTenant(created.tenant_id, created.api_key, created.webhook_secret, contacts, note_bytes)


@dataclass
class StalledExport:
    format: str
    hook_path: str
    task_uuid: str = ""
    parts_at_kill: int = 0
    upload_open_after_kill: bool = False


@dataclass
class StalledPhase:
    exports: list[StalledExport] = field(default_factory=list)
    killed_pids: list[int] = field(default_factory=list)
    kill_after: float = 0.0  # seconds from the first submit to the last kill
    failed_after: float = 0.0  # seconds from the last kill to the sweep that failed them
    swept_failed: list[str] = field(default_factory=list)  # every task that watchdog failed
    sweeps: int = 0
    notified: int = 0  # accepted webhook deliveries for these tasks
    uploads_left: int = 0  # their multipart uploads still open at the end
    problems: list[str] = field(default_factory=list)


def run_stalled_phase(
    api: str,
    tenant: NotesTenant,
    receiver: FlakyReceiver,
    killer: WorkerKiller,
    s3: Any,
    bucket: str,
    stale_seconds: int,
    sweep_every: float,
) -> StalledPhase:
    """Submit, kill mid-upload, let a no-redrive watchdog fail them; call inside `pointed_at`
    with HEARTBEAT_STALE_SECONDS set, once no other task is unfinished."""
    phase = StalledPhase([StalledExport(f, f"/hooks/stalled-{f}") for f in FORMATS])
    store = DynamoTaskStore()
    began = time.monotonic()
    for export in phase.exports:
        body = {
            "type": "segment_contacts",
            "params": {"segment_ids": [SEGMENT], "custom_fields": "all"},
            "format": export.format,
            "notify": {"type": "webhook", "value": receiver.url(export.hook_path)},
        }
        answer = requests.post(f"{api}/v1/exports", headers=tenant.bearer, json=body, timeout=30)
        if answer.status_code != 202:
            phase.problems.append(f"stalled {export.format}: submit answered {answer.status_code}")
            return phase
        export.task_uuid = answer.json()["task_uuid"]
        # One at a time: an export killed as soon as it has a part, before the next starts, so
        # neither can finish first nor be killed before its upload is recorded on the task.
        if not _wait_for_part(phase, export, store, began + 60):
            return phase
        _kill_workers(phase, export, store, killer)
    phase.kill_after = time.monotonic() - began
    killed_at = time.monotonic()
    uuids = [e.task_uuid for e in phase.exports]
    open_keys = {u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    for export in phase.exports:
        export.upload_open_after_kill = any(export.task_uuid in key for key in open_keys)

    # Its own settings object: nothing else in this process sees WATCHDOG_MAX_REDRIVES=0.
    settings = Settings.from_env({**os.environ, "WATCHDOG_MAX_REDRIVES": "0"})
    giving_up = Watchdog(settings=settings)
    deadline = killed_at + stale_seconds + 30
    while not set(uuids) <= set(phase.swept_failed) and time.monotonic() < deadline:
        time.sleep(sweep_every)
        phase.swept_failed += giving_up.sweep().failed
        phase.sweeps += 1
    phase.failed_after = time.monotonic() - killed_at
    _wait_for(lambda: all(receiver.delivered(e.hook_path) for e in phase.exports), time.monotonic() + 30)
    phase.notified = sum(len(receiver.delivered(e.hook_path)) for e in phase.exports)
    left = [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    phase.uploads_left = sum(e.task_uuid in key for e in phase.exports for key in left)
    return phase


def _wait_for_part(phase: StalledPhase, export: StalledExport, store: DynamoTaskStore, until: float) -> bool:
    """Until the export has checkpointed a part (its upload then is open and recorded on the
    task); False, with a problem, if it ended first or no part came."""
    while time.monotonic() < until:
        task = store.load(export.task_uuid)
        if task is not None and task.finished:
            phase.problems.append(
                f"stalled {task.format} {task.task_uuid} ended {task.status.value} {task.error} "
                "before it could be killed"
            )
            return False
        if _parts(task):
            return True
        time.sleep(0.05)
    phase.problems.append(f"stalled {export.format}: no part of a multipart upload was ever checkpointed")
    return False


def _kill_workers(
    phase: StalledPhase, export: StalledExport, store: DynamoTaskStore, killer: WorkerKiller
) -> None:
    """SIGKILL every WorkerFunction environment (so certainly the one running the export)."""
    pids = [pid for pid in killer.worker_pids() if is_environment(pid)]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    phase.killed_pids += pids
    export.parts_at_kill = _parts(store.load(export.task_uuid))
    print(
        f"[soak] stalled phase: killed WorkerFunction environments {pids} running {export.format}", flush=True
    )


def _parts(task: ExportTask | None) -> int:
    current = task.checkpoint.current if task is not None and task.checkpoint else None
    return len(current.parts) if current is not None and current.upload_id else 0


def _wait_for(condition: Any, deadline: float) -> None:
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.25)


def stalled_problems(
    phase: StalledPhase, api: str, tenant: NotesTenant, receiver: FlakyReceiver, s3: Any, bucket: str
) -> list[str]:
    """Each task the watchdog gave up on: failed with its code, told once, nothing left behind."""
    problems = list(phase.problems)
    if problems:
        return problems
    uuids = {e.task_uuid for e in phase.exports}
    if set(phase.swept_failed) != uuids:
        problems.append(f"the no-redrive watchdog failed {sorted(phase.swept_failed)}, not {sorted(uuids)}")
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
    ]
    uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    for export in phase.exports:
        name = f"stalled {export.format} {export.task_uuid}"
        if not export.upload_open_after_kill:
            problems.append(f"{name}: no multipart upload was open after the kill")
        task = requests.get(f"{api}/v1/exports/{export.task_uuid}", headers=tenant.bearer, timeout=30).json()
        if task.get("status") != "failed" or (task.get("error") or {}).get("code") != STALLED_CODE:
            problems.append(
                f"{name}: ended {task.get('status')} {task.get('error')}, not failed/{STALLED_CODE}"
            )
        problems += [f"{name}: object left in the bucket: {k}" for k in keys if export.task_uuid in k]
        problems += [f"{name}: multipart upload left open: {k}" for k in uploads if export.task_uuid in k]
        mine = [h for h in receiver.snapshot() if h.path == export.hook_path]
        accepted = [h for h in mine if h.status < 300]
        want_id = webhook_id_for(export.task_uuid, "export.failed")
        if len({h.webhook_id for h in accepted}) != 1 or len(accepted) != 1:
            problems.append(f"{name}: {len(accepted)} accepted notifications, want one export.failed")
        if any(h.webhook_id != want_id for h in mine):
            problems.append(f"{name}: a delivery not under export.failed's webhook-id")
        for hit in accepted:
            try:
                Webhook(tenant.webhook_secret).verify(hit.body, hit.headers)
            except Exception as error:
                problems.append(f"{name}: signature does not verify ({error})")
            payload = json.loads(hit.body)
            if payload.get("type") != "export.failed" or export.task_uuid not in hit.body.decode():
                problems.append(f"{name}: the notification is not its export.failed: {payload}")
    return problems


def stalled_figures(phase: StalledPhase, tenant: NotesTenant) -> str:
    size = tenant.contacts * tenant.note_bytes / 1024**2
    parts = ", ".join(f"{e.format} after {e.parts_at_kill} part(s)" for e in phase.exports)
    return (
        f"given up: {len(phase.exports)} exports of {size:.0f}+ MiB, each killed mid multipart upload "
        f"({parts}; the last {phase.kill_after:.1f} s after the first submit); a WATCHDOG_MAX_REDRIVES=0 "
        f"watchdog failed them {phase.failed_after:.1f} s after the last kill ({phase.sweeps} sweeps); {phase.notified} notification(s) "
        f"accepted, {phase.uploads_left} of their multipart uploads left open"
    )
