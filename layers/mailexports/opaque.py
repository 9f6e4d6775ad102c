"""Opaque tokens (cursors, download tokens): unpadded URL-safe base64, of bytes or of JSON.

Decoding raises ValueError for anything that is not such a token; each caller turns
that into its own answer."""

from __future__ import annotations

import base64
import json
from typing import Any


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_json(value: Any) -> str:
    return b64encode(json.dumps(value, separators=(",", ":")).encode())


def decode_json(text: str) -> Any:
    return json.loads(b64decode(text))
