"""The local stack's demo tenant, loaded with generated demo data.

Its credentials are printed and written to the state file: they exist only in the
embedded moto and vanish with the stack.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEMO_NAME = "Demo"
DEMO_USERNAME = "demo@example.com"
DEMO_SEED = 7  # fixed, so the demo's stat ids, campaigns and segments are the same every run


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    name: str
    username: str
    api_key: str
    webhook_secret: str
    contacts: int
    stat_id: str | None
    campaign_id: str | None
    segment_id: str | None
    load_summary: str

    def as_state(self) -> dict[str, object]:
        return asdict(self)


def create_demo(contacts: int) -> DemoTenant:
    """Create the demo tenant and load `contacts` contacts' worth of generated data into it."""
    from mailexports.tenants.service import create_tenant
    from mailexports_cli.load import load_file
    from mailexports_dev.generate import GenerateOptions, write_dataset

    tenant = create_tenant(DEMO_NAME, DEMO_USERNAME)
    with tempfile.TemporaryDirectory(prefix="mailexports-demo-") as directory:
        path = Path(directory) / "demo.ndjson"
        with path.open("w", encoding="utf-8") as out:
            write_dataset(GenerateOptions(contacts=contacts, seed=DEMO_SEED), out)
        stat_id, campaign_id, segment_id = _sample_ids(path)
        report = load_file(path, tenant.tenant_id, progress=False)
    return DemoTenant(
        tenant_id=tenant.tenant_id,
        name=tenant.name,
        username=tenant.username,
        api_key=tenant.api_key,
        webhook_secret=tenant.webhook_secret,
        contacts=contacts,
        stat_id=stat_id,
        campaign_id=campaign_id,
        segment_id=segment_id,
        load_summary=report.summary(),
    )


def _sample_ids(path: Path) -> tuple[str | None, str | None, str | None]:
    """The first send's stat id and campaign id, and the first segment a contact belongs to."""
    stat_id = campaign_id = segment_id = None
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["kind"] == "contact" and segment_id is None and record.get("segments"):
                segment_id = record["segments"][0]
            elif record["kind"] == "send" and stat_id is None:
                stat_id, campaign_id = record["stat_id"], record["campaign_id"]
            elif record["kind"] in ("message", "event"):
                break  # contacts, campaigns and sends all come first
    return stat_id, campaign_id, segment_id
