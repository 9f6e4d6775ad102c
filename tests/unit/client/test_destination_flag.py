"""`mailexports export ... --destination s3://bucket/prefix --role-arn ARN` against the real handlers."""

from __future__ import annotations

import pytest
from moto.sts.models import STSBackend
from tests.customer_account import CustomerAccount, customer_account, sha256
from tests.unit.client.conftest import STAT_ID, LocalApiServer
from tests.unit.client.test_commands import Capture, one_error_line, show

from mailexports.tenants.models import CreatedTenant
from mailexports_cli.client import commands
from mailexports_cli.main import main
from mailexports_dev.local.role_trust import enforced_assume_role

BUCKET = "acme-landing"


@pytest.fixture
def customer(api_server: LocalApiServer, monkeypatch: pytest.MonkeyPatch) -> CustomerAccount:
    monkeypatch.setattr(STSBackend, "assume_role", enforced_assume_role())
    account = customer_account()
    account.bucket(BUCKET)
    return account


def export(*args: str) -> int:
    return main(["export", "campaign_activity", "--param", f"stat_id={STAT_ID}", *args])


def test_wait_prints_where_the_file_landed_and_download_says_it_is_in_your_bucket(
    api_server: LocalApiServer,
    customer: CustomerAccount,
    tenant: CreatedTenant,
    capsys: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role = customer.role("mailexports-destination-acme", tenant.tenant_id)
    monkeypatch.setattr(commands, "poll_sleep", lambda seconds: api_server.run_worker())
    assert export("--destination", f"s3://{BUCKET}/warehouse/in", "--role-arn", role, "--wait") == 0
    out, err = capsys.readouterr()
    task_uuid = out.strip()
    location = f"s3://{BUCKET}/warehouse/in/{task_uuid}/export-0001.json"
    assert location in err.splitlines()

    task = show(capsys, task_uuid)
    stored = customer.objects(BUCKET)[location.removeprefix(f"s3://{BUCKET}/")]
    assert task["files"][0]["sha256"] == sha256(stored)

    assert main(["exports", "download", task_uuid]) == 2
    assert location in one_error_line(capsys)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--destination", f"s3://{BUCKET}/x"], "--role-arn"),
        (["--role-arn", "arn:aws:iam::111122223333:role/mailexports-destination-a"], "--destination"),
        (
            ["--destination", "https://example.com/x", "--role-arn", "arn:aws:iam::1:role/a"],
            "s3://bucket/prefix",
        ),
    ],
)
def test_incomplete_or_malformed_flags_are_usage_errors(
    api_server: LocalApiServer, capsys: Capture, args: list[str], words: str
) -> None:
    assert export(*args) == 2
    assert words in one_error_line(capsys)


def test_a_role_that_cannot_be_assumed_is_refused_naming_the_field(
    api_server: LocalApiServer, customer: CustomerAccount, capsys: Capture
) -> None:
    role = customer.role("mailexports-destination-other", "another-tenant")
    assert export("--destination", f"s3://{BUCKET}/", "--role-arn", role) == 2
    assert "destination.role_arn" in one_error_line(capsys)
    assert customer.objects(BUCKET) == {}
