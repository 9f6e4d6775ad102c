"""What the soak asserts once its clients are done, each check returning its problems."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import requests
from standardwebhooks import Webhook

from mailexports.notify.signing import webhook_id_for
from tests.soak.clients import Job
from tests.soak.receiver import FlakyReceiver
from tests.soak.tenants import SoakTenant


def final_states(api: str, jobs: list[Job]) -> list[str]:
    """Every task `completed`, with exactly one file."""
    problems = []
    for job in jobs:
        if not job.task_uuid:
            continue
        answer = requests.get(f"{api}/v1/exports/{job.task_uuid}", headers=job.tenant.bearer, timeout=30)
        task = answer.json()
        if answer.status_code != 200 or task.get("status") != "completed":
            problems.append(f"{job.variant.name} {job.task_uuid}: ended {answer.status_code} {task}")
        elif len(task.get("files", [])) != 1:
            problems.append(f"{job.variant.name} {job.task_uuid}: {len(task['files'])} files: {task}")
    return problems


def tenant_isolation(api: str, jobs: list[Job], tenants: list[SoakTenant]) -> list[str]:
    """Each task asked for with the next tenant's key is 404, as if it did not exist."""
    problems = []
    for job in jobs:
        if not job.task_uuid:
            continue
        other = tenants[(job.tenant.index + 1) % len(tenants)]
        answer = requests.get(f"{api}/v1/exports/{job.task_uuid}", headers=other.bearer, timeout=30)
        if answer.status_code != 404:
            problems.append(
                f"tenant {other.index} sees tenant {job.tenant.index}'s task: {answer.status_code}"
            )
    return problems


def stored_files(s3: Any, bucket: str, jobs: list[Job]) -> list[str]:
    """One object per task in the exports bucket (no duplicate file), no upload left open."""
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
    ]
    per_task = Counter(
        next((j.task_uuid for j in jobs if j.task_uuid and j.task_uuid in k), "") for k in keys
    )
    problems = [f"task {t}: {n} objects in the bucket" for t, n in per_task.items() if t and n != 1]
    problems += [
        f"task {j.task_uuid}: no object in the bucket"
        for j in jobs
        if j.task_uuid and j.task_uuid not in per_task
    ]
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    problems += [f"multipart upload left open: {u['Key']}" for u in uploads]
    return problems


def notifications(receiver: FlakyReceiver, jobs: list[Job]) -> list[str]:
    """Exactly one accepted delivery per task, under the task's own webhook-id, correctly signed;
    deliveries refused during the outage came again under the same id."""
    problems = []
    hits = receiver.snapshot()
    for job in jobs:
        if not job.task_uuid:
            continue
        mine = [h for h in hits if h.path == job.hook_path]
        accepted = [h for h in mine if h.status < 300]
        want_id = webhook_id_for(job.task_uuid, "export.completed")
        if len(accepted) != 1:
            problems.append(f"{job.variant.name} {job.task_uuid}: {len(accepted)} accepted notifications")
        if any(h.webhook_id != want_id for h in mine):
            problems.append(f"{job.task_uuid}: a notification under another webhook-id")
        for hit in accepted:
            try:
                Webhook(job.tenant.webhook_secret).verify(hit.body, hit.headers)
            except Exception as error:
                problems.append(f"{job.task_uuid}: signature does not verify ({error})")
            if job.task_uuid not in json.dumps(json.loads(hit.body)) and job.variant.dialect != "copernica":
                problems.append(f"{job.task_uuid}: the notification does not name its task")
    return problems


def duplicate_ids(receiver: FlakyReceiver) -> int:
    """Accepted deliveries that repeat a webhook-id already accepted (must be 0)."""
    counts = Counter(h.webhook_id for h in receiver.snapshot() if h.status < 300)
    return sum(n - 1 for n in counts.values())
