"""HTTP calls that time themselves and wait out 429s (per-tenant rate limits) as a polite
client would: sleep for Retry-After, then try again."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import requests

MAX_RETRY_AFTER_S = 10.0
TIMEOUT_S = 30


class Timings:
    """Seconds per call, by what the call was (submit, status, download, page), thread-safe."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.throttled: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, what: str, seconds: float) -> None:
        with self._lock:
            self.seconds[what].append(seconds)

    def throttle(self, what: str) -> None:
        with self._lock:
            self.throttled[what] += 1


def call(
    session: requests.Session, timings: Timings, what: str, method: str, url: str, **kwargs: Any
) -> requests.Response:
    kwargs.setdefault("timeout", TIMEOUT_S)
    while True:
        began = time.monotonic()
        answer = session.request(method, url, **kwargs)
        timings.add(what, time.monotonic() - began)
        if answer.status_code != 429:
            return answer
        timings.throttle(what)
        try:
            wait = float(answer.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(max(wait, 0.1), MAX_RETRY_AFTER_S))
