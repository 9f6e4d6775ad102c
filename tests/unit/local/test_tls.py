"""The local stack's CA and server certificate: a real TLS handshake verified against the CA."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest

from mailexports_dev.local.tls import prepare_tls


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, name: str) -> str:
    """Connect over loopback with SNI/hostname `name`; return the server's answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server.wrap_socket(connection, server_side=True) as secured:
                secured.sendall(b"hello")
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            client.wrap_socket(raw, server_hostname=name) as secured,
        ):
            return secured.recv(5).decode()
    finally:
        thread.join(5)
        listener.close()


def test_a_client_trusting_the_ca_verifies_the_server_for_each_loopback_name(tmp_path: Path) -> None:
    files = prepare_tls(tmp_path)
    client = ssl.create_default_context(cafile=files.ca_file)
    for name in ("127.0.0.1", "localhost"):
        assert _handshake(files.server_context(), client, name) == "hello"


def test_a_name_outside_loopback_is_refused(tmp_path: Path) -> None:
    files = prepare_tls(tmp_path)
    client = ssl.create_default_context(cafile=files.ca_file)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(files.server_context(), client, "example.com")


def test_the_ca_is_kept_across_starts_and_the_keys_are_private(tmp_path: Path) -> None:
    first = prepare_tls(tmp_path)
    ca, server_cert = first.ca_file.read_bytes(), first.cert_file.read_bytes()
    second = prepare_tls(tmp_path)
    assert second.ca_file.read_bytes() == ca  # trusted once, trusted after a restart
    assert second.cert_file.read_bytes() != server_cert  # a new server certificate each start
    for key in (tmp_path / "ca-key.pem", second.key_file):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # A client holding the kept CA verifies the new certificate.
    client = ssl.create_default_context(cafile=second.ca_file)
    assert _handshake(second.server_context(), client, "127.0.0.1") == "hello"


def test_an_unreadable_ca_is_replaced(tmp_path: Path) -> None:
    prepare_tls(tmp_path)
    (tmp_path / "ca.pem").write_text("not a certificate")
    files = prepare_tls(tmp_path)
    client = ssl.create_default_context(cafile=files.ca_file)
    assert _handshake(files.server_context(), client, "localhost") == "hello"
