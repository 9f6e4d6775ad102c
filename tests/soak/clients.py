"""The soak's clients: threads that take work from one queue, submit, poll in the request's
own dialect until the file is there, and check it; or page Constant Contact's synchronous
tracking listing to its end."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from tests.expectations import tracking_rows
from tests.soak.faults import Redeliverer
from tests.soak.http import Timings, call
from tests.soak.tenants import SoakTenant
from tests.soak.workload import Variant

POLL_EVERY_S = 0.5


@dataclass
class Job:
    number: int
    tenant: SoakTenant
    variant: Variant
    hook_path: str
    task_uuid: str = ""
    submitted_at: float = 0.0
    file_after: float | None = None  # seconds from the submit's answer to the file
    problem: str | None = None


@dataclass
class Paging:
    """A Constant Contact tracking listing, paged to its end and compared with the data."""

    tenant: SoakTenant
    activity: str  # opens or clicks
    pages: int = 0
    problem: str | None = None


@dataclass
class Clients:
    api: str
    hook_url: Callable[[str], str]  # the receiver's URL of a path
    redeliverer: Redeliverer
    deadline: float  # time.monotonic() by which every job must have its file
    timings: Timings = field(default_factory=Timings)
    work: queue.Queue[Job | Paging] = field(default_factory=queue.Queue)

    def run(self, count: int) -> None:
        threads = [threading.Thread(target=self._client, name=f"client-{i}") for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _client(self) -> None:
        session = requests.Session()
        while True:
            try:
                item = self.work.get_nowait()
            except queue.Empty:
                return
            try:
                if isinstance(item, Job):
                    self._export(item, session)
                else:
                    self._page(item, session)
            except (AssertionError, requests.RequestException, ValueError, KeyError) as error:
                item.problem = f"{error}"
                if isinstance(item, Job) and item.task_uuid and item.task_uuid not in item.problem:
                    # Named, so the report can show what the stack stored for it (diagnosis.py).
                    item.problem = f"{item.variant.name} {item.task_uuid}: {error}"

    def _export(self, job: Job, session: requests.Session) -> None:
        url = self.hook_url(job.hook_path)
        job.task_uuid, shown = job.variant.submit(self.api, job.tenant, url, session, self.timings)
        job.submitted_at = time.monotonic()
        self.redeliverer.submitted(job.task_uuid)
        while time.monotonic() < self.deadline:
            content = job.variant.poll(self.api, job.tenant, shown, session, self.timings)
            if content is not None:
                job.file_after = time.monotonic() - job.submitted_at
                job.problem = job.variant.mismatch(job.tenant, content)
                self.redeliverer.finished(job.task_uuid)
                return
            time.sleep(POLL_EVERY_S)
        job.problem = f"{job.variant.name}: no file before the deadline (task {job.task_uuid})"

    def _page(self, paging: Paging, session: requests.Session) -> None:
        tenant = paging.tenant
        prefix = (
            f"/constantcontact/v2/emailmarketing/campaigns/{tenant.campaign_id}/tracking/{paging.activity}"
        )
        url = f"{self.api}{prefix}?api_key={tenant.api_key}&limit=7"
        rows: list[dict[str, object]] = []
        while True:
            answer = call(session, self.timings, "page", "GET", url, headers={"Accept": "application/json"})
            assert answer.status_code == 200, f"constant contact page {answer.status_code}: {answer.text}"
            paging.pages += 1
            page = answer.json()
            rows += page["results"]
            link = page["meta"]["pagination"].get("next_link")
            if link is None:
                break
            url = f"{self.api}/constantcontact{link}&api_key={tenant.api_key}"
        if rows != tracking_rows(tenant.lines, tenant.campaign_id, paging.activity, None):
            paging.problem = f"constant contact {paging.activity} (tenant {tenant.index}): rows differ"
