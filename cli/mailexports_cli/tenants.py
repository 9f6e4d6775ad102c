"""`mailexports tenant create NAME --username USER`, `tenant key` for another API key, and
`tenant rotate-secret` for a new webhook signing secret."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from typing import Any

from mailexports.errors import DomainError
from mailexports.tenants.service import create_tenant, issue_api_key, rotate_webhook_secret
from mailexports.tenants.store import DynamoTenantStore
from mailexports_cli.target import add_target_arguments, apply_target

MAX_GRACE_HOURS = 720  # 30 days


def register(subparsers: Any) -> None:
    tenant = subparsers.add_parser("tenant", help="create tenants, API keys and webhook secrets")
    actions = tenant.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a tenant; prints its API key and webhook secret once")
    create.add_argument("name")
    create.add_argument("--username", required=True, help="the tenant's login name (Pinpointe `username`)")
    add_target_arguments(create)
    create.set_defaults(handler=_create)

    key = actions.add_parser("key", help="issue another API key for a tenant (id or name)")
    key.add_argument("tenant")
    add_target_arguments(key)
    key.set_defaults(handler=_key)

    rotate = actions.add_parser(
        "rotate-secret",
        help="issue a new webhook signing secret (printed once); the old one keeps signing for a while",
    )
    rotate.add_argument("tenant", help="tenant id or name")
    rotate.add_argument(
        "--grace-hours",
        type=float,
        default=24.0,
        help="how long webhooks stay signed with the old secret as well (default 24)",
    )
    add_target_arguments(rotate)
    rotate.set_defaults(handler=_rotate)


def _create(args: argparse.Namespace) -> int:
    apply_target(args)
    try:
        created = create_tenant(args.name, args.username)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(json.dumps(created.model_dump(), indent=2))
    return 0


def _key(args: argparse.Namespace) -> int:
    apply_target(args)
    tenant = DynamoTenantStore().find(args.tenant)
    if tenant is None:
        print(f"error: no tenant {args.tenant!r}", file=sys.stderr)
        return 2
    print(json.dumps({"tenant_id": tenant.tenant_id, "api_key": issue_api_key(tenant.tenant_id)}, indent=2))
    return 0


def _rotate(args: argparse.Namespace) -> int:
    apply_target(args)
    if not 0 <= args.grace_hours <= MAX_GRACE_HOURS:
        print(f"error: --grace-hours must be between 0 and {MAX_GRACE_HOURS}", file=sys.stderr)
        return 2
    tenant = DynamoTenantStore().find(args.tenant)
    if tenant is None:
        print(f"error: no tenant {args.tenant!r}", file=sys.stderr)
        return 2
    try:
        rotated = rotate_webhook_secret(tenant.tenant_id, grace=timedelta(hours=args.grace_hours))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(json.dumps(rotated.model_dump(mode="json"), indent=2))
    return 0
