"""A local API Gateway: HTTP request -> REST proxy event -> the route's handler -> HTTP response.

Routes are the template's; an undeclared route answers API Gateway's 403, a handler
that raises (or returns a malformed response) API Gateway's 502, with the traceback on
the stack's console only. Paths work with or without the stage prefix (`/dev/v1/...`),
since links built from `requestContext.path` carry it.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from mailexports_dev.local.lambda_runtime import Invocable, report_failure
from mailexports_dev.local.moto_server import bind_listener, local_url
from mailexports_dev.local.proxy_event import (
    MAX_RESPONSE_BYTES,
    GatewayInfo,
    HttpRequest,
    HttpResponse,
    MalformedProxyResponse,
    build_proxy_event,
    gateway_error,
    internal_server_error,
    json_size,
    missing_authentication_token,
    response_from_proxy_result,
)
from mailexports_dev.local.routes import RouteTable

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
# Dialects put credentials in the query (Selzy `api_key`, Copernica `access_token`): not in the log.
_SECRET_PARAM = re.compile(r"key|token|secret|password|signature", re.IGNORECASE)
_TOO_LONG = '{"message":"Request Too Long"}'


class LocalApi:
    """Routes requests to functions; independent of HTTP so tests can call `handle` directly."""

    def __init__(self, functions: Iterable[Invocable], gateway: GatewayInfo) -> None:
        self.gateway = gateway
        self.table: RouteTable[Invocable] = RouteTable(
            (route, function) for function in functions for route in function.spec.routes
        )

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response, and the name of the function that answered ("-" for none)."""
        request_id = str(uuid.uuid4())
        match = self.table.match(request.method, request.raw_path)
        stage_prefix = f"/{self.gateway.stage}/"
        if match is None and request.raw_path.startswith(stage_prefix):
            unprefixed = request.raw_path[len(stage_prefix) - 1 :]
            match = self.table.match(request.method, unprefixed)
            if match is not None:
                request = replace(request, raw_path=unprefixed)
        if match is None:
            return missing_authentication_token(request_id), "-"
        function = match.target
        if len(request.body) > MAX_REQUEST_BYTES:
            return gateway_error(413, _TOO_LONG, "RequestTooLarge", request_id), "-"
        event = build_proxy_event(
            request, match.route, match.path_parameters, self.gateway, request_id=request_id
        )
        try:
            result = function.invoke(event)
            if json_size(result) > MAX_RESPONSE_BYTES:
                raise MalformedProxyResponse("the response is larger than Lambda's 6 MB limit")
            return response_from_proxy_result(result, request_id), function.logical_id
        except Exception as error:
            report_failure(function, error)
            return internal_server_error(request_id), function.logical_id


class _RequestHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "mailexports-local"
    sys_version = ""

    def _serve(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            raw_path=url.path or "/",
            query=url.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            scheme=self.server.scheme,
            server_port=self.server.port,
        )
        response, answered_by = self.server.api.handle(request)
        self._write(response)
        elapsed_ms = (time.monotonic() - started) * 1000
        print(
            f'{self.client_address[0]} "{self.command} {_loggable(url)}" {response.status} '
            f"{len(response.body)}B {answered_by} {elapsed_ms:.0f}ms",
            flush=True,
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones) goes to the route table too, so an
        # undeclared one is API Gateway's 403 rather than http.server's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return None
        if size > MAX_REQUEST_BYTES:  # refused unread, as API Gateway does
            self.close_connection = True
            self._write(gateway_error(413, _TOO_LONG, "RequestTooLarge", str(uuid.uuid4())))
            return None
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        while True:
            try:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self.send_error(400, "bad chunked body")
                return None
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # _serve prints one access line per request; the base class would print to stderr


def _loggable(url: SplitResult) -> str:
    """The path and query for the access log, with credentials in the query masked."""
    if not url.query:
        return url.path
    pairs = parse_qsl(url.query, keep_blank_values=True)
    masked = [(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs]
    return f"{url.path}?{urlencode(masked, safe='[]*')}"


class ApiServer(ThreadingHTTPServer):
    """ThreadingHTTPServer bound at construction (PortInUse if taken), serving from a daemon thread.

    With `tls` it speaks HTTPS; the handshake happens in the connection's own thread, so
    a client that stalls or rejects the certificate holds up nobody else.
    """

    daemon_threads = True

    def __init__(
        self, api: LocalApi, host: str, port: int, *, tls: ssl.SSLContext | None = None, what: str = "API"
    ) -> None:
        self.api = api
        self.tls = tls
        self.scheme = "https" if tls else "http"
        listener = bind_listener(what, host, port)
        super().__init__((host, port), _RequestHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_address = listener.getsockname()[:2]
        self.host, self.port = host, int(self.server_address[1])
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"api-gateway-{self.scheme}", daemon=True
        )

    @property
    def url(self) -> str:
        return local_url(self.host, self.port, self.scheme)

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        if self.tls is None or not isinstance(request, socket.socket):
            super().finish_request(request, client_address)
            return
        request.settimeout(30)  # a client that never completes the handshake frees its thread
        try:
            secured = self.tls.wrap_socket(request, server_side=True)  # takes over the descriptor
        except (ssl.SSLError, OSError):
            return  # e.g. the client does not trust our CA: it reports that, not us
        try:
            secured.settimeout(None)
            super().finish_request(secured, client_address)
        finally:
            self.shutdown_request(secured)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
