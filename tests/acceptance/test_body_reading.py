"""Bodies read straight from the socket: every framing, pipelining after it, and bad framing."""

from __future__ import annotations

import hashlib
import os
import re
import socket

import pytest
import requests

from tests.support import Server

TIMEOUT = 30


def exchange(server: Server, data: bytes, *, half_close: bool = False) -> list[bytes]:
    """Send raw bytes, read until the server closes; return each response's status line."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(1 << 16):
            received += chunk
    # A JSON body has no final CRLF: the next status line follows it directly.
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", received)


def chunked(body: bytes, sizes: list[int], ext: bytes = b"", trailers: bytes = b"") -> bytes:
    out, at, i = [], 0, 0
    while at < len(body):
        size = sizes[i % len(sizes)]
        piece = body[at : at + size]
        out.append(b"%x%s\r\n%s\r\n" % (len(piece), ext, piece))
        at, i = at + size, i + 1
    return b"".join(out) + b"0\r\n" + trailers + b"\r\n"


def put_head(key: str, framing: bytes) -> bytes:
    return b"PUT /blobs/%s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (key.encode(), framing)


def get_last(key: str) -> bytes:
    return b"GET /blobs/%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % key.encode()


BODY = os.urandom(3 * (1 << 20) + 12345)


@pytest.mark.parametrize(
    ("name", "sizes", "ext", "trailers"),
    [
        ("tiny-chunks", [1, 7, 100], b"", b""),
        ("curl-like", [65536], b"", b""),
        ("big-chunks", [1 << 20, 300000], b"", b""),
        ("one-chunk", [len(BODY)], b"", b""),
        ("extensions", [4096, 70000], b';name="v";x=1', b""),
        ("trailers", [50000], b"", b"X-One: 1\r\nX-Two: 2\r\n"),
    ],
)
def test_chunked_body_then_a_pipelined_request(
    server: Server, name: str, sizes: list[int], ext: bytes, trailers: bytes
) -> None:
    key = f"framing/{name}"
    data = put_head(key, b"Transfer-Encoding: chunked\r\n") + chunked(BODY, sizes, ext, trailers)
    statuses = exchange(server, data + get_last(key))
    assert len(statuses) == 2 and statuses[0] in (b"200", b"201"), statuses
    assert statuses[1] == b"200", statuses
    r = requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT)
    assert hashlib.sha256(r.content).digest() == hashlib.sha256(BODY).digest()


def test_content_length_body_and_next_request_in_one_send(server: Server) -> None:
    body = b"x" * 1000
    data = put_head("framing/cl", b"Content-Length: 1000\r\n") + body + get_last("framing/cl")
    statuses = exchange(server, data)
    assert statuses in ([b"201", b"200"], [b"200", b"200"]), statuses
    assert requests.get(f"{server.url}/blobs/framing/cl", timeout=TIMEOUT).content == body


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("bad-size", b"zz\r\nabc\r\n0\r\n\r\n"),
        ("size-too-long", b"1" * 20 + b"\r\n"),
        ("no-crlf-after-data", b"3\r\nabcX\r\n0\r\n\r\n"),
        ("truncated-in-chunk", b"10\r\nabc"),
        ("truncated-before-last", b"3\r\nabc\r\n"),
        ("bare-cr-extension", b"3;a\rb\r\nabc\r\n0\r\n\r\n"),
    ],
)
def test_bad_chunked_framing_is_a_400_and_stores_nothing(
    server: Server, name: str, body: bytes
) -> None:
    key = f"framing/bad-{name}"
    statuses = exchange(
        server, put_head(key, b"Transfer-Encoding: chunked\r\n") + body, half_close=True
    )
    assert statuses[:1] == [b"400"], statuses
    assert requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT).status_code == 404
