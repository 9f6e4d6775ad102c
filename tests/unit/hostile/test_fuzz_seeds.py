"""Requests the OpenAPI fuzzer (make fuzz) found answered wrongly, kept as regression tests."""

from __future__ import annotations

from types import ModuleType

import pytest
from tests.unit.dialects.support import call, queued_exports, stored_tasks
from tests.unit.hostile.support import ROUTES, error_message

from mailexports.config import Settings
from mailexports.marketing.reader import MarketingReader
from mailexports.tenants.models import CreatedTenant

V1 = next(route for route in ROUTES if route.name == "v1")


def test_a_segment_id_repeated_100_times_is_probed_once(
    handlers: dict[str, ModuleType],
    aws_stack: Settings,
    tenant: CreatedTenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seed 57523465401912741402214446891944274949: `segment_ids: ["0" x 100]` probed every
    shard once per repetition and took over 10 s on the local stack."""
    probed: list[str] = []
    real = MarketingReader.segment_exists

    def counting(self: MarketingReader, segment_id: str) -> bool:
        probed.append(segment_id)
        return real(self, segment_id)

    monkeypatch.setattr(MarketingReader, "segment_exists", counting)
    body = b'{"type": "segment_contacts", "params": {"segment_ids": [' + b",".join([b'"0"'] * 100) + b"]}}"
    answer = call(handlers, "submit", V1.event(tenant.api_key, body))
    assert answer.status == 422, answer.raw
    assert "no segment 0" in error_message("canonical", answer)
    assert probed == ["0"]
    assert stored_tasks(aws_stack) == queued_exports(aws_stack) == 0
