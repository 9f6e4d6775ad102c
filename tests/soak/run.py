"""The soak itself: tenants, clients and faults against a running local stack, then the checks
and the figures. `run_soak` returns a report; `SoakReport.problems` empty means green."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.conftest import RunningStack
from tests.soak import checks, diagnosis
from tests.soak.aws_env import client, pointed_at
from tests.soak.clients import Clients, Job, Paging
from tests.soak.faults import Redeliverer, WatchdogClock, WorkerKiller
from tests.soak.receiver import FlakyReceiver
from tests.soak.stalled import create_notes_tenant, run_stalled_phase, stalled_figures, stalled_problems
from tests.soak.tenants import create_tenants
from tests.soak.workload import every_variant

# What the stack needs so faults heal within a run: failed SQS messages retried after 3 s
# instead of ExportQueue's 90 minutes, and webhook retries starting at 1 s instead of 30 s
# (both existing settings; production values are unchanged).
STACK_ARGS = ("--no-demo", "--visibility-timeout-override", "3")
# Parts of S3's smallest size (the settings' floor), so the stalled phase needs less data to
# have a multipart upload open.
STACK_ENV = {
    "NOTIFY_RETRY_BASE_SECONDS": "1",
    "NOTIFY_RETRY_MAX_DELAY_SECONDS": "60",
    "EXPORT_PART_BYTES": str(5 * 1024 * 1024),
}


@dataclass(frozen=True)
class SoakOptions:
    clients: int = 20
    tenants: int = 5
    exports: int = 200
    pagings: int = 20  # Constant Contact listings paged to their end, between the exports
    contacts: int = 40
    kills: int = 3
    first_kill_after: float = 4.0
    kill_every: float = 8.0
    outage_seconds: float = 15.0  # the webhook receiver answers 503 this long from its first delivery
    stale_seconds: int = 30  # the watchdog's heartbeat limit (production: 300)
    sweep_every: float = 3.0
    deadline_seconds: float = 420.0
    # The stalled phase: a tenant whose segment export is about contacts * note_bytes bytes,
    # ~24 MB over 5 MiB parts: killed once both have a part uploaded, with most still to come
    # (a worker writes ~8 MB/s here, so a smaller export may end before the slower one has one).
    stalled_contacts: int = 800
    stalled_note_bytes: int = 30_000


# Tasks whose stored items and log lines a failing report prints (each is a screenful).
DIAGNOSED_TASKS = 5


@dataclass
class SoakReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)  # what the stack stored for tasks found wrong

    def say(self, text: str) -> None:
        self.lines.append(text)
        print(f"[soak] {text}", flush=True)

    def text(self) -> str:
        return "\n".join(
            self.lines + [f"PROBLEM: {p}" for p in self.problems[:40]] + self.diagnoses[:DIAGNOSED_TASKS]
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else float("nan")


def spread(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5) * 1000:.0f} ms, p99 {percentile(values, 0.99) * 1000:.0f} ms, "
        f"max {max(values, default=0) * 1000:.0f} ms (n={len(values)})"
    )


def run_soak(stack: RunningStack, options: SoakOptions, workdir: Path) -> SoakReport:
    report = SoakReport()
    env = stack.env
    with pointed_at(env, HEARTBEAT_STALE_SECONDS=str(options.stale_seconds)):
        began = time.monotonic()
        tenants = create_tenants(options.tenants, options.contacts, workdir / "data")
        notes_tenant = create_notes_tenant(
            options.stalled_contacts, options.stalled_note_bytes, workdir / "data"
        )
        report.say(
            f"{len(tenants)} tenants, {options.contacts} contacts each, and one of "
            f"{options.stalled_contacts} contacts with {options.stalled_note_bytes} bytes of notes each, "
            f"loaded in {time.monotonic() - began:.1f} s"
        )
        with FlakyReceiver(options.outage_seconds) as receiver:
            redeliverer = Redeliverer(env)
            killer = WorkerKiller(
                stack.log_file, env, options.kills, options.first_kill_after, options.kill_every
            )
            watchdog = WatchdogClock(options.sweep_every)
            variants = every_variant()
            jobs = [
                Job(n, tenants[n % len(tenants)], variants[n % len(variants)], f"/hooks/{n}")
                for n in range(options.exports)
            ]
            pagings = [
                Paging(tenants[n % len(tenants)], ("opens", "clicks")[n % 2]) for n in range(options.pagings)
            ]
            began = time.monotonic()
            clients = Clients(stack.api_url, receiver.url, redeliverer, began + options.deadline_seconds)
            every = max(1, len(jobs) // max(1, len(pagings)))
            for n, job in enumerate(jobs):
                clients.work.put(job)
                if n % every == every - 1 and pagings:
                    clients.work.put(pagings.pop())
            for paging in pagings:
                clients.work.put(paging)
            all_pagings = [p for p in list(clients.work.queue) if isinstance(p, Paging)]
            for fault in (redeliverer, killer, watchdog):
                fault.start()
            clients.run(options.clients)
            files_done = time.monotonic() - began
            killer.stop()
            # Every task has ended: from here the stalled phase's watchdog is the only one.
            watchdog.stop()
            s3 = client(env, "s3")
            bucket = env["EXPORTS_BUCKET"]
            stalled = run_stalled_phase(
                stack.api_url,
                notes_tenant,
                receiver,
                killer,
                s3,
                bucket,
                options.stale_seconds,
                options.sweep_every,
            )
            _wait_for_notifications(receiver, jobs, time.monotonic() + 60)
            redeliverer.stop()
            _figures(
                report,
                options,
                jobs,
                all_pagings,
                clients,
                receiver,
                redeliverer,
                killer,
                watchdog,
                files_done,
            )
            report.say(stalled_figures(stalled, notes_tenant))
            report.problems += [j.problem for j in jobs if j.problem] + [
                p.problem for p in all_pagings if p.problem
            ]
            report.problems += checks.final_states(stack.api_url, jobs)
            report.problems += checks.tenant_isolation(stack.api_url, jobs, tenants)
            report.problems += checks.stored_files(s3, bucket, jobs)
            report.problems += checks.notifications(receiver, jobs)
            report.problems += _fault_problems(options, stack, receiver, killer, watchdog)
            report.problems += stalled_problems(stalled, stack.api_url, notes_tenant, receiver, s3, bucket)
            report.diagnoses += _diagnoses(report.problems, jobs, stack, killer, watchdog)
    report.say(f"problems: {len(report.problems)}")
    return report


def _diagnoses(
    problems: list[str], jobs: list[Job], stack: RunningStack, killer: WorkerKiller, watchdog: WatchdogClock
) -> list[str]:
    """For each task a problem names, what the stack stored for it and what befell it."""
    named = [j.task_uuid for j in jobs if j.task_uuid and any(j.task_uuid in p for p in problems)]
    dynamodb = client(stack.env, "dynamodb")
    found = []
    for task_uuid in named[:DIAGNOSED_TASKS]:
        faults = [
            f"its worker was killed ({len(k.pids)} environments)"
            for k in killer.kills
            if task_uuid in k.tasks
        ]
        if redrives := watchdog.redriven.count(task_uuid):
            faults.append(f"re-driven by the watchdog {redrives} time(s)")
        found.append(
            diagnosis.describe(task_uuid, dynamodb, stack.env["TASKS_TABLE"], stack.log_file, faults)
        )
    return found


def _wait_for_notifications(receiver: FlakyReceiver, jobs: list[Job], deadline: float) -> None:
    waiting = [j for j in jobs if j.task_uuid and not j.problem]
    while waiting and time.monotonic() < deadline:
        waiting = [j for j in waiting if not receiver.delivered(j.hook_path)]
        time.sleep(0.5)


def _figures(
    report: SoakReport,
    options: SoakOptions,
    jobs: list[Job],
    pagings: list[Paging],
    clients: Clients,
    receiver: FlakyReceiver,
    redeliverer: Redeliverer,
    killer: WorkerKiller,
    watchdog: WatchdogClock,
    files_done: float,
) -> None:
    timings = clients.timings.seconds
    done = [j for j in jobs if j.file_after is not None and not j.problem]
    hits = receiver.snapshot()
    paths = {j.hook_path for j in jobs}  # not the stalled phase's
    report.say(
        f"{options.clients} clients, {len(jobs)} exports ({len({j.variant.name for j in jobs})} kinds), "
        f"{len(pagings)} Constant Contact listings ({sum(p.pages for p in pagings)} pages): "
        f"all files in {files_done:.1f} s; {len(done)} files as expected"
    )
    report.say(f"submit latency   {spread(timings['submit'])}")
    report.say(f"status latency   {spread(timings['status'])}")
    report.say(f"page latency     {spread(timings['page'])}")
    report.say(f"submit to file   {spread([j.file_after for j in done if j.file_after is not None])}")
    report.say(f"429 answers waited out: {dict(clients.timings.throttled) or 'none'}")
    report.say(
        f"faults: {redeliverer.sent['export']} duplicate ExportQueue and {redeliverer.sent['notify']} "
        f"duplicate NotifyQueue messages; workers killed {len(killer.kills)} time(s) while "
        f"{sum(len(k.tasks) for k in killer.kills)} export(s) ran, which the watchdog re-drove: "
        f"{len({t for k in killer.kills for t in k.tasks} & set(watchdog.redriven))}; webhook receiver answered "
        f"{sum(h.status >= 500 for h in hits)} x 503 during a {options.outage_seconds:.0f} s outage"
    )
    report.say(
        f"notifications: {sum(h.status < 300 and h.path in paths for h in hits)} accepted for {len(jobs)} tasks, "
        f"{checks.duplicate_ids(receiver)} duplicate webhook-ids"
    )


def _fault_problems(
    options: SoakOptions,
    stack: RunningStack,
    receiver: FlakyReceiver,
    killer: WorkerKiller,
    watchdog: WatchdogClock,
) -> list[str]:
    """The faults really happened, and the stack came back from each."""
    problems = []
    if len(killer.kills) < options.kills:
        problems.append(f"only {len(killer.kills)} of {options.kills} workers were killed (none busy?)")
    killed = sum(len(kill.pids) for kill in killer.kills)
    if killer.kills and len(killer.worker_pids()) <= killed:
        problems.append("no WorkerFunction environment was started after the kills")
    if not any(h.status >= 500 for h in receiver.snapshot()):
        problems.append("the webhook outage refused no delivery (it came too late or too early)")
    problems += [f"watchdog sweep failed: {e}" for e in watchdog.errors]
    problems += [f"watchdog failed task {t}" for t in watchdog.failed]
    return problems
