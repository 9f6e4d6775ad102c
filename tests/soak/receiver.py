"""The webhook receiver the soak's tasks notify: a real HTTP server on 127.0.0.1 that is
down (answers 503) for `outage_seconds` from the first delivery it sees, then answers 200,
and records every request with the answer it got."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Hit:
    path: str
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    status: int  # what this receiver answered
    at: float  # time.monotonic()


class FlakyReceiver:
    def __init__(self, outage_seconds: float) -> None:
        self.hits: list[Hit] = []
        self.outage_seconds = outage_seconds
        self.first_hit_at: float | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    at = time.monotonic()
                    receiver.first_hit_at = receiver.first_hit_at or at
                    down = at - receiver.first_hit_at < receiver.outage_seconds
                    status = 503 if down else 200
                    receiver.hits.append(
                        Hit(self.path, headers.get("webhook-id", ""), headers, body, status, at)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self.hits)

    def delivered(self, path: str) -> list[Hit]:
        """Requests to `path` this receiver accepted (answered 2xx)."""
        return [h for h in self.snapshot() if h.path == path and h.status < 300]

    def __enter__(self) -> FlakyReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
