"""Which API the client talks to, and with which key.

In order: `--api URL --key KEY`; else MAILEXPORTS_API_URL / MAILEXPORTS_API_KEY; else the
running local stack's demo tenant, read from the state file `mailexports run` writes. Each
of the two is resolved on its own, so `--api` with the key in the environment works too;
the local stack's demo key is only used for the local stack's own URL.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from mailexports_cli.client.errors import UsageError
from mailexports_cli.target import state_file

API_URL_ENV = "MAILEXPORTS_API_URL"
API_KEY_ENV = "MAILEXPORTS_API_KEY"


@dataclass(frozen=True)
class Connection:
    api_url: str  # without a trailing slash
    api_key: str
    source: str  # where the URL came from: "--api", MAILEXPORTS_API_URL or "the local stack"
    key_source: str


def resolve(api: str | None, key: str | None) -> Connection:
    url, url_source = api, "--api"
    if not url:
        url, url_source = os.environ.get(API_URL_ENV), API_URL_ENV
    key_source = "--key"
    if not key:
        key, key_source = os.environ.get(API_KEY_ENV), API_KEY_ENV
    if url and key:
        return Connection(_normalised(url), key, url_source, key_source)

    local = _local_stack()
    if local is not None:
        local_url, local_key = local
        if not url or _normalised(url) == local_url:
            if key:
                return Connection(local_url, key, "the local stack", key_source)
            if local_key:
                return Connection(local_url, local_key, "the local stack", "the local stack's demo tenant")
            raise UsageError(
                f"the local stack ({local_url}) has no demo tenant: pass --key KEY "
                "(`mailexports tenant create` makes a tenant and its key)"
            )
    if not url:
        raise UsageError(
            f"no API to talk to: pass --api URL --key KEY, set {API_URL_ENV} and {API_KEY_ENV}, "
            f"or start the local stack with `make run` (no state file at {state_file()})"
        )
    raise UsageError(f"no API key for {url}: pass --key KEY or set {API_KEY_ENV}")


def _normalised(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--api: {url!r} is not an http:// or https:// URL")
    return url


def _local_stack() -> tuple[str, str | None] | None:
    """(API URL, demo API key if any) of the running local stack, or None if none is running."""
    path = state_file()
    try:
        state: Any = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the local stack's state file {path}: {error}") from None
    demo = state.get("demo") if isinstance(state, dict) else None
    url = state.get("api_url") if isinstance(state, dict) else None
    if not url:
        return None
    demo_key = demo.get("api_key") if isinstance(demo, dict) else None
    return _normalised(str(url)), str(demo_key) if demo_key else None
