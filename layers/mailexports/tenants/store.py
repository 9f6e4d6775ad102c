"""Tenant data access: a small interface and its DynamoDB implementation.

One item per fact, each under its own key, so every lookup is a GetItem:
`TENANT#{id}` (the tenant), `NAME#{name}` and `USERNAME#{username}` (unique,
pointing at the id) and `APIKEY#{sha256}` (a key's hash, pointing at the id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from mailexports import aws
from mailexports.conditional_writes import refused_as
from mailexports.config import get_settings
from mailexports.errors import Conflict
from mailexports.tenants.models import Tenant


class TenantStore(Protocol):
    def create(self, tenant: Tenant, api_key_hash: str) -> None: ...
    def get(self, tenant_id: str) -> Tenant | None: ...
    def find(self, id_or_name: str) -> Tenant | None: ...
    def by_api_key_hash(self, api_key_hash: str) -> Tenant | None: ...
    def add_api_key(self, tenant_id: str, api_key_hash: str) -> None: ...


class DynamoTenantStore:
    def __init__(self, table_name: str | None = None) -> None:
        self._table = table_name or get_settings().tenants_table
        self._client = aws.dynamodb()

    def create(self, tenant: Tenant, api_key_hash: str) -> None:
        """Write the tenant and its unique names in one transaction: all or nothing."""
        tid = tenant.tenant_id
        items = [
            {
                "pk": f"TENANT#{tid}",
                "tenant_id": tid,
                "name": tenant.name,
                "username": tenant.username,
                "webhook_secret": tenant.webhook_secret,
                "created_at": tenant.created_at.isoformat(),
            },
            {"pk": f"NAME#{tenant.name}", "tenant_id": tid},
            {"pk": f"USERNAME#{tenant.username}", "tenant_id": tid},
            {"pk": f"APIKEY#{api_key_hash}", "tenant_id": tid},
        ]
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {k: {"S": v} for k, v in item.items()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                    for item in items
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                raise Conflict(
                    f"a tenant named {tenant.name!r} or with username {tenant.username!r} already exists"
                ) from error
            raise

    def get(self, tenant_id: str) -> Tenant | None:
        item = self._get(f"TENANT#{tenant_id}")
        if item is None:
            return None
        retires = item.get("previous_secret_retires_at")
        return Tenant(
            tenant_id=item["tenant_id"],
            name=item["name"],
            username=item["username"],
            webhook_secret=item["webhook_secret"],
            created_at=datetime.fromisoformat(item["created_at"]),
            previous_webhook_secret=item.get("previous_webhook_secret"),
            previous_secret_retires_at=datetime.fromisoformat(retires) if retires else None,
        )

    def find(self, id_or_name: str) -> Tenant | None:
        return self.get(id_or_name) or self._follow(f"NAME#{id_or_name}")

    def by_username(self, username: str) -> Tenant | None:
        return self._follow(f"USERNAME#{username}")

    def by_api_key_hash(self, api_key_hash: str) -> Tenant | None:
        return self._follow(f"APIKEY#{api_key_hash}")

    def add_api_key(self, tenant_id: str, api_key_hash: str) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={"pk": {"S": f"APIKEY#{api_key_hash}"}, "tenant_id": {"S": tenant_id}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def rotate_webhook_secret(
        self, tenant_id: str, *, current: str, new: str, previous_retires_at: datetime
    ) -> None:
        """Make `new` the secret and keep `current` until `previous_retires_at`; refused
        (Conflict) if the secret changed since `current` was read."""
        with refused_as(Conflict("the webhook secret was rotated concurrently; try again")):
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"TENANT#{tenant_id}"}},
                UpdateExpression="SET webhook_secret = :new, previous_webhook_secret = :current, "
                "previous_secret_retires_at = :retires",
                ConditionExpression="webhook_secret = :current",
                ExpressionAttributeValues={
                    ":new": {"S": new},
                    ":current": {"S": current},
                    ":retires": {"S": previous_retires_at.isoformat()},
                },
            )

    def _follow(self, pointer_pk: str) -> Tenant | None:
        pointer = self._get(pointer_pk)
        return self.get(pointer["tenant_id"]) if pointer else None

    def _get(self, pk: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": {"S": pk}}).get("Item")
        return {k: v["S"] for k, v in item.items()} if item else None
