"""Free loopback ports, for the stacks that tests, the fuzzer and the soak start."""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """Distinct ports free right now (all held open while choosing, so no duplicates)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
