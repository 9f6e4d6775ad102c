"""Deterministic draws: 64-bit hashes of an index, seeded keys, and the random delays.

A contact's identity is a hash of its index (so a send re-derives its recipients
instead of storing them); delays are drawn from a `random.Random` the caller owns.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable
from typing import Any

from mailexports_dev.generate.model import (
    FAST_ENGAGEMENT_MEAN_S,
    FAST_ENGAGEMENT_SHARE,
    SLOW_ENGAGEMENT_MEAN_S,
)

_MASK64 = (1 << 64) - 1
_SCALE64 = float(1 << 64)

# Compact JSON, as every generated line is spelled.
to_json: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":")).encode


def mix64(x: int) -> int:
    """A fast, well-spread 64-bit hash of an integer (the splitmix64 finaliser)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def key(seed: int, purpose: str) -> int:
    """A 64-bit key for one purpose of one seed, stable across runs and platforms."""
    digest = hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest)


def threshold(share: float) -> int:
    """A 64-bit hash is below this with probability `share`."""
    return int(share * _SCALE64)


def exp_ms(rng: random.Random, mean_s: float) -> int:
    """An exponentially distributed delay in milliseconds."""
    return int(-math.log(1.0 - rng.random()) * mean_s * 1000)


def engagement_delay_ms(rng: random.Random) -> int:
    fast = rng.random() < FAST_ENGAGEMENT_SHARE
    return exp_ms(rng, FAST_ENGAGEMENT_MEAN_S if fast else SLOW_ENGAGEMENT_MEAN_S)


def geometric(rng: random.Random, repeat_chance: float, cap: int) -> int:
    count = 1
    while count < cap and rng.random() < repeat_chance:
        count += 1
    return count
