"""The harness's own calls into the stack's moto (tenant set-up, the watchdog's sweeps,
duplicate messages), made with the stack's variables, which are put back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3


@contextmanager
def pointed_at(stack_env: dict[str, str], **extra: str) -> Iterator[None]:
    """While inside, the service's modules (tenants, loader, watchdog) talk to the stack's moto."""
    from mailexports import aws
    from mailexports.config import get_settings

    saved = dict(os.environ)
    os.environ.update(stack_env)
    os.environ.update(extra)
    aws.reset_clients()
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        aws.reset_clients()
        get_settings.cache_clear()


def client(stack_env: dict[str, str], service: str) -> Any:
    """A boto3 client of the stack's moto, whatever this process's environment says."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=stack_env["AWS_ENDPOINT_URL"],
        region_name=stack_env["AWS_DEFAULT_REGION"],
        aws_access_key_id=stack_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack_env["AWS_SECRET_ACCESS_KEY"],
    )
