"""The soak's tenants: created with the tenant service, each loaded with generated data of
its own seed, as the local stack's demo tenant is made (dev/mailexports_dev/local/demo.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.expectations import Lines, busiest_address

FIRST_SEED = 101


@dataclass(frozen=True)
class SoakTenant:
    index: int
    tenant_id: str
    username: str
    api_key: str
    webhook_secret: str
    lines: Lines  # the tenant's NDJSON import, from which every expected file is computed
    stat_id: str
    campaign_id: str
    segments: list[str]
    email: str  # an address with messages, opens and clicks
    field_ids: list[str]

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def create_tenants(count: int, contacts: int, directory: Path) -> list[SoakTenant]:
    """`count` tenants with `contacts` contacts each; call inside `aws_env.pointed_at`."""
    from mailexports.tenants.service import create_tenant
    from mailexports_cli.load import load_file
    from mailexports_dev.generate import GenerateOptions, write_dataset

    directory.mkdir(parents=True, exist_ok=True)
    tenants = []
    for index in range(count):
        created = create_tenant(f"Soak {index}", f"soak{index}@example.com")
        path = directory / f"tenant-{index}.ndjson"
        with path.open("w", encoding="utf-8") as out:
            write_dataset(GenerateOptions(contacts=contacts, seed=FIRST_SEED + index), out)
        load_file(path, created.tenant_id, progress=False)
        lines = Lines([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])
        send = lines.of("send")[0]
        tenants.append(
            SoakTenant(
                index=index,
                tenant_id=created.tenant_id,
                username=created.username,
                api_key=created.api_key,
                webhook_secret=created.webhook_secret,
                lines=lines,
                stat_id=send["stat_id"],
                campaign_id=send["campaign_id"],
                segments=sorted({s for c in lines.of("contact") for s in c.get("segments", [])})[:2],
                email=busiest_address(lines),
                field_ids=[f["field_id"] for f in lines.of("field")][:2],
            )
        )
    return tenants
