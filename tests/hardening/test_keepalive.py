"""Kept-alive connections: a thread that has just answered waits a few milliseconds for
the same client's next request (``blobstream.server.worker.KEEPALIVE_LINGER``). These
check what a client sees: every request on one connection is answered, whether it came
back to back, pipelined or after a pause; an idle kept-alive client never holds the
only thread; a slow head on a reused connection still gets 408."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.acceptance.helpers import TIMEOUT, put
from tests.support import Server


@pytest.fixture(scope="module")
def one_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One worker with one thread, so a thread kept by a client shows at once."""
    root = tmp_path_factory.mktemp("keepalive")
    env = {"BLOBSTREAM_HEADER_TIMEOUT": "2"}
    args = ("--workers", "1", "--threads", "1")
    with Server((root / "data").as_uri(), root / "server.log", args=args, env=env) as srv:
        assert put(srv, "k", b"kept-alive body").status_code == 201
        yield srv


def _request(key: str = "k") -> bytes:
    return f"GET /blobs/{key} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[bytes, bytes]:
    """One response (head, body) off ``sock``; bytes after it stay in ``buf``."""
    while b"\r\n\r\n" not in buf:
        piece = sock.recv(65536)
        assert piece, f"connection closed after {bytes(buf)!r}"
        buf += piece
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(buf) < end + length:
        piece = sock.recv(65536)
        assert piece, "connection closed inside a body"
        buf += piece
    body = bytes(buf[end : end + length])
    del buf[: end + length]
    return head, body


def test_back_to_back_pipelined_and_paused_requests_on_one_connection(one_thread: Server) -> None:
    with socket.create_connection(("127.0.0.1", one_thread.port), timeout=10) as sock:
        buf = bytearray()
        for _ in range(20):  # each sent the moment the previous answer is in
            sock.sendall(_request())
            head, body = _read_response(sock, buf)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert body == b"kept-alive body"
        sock.sendall(_request() + _request("missing") + _request())  # pipelined
        statuses = [_read_response(sock, buf)[0].split(b" ", 2)[1] for _ in range(3)]
        assert statuses == [b"200", b"404", b"200"]
        time.sleep(0.3)  # far beyond the linger: the poller brings the connection back
        sock.sendall(_request())
        head, body = _read_response(sock, buf)
        assert head.startswith(b"HTTP/1.1 200 ") and body == b"kept-alive body"
        assert not buf


def test_an_idle_kept_alive_client_does_not_hold_the_only_thread(one_thread: Server) -> None:
    with socket.create_connection(("127.0.0.1", one_thread.port), timeout=10) as idle:
        buf = bytearray()
        idle.sendall(_request())
        assert _read_response(idle, buf)[0].startswith(b"HTTP/1.1 200 ")
        # The idle client now says nothing, but keeps its connection (keep-alive is 5 s).
        for _ in range(5):
            start = time.monotonic()
            r = requests.get(f"{one_thread.url}/blobs/k", timeout=TIMEOUT)
            assert r.status_code == 200
            assert time.monotonic() - start < 0.5, "a new client waited for an idle one"
        idle.sendall(_request())  # and the idle one is still served afterwards
        assert _read_response(idle, buf)[0].startswith(b"HTTP/1.1 200 ")


def test_a_slow_head_on_a_reused_connection_gets_408(one_thread: Server) -> None:
    with socket.create_connection(("127.0.0.1", one_thread.port), timeout=10) as sock:
        buf = bytearray()
        sock.sendall(_request())
        assert _read_response(sock, buf)[0].startswith(b"HTTP/1.1 200 ")
        start = time.monotonic()
        try:
            for byte in _request()[:-2] + b"X-Slow: 1\r\n" * 20 + b"\r\n":
                sock.sendall(bytes([byte]))
                time.sleep(0.01)  # ~3.7 s for the whole head, the timeout is 2 s
        except OSError:
            pass  # the server answered and closed first
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"application/problem+json" in answer
    assert 1.5 < time.monotonic() - start < 5
    assert requests.get(f"{one_thread.url}/healthz", timeout=TIMEOUT).status_code == 200


def test_clients_that_hang_up_after_their_answer_leave_no_error(one_thread: Server) -> None:
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", one_thread.port), timeout=10) as sock:
            sock.sendall(_request())
            assert _read_response(sock, bytearray())[0].startswith(b"HTTP/1.1 200 ")
    assert requests.get(f"{one_thread.url}/healthz", timeout=TIMEOUT).status_code == 200
    log = one_thread.log()
    assert "Traceback" not in log
    assert "Socket error" not in log
