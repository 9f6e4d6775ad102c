"""moto's server, embedded: one thread of this process answers every AWS API on loopback.

Built from the same parts as `moto.server.ThreadedMotoServer`, with one difference:
the listening socket is bound here, in the caller's thread, so a busy port raises
`PortInUse` at once (ThreadedMotoServer binds inside its thread, where werkzeug's
`sys.exit` on a busy port kills the thread and leaves `start()` waiting forever).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer


class CannotListen(Exception):
    """host:port cannot be listened on; `str()` is a one-line explanation."""


class PortInUse(CannotListen):
    def __init__(self, what: str, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host} is already in use ({what}); stop whatever holds it or choose another port"
        )
        self.port = port


def local_url(host: str, port: int, scheme: str = "http") -> str:
    """The URL a client on this machine uses for a listener on host:port (wildcards -> loopback)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def bind_listener(what: str, host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one); PortInUse if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a just-stopped stack's port is reusable
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(what, host, port) from None
        raise CannotListen(f"cannot listen on {host}:{port} ({what}): {error.strerror or error}") from None
    return sock


class MotoServer:
    """moto's WSGI app on a werkzeug server, served from a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000) -> None:
        # Imported here: moto takes seconds to import, and a busy port should not wait for it.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._host = host
        listener = bind_listener("moto server", host, port)
        # werkzeug's request log would print every SQS long poll; warnings and errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self._server: BaseWSGIServer = make_server(
                host,
                listener.getsockname()[1],
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=listener.fileno(),  # werkzeug dups it, so ours can be closed
            )
        finally:
            listener.close()
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)

    @property
    def endpoint(self) -> str:
        return local_url(self._host, self._server.port)

    def start(self) -> None:
        # Customer destinations rely on IAM refusing roles that do not trust us; moto does not.
        from mailexports_dev.local.atomic_requests import make_dynamodb_requests_atomic
        from mailexports_dev.local.role_trust import enforce_role_trust

        enforce_role_trust()
        make_dynamodb_requests_atomic()
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
