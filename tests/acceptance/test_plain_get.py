"""The worker answers plain downloads itself (``GuardedThreadWorker._answer_plain``);
every other request goes through gunicorn's parser to the app. A client must not be
able to tell the two apart: the same request, once plain and once made "unusual" by a
repeated harmless header (which sends it the general way), gets the same answer, byte
for byte apart from ``Date``, ``X-Request-Id`` and the multipart boundary."""

from __future__ import annotations

import re
import socket
import time
from urllib.parse import quote

import pytest
import requests

from tests.acceptance.helpers import TIMEOUT, put, unique
from tests.support import Server

BODY = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and 4 bytes: sendfile, not one write
SMALL = b"small body"
VOLATILE = re.compile(rb"^(Date|X-Request-Id): .*\r\n", re.MULTILINE | re.IGNORECASE)


def exchange(port: int, request: bytes, method: str) -> bytes:
    """Send ``request`` on a new connection; the whole response, volatile parts masked."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            assert piece, data
            data += piece
        end = data.index(b"\r\n\r\n") + 4
        head = data[:end]
        status = int(head.split(b" ", 2)[1])
        match = re.search(rb"\r\nContent-Length: (\d+)\r\n", head, re.IGNORECASE)
        length = int(match.group(1)) if match and method != "HEAD" and status != 304 else 0
        while len(data) < end + length:
            piece = sock.recv(1 << 20)
            assert piece, "the body was cut short"
            data += piece
    masked = VOLATILE.sub(b"", data)
    boundary = re.search(rb"boundary=([0-9a-f]+)", masked)
    return masked.replace(boundary.group(1), b"B") if boundary else masked


@pytest.fixture(scope="module")
def blobs(server: Server) -> dict[str, str]:
    keys = {"big": unique("plain"), "small": unique("plain") + "/a b é", "gone": unique("no")}
    assert put(server, keys["big"], BODY).status_code == 201
    assert put(server, keys["small"], SMALL).status_code == 201
    return keys


def _target(key: str) -> str:
    return "/blobs/" + quote(key, safe="/")


CASES = {
    "whole": ("GET", "big", []),
    "HEAD": ("HEAD", "big", []),
    "small": ("GET", "small", []),
    "one range": ("GET", "big", ["Range: bytes=1000-2000999"]),
    "suffix range": ("GET", "big", ["Range: bytes=-5"]),
    "open range": ("GET", "big", ["Range: bytes=1048570-"]),
    "several ranges": ("GET", "big", ["Range: bytes=0-9,500000-600000,-3"]),
    "unsatisfiable range": ("GET", "big", ["Range: bytes=9999999-"]),
    "bad range": ("GET", "big", ["Range: bytes=x"]),
    "range on HEAD": ("HEAD", "big", ["Range: bytes=0-9"]),
    "missing": ("GET", "gone", []),
    "none match": ("GET", "small", ['If-None-Match: "other"']),
    "modified since": ("GET", "small", ["If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"]),
    "unmodified since": ("GET", "small", ["If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT"]),
    "if-range stale": ("GET", "big", ["Range: bytes=0-9", 'If-Range: "other"']),
    "client closes": ("GET", "small", ["Connection: close"]),
    "request id": ("GET", "small", ["X-Request-Id: given-id-1"]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_shortcut_answers_as_the_general_path(
    server: Server, blobs: dict[str, str], case: tuple[str, str, list[str]]
) -> None:
    method, which, fields = case
    lines = [f"{method} {_target(blobs[which])} HTTP/1.1", "Host: x", *fields]
    plain = ("\r\n".join(lines) + "\r\n\r\n").encode()
    general = ("\r\n".join([*lines, "Accept: */*", "Accept: */*"]) + "\r\n\r\n").encode()
    assert exchange(server.port, plain, method) == exchange(server.port, general, method)


def test_a_weak_match_gets_304_both_ways(server: Server, blobs: dict[str, str]) -> None:
    etag = requests.head(server.url + _target(blobs["small"]), timeout=TIMEOUT).headers["ETag"]
    lines = [f"GET {_target(blobs['small'])} HTTP/1.1", "Host: x", f"If-None-Match: W/{etag}"]
    plain = ("\r\n".join(lines) + "\r\n\r\n").encode()
    general = ("\r\n".join([*lines, "Accept: a", "Accept: b"]) + "\r\n\r\n").encode()
    answer = exchange(server.port, plain, "GET")
    assert answer.startswith(b"HTTP/1.1 304 ")
    assert answer == exchange(server.port, general, "GET")


def test_plain_downloads_are_logged_and_counted(server: Server, blobs: dict[str, str]) -> None:
    def count() -> float:
        text = requests.get(f"{server.url}/metrics", timeout=TIMEOUT).text
        pattern = r'blobstream_requests_total\{[^}]*method="GET"[^}]*status="206"[^}]*\} (\S+)'
        return sum(float(m) for m in re.findall(pattern, text))

    before = count()
    request = f"GET {_target(blobs['big'])} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99999\r\n\r\n"
    assert exchange(server.port, request.encode(), "GET").startswith(b"HTTP/1.1 206 ")
    deadline = time.monotonic() + 5
    while count() < before + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count() == before + 1
    line = f'"GET {_target(blobs["big"])} HTTP/1.1" 206 100000 '
    assert line in server.log()
