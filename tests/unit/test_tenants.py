"""Tenants: creation, hashed keys, lookups, and the one authenticator."""

from __future__ import annotations

import boto3
import pytest

from mailexports.auth import Authenticator, bearer_or_api_key
from mailexports.config import Settings
from mailexports.errors import Conflict, Unauthorized
from mailexports.tenants.credentials import hash_api_key
from mailexports.tenants.service import create_tenant, issue_api_key
from mailexports.tenants.store import DynamoTenantStore


def test_create_returns_key_and_secret_once_and_stores_only_the_hash(aws_stack: Settings) -> None:
    created = create_tenant("acme", "ops@acme.example")
    assert created.webhook_secret.startswith("whsec_")
    assert created.api_key.startswith("mxk_")
    items = boto3.client("dynamodb").scan(TableName=aws_stack.tenants_table)["Items"]
    stored = str(items)
    assert created.api_key not in stored
    assert hash_api_key(created.api_key) in stored


def test_lookup_by_id_name_and_key(aws_stack: Settings) -> None:
    created = create_tenant("acme", "ops@acme.example")
    store = DynamoTenantStore()
    assert store.find(created.tenant_id).name == "acme"  # type: ignore[union-attr]
    assert store.find("acme").tenant_id == created.tenant_id  # type: ignore[union-attr]
    assert store.find("nobody") is None
    assert Authenticator().tenant_for_key(created.api_key).tenant_id == created.tenant_id


def test_names_and_usernames_are_unique(aws_stack: Settings) -> None:
    create_tenant("acme", "ops@acme.example")
    with pytest.raises(Conflict):
        create_tenant("acme", "other@acme.example")
    with pytest.raises(Conflict):
        create_tenant("other", "ops@acme.example")
    assert DynamoTenantStore().find("other") is None  # the refused tenant left nothing behind


def test_more_keys_for_one_tenant(aws_stack: Settings) -> None:
    created = create_tenant("acme", "ops@acme.example")
    second = issue_api_key(created.tenant_id)
    assert second != created.api_key
    assert Authenticator().tenant_for_key(second).tenant_id == created.tenant_id


@pytest.mark.parametrize("key", [None, "", "mxk_wrong"])
def test_missing_or_wrong_key_is_unauthorized(aws_stack: Settings, key: str | None) -> None:
    create_tenant("acme", "ops@acme.example")
    with pytest.raises(Unauthorized):
        Authenticator().tenant_for_key(key)


def test_username_must_match_the_keys_tenant(aws_stack: Settings) -> None:
    a = create_tenant("a", "a@example.com")
    create_tenant("b", "b@example.com")
    assert Authenticator().tenant_for_user("A@example.com", a.api_key).tenant_id == a.tenant_id
    with pytest.raises(Unauthorized):
        Authenticator().tenant_for_user("b@example.com", a.api_key)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer k1"}, "k1"),
        ({"authorization": "bearer  k2 "}, "k2"),
        ({"x-api-key": "k3"}, "k3"),
        ({"Authorization": "Basic abc"}, None),
        ({}, None),
    ],
)
def test_credential_from_headers(headers: dict[str, str], expected: str | None) -> None:
    assert bearer_or_api_key(headers) == expected
