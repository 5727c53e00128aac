"""PUT /blobs/{key}: statuses, body, validators, conditions, digests, limits, broken bodies."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.acceptance.conftest import LIMIT
from tests.acceptance.helpers import (
    TIMEOUT,
    assert_problem,
    connect,
    get,
    put,
    read_response,
    sha256,
    storage_root,
    tmp_files,
    unique,
)
from tests.support import Server


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def wait_until_empty(root: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while tmp_files(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tmp_files(root) == []


def wait_until_begun(root: Path, timeout: float = 10.0) -> None:
    """The server has begun writing a temporary file."""
    deadline = time.monotonic() + timeout
    while not tmp_files(root):
        assert time.monotonic() < deadline, "the write never began"
        time.sleep(0.02)


def test_put_creates_then_replaces(server: Server) -> None:
    key = unique("put")
    first = put(server, key, b"first version", **{"Content-Type": "text/plain; charset=utf-8"})
    assert first.status_code == 201
    doc = first.json()
    assert doc["key"] == key
    assert doc["size"] == 13
    assert doc["sha256"] == sha256(b"first version")
    assert doc["content_type"] == "text/plain; charset=utf-8"
    assert doc["etag"] == first.headers["ETag"]
    assert doc["last_modified"].endswith("Z")
    assert first.headers["Location"] == f"/blobs/{key}"

    second = put(server, key, b"second")
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.json()["content_type"] == "application/octet-stream"
    got = get(server, key)
    assert got.content == b"second"
    assert got.headers["ETag"] == second.headers["ETag"]
    assert got.headers["Content-Type"] == "application/octet-stream"


def test_put_chunked(server: Server) -> None:
    key = unique("chunked")
    data = os.urandom(300_000)
    r = requests.put(f"{server.url}/blobs/{key}", data=chunks(data), timeout=TIMEOUT)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 201
    assert r.json()["sha256"] == sha256(data)
    assert get(server, key).content == data


def test_put_empty_body(server: Server) -> None:
    key = unique("empty")
    r = put(server, key, b"")
    assert r.status_code == 201
    assert r.json()["size"] == 0
    assert r.json()["sha256"] == sha256(b"")


def test_if_none_match_star_creates_only(server: Server) -> None:
    key = unique("inm")
    assert put(server, key, b"one", **{"If-None-Match": "*"}).status_code == 201
    assert_problem(put(server, key, b"two", **{"If-None-Match": "*"}), 412)
    assert get(server, key).content == b"one"


def test_if_match(server: Server) -> None:
    key = unique("im")
    assert_problem(put(server, key, b"x", **{"If-Match": "*"}), 412)
    assert get(server, key).status_code == 404
    etag = put(server, key, b"one").headers["ETag"]
    assert_problem(put(server, key, b"two", **{"If-Match": '"nope"'}), 412)
    assert get(server, key).content == b"one"
    r = put(server, key, b"two", **{"If-Match": etag})
    assert r.status_code == 200
    assert put(server, key, b"three", **{"If-Match": "*"}).status_code == 200
    assert_problem(put(server, key, b"four", **{"If-Match": etag}), 412)
    assert get(server, key).content == b"three"


def test_if_unmodified_since(server: Server) -> None:
    key = unique("ius")
    put(server, key, b"one")
    past = "Sat, 01 Jan 2000 00:00:00 GMT"
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    assert_problem(put(server, key, b"two", **{"If-Unmodified-Since": past}), 412)
    assert get(server, key).content == b"one"
    assert put(server, key, b"three", **{"If-Unmodified-Since": future}).status_code == 200
    assert get(server, key).content == b"three"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


BODY = b"the body whose digests are checked"
GOOD_MD5 = _b64(hashlib.md5(BODY).digest())
GOOD_SHA = _b64(hashlib.sha256(BODY).digest())
BAD_MD5 = _b64(hashlib.md5(b"other").digest())
BAD_SHA = _b64(hashlib.sha256(b"other").digest())


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-MD5": GOOD_MD5}, 200),
        ({"Content-MD5": BAD_MD5}, 400),
        ({"Content-Digest": f"sha-256=:{GOOD_SHA}:"}, 200),
        ({"Content-Digest": f"sha-256=:{BAD_SHA}:"}, 400),
        ({"Content-Digest": f"md5=:{GOOD_MD5}:"}, 200),
        ({"Content-Digest": f"md5=:{BAD_MD5}:"}, 400),
        ({"Content-Digest": f"sha-256=:{GOOD_SHA}:, md5=:{GOOD_MD5}:"}, 200),
        ({"Content-Digest": f"sha-256=:{GOOD_SHA}:, md5=:{BAD_MD5}:"}, 400),
        ({"Content-MD5": GOOD_MD5, "Content-Digest": f"sha-256=:{BAD_SHA}:"}, 400),
    ],
)
def test_digests_checked_before_commit(
    server: Server, headers: dict[str, str], status: int
) -> None:
    key = unique("digest")
    put(server, key, b"old version")
    r = put(server, key, BODY, **headers)
    if status == 200:
        assert r.status_code == 200, r.text
        assert get(server, key).content == BODY
    else:
        doc = assert_problem(r, 400)
        assert "digest" in str(doc["type"])
        assert get(server, key).content == b"old version"


def test_digest_mismatch_on_new_key_stores_nothing(server: Server) -> None:
    key = unique("digest")
    assert_problem(put(server, key, BODY, **{"Content-MD5": BAD_MD5}), 400)
    assert get(server, key).status_code == 404


def test_expect_continue_with_curl(server: Server, tmp_path: Path) -> None:
    key = unique("curl")
    body = tmp_path / "body"
    data = os.urandom(3 << 20)
    body.write_bytes(data)
    run = subprocess.run(
        [
            "curl",
            "-sS",
            "-v",
            "-T",
            str(body),
            "-H",
            "Expect: 100-continue",
            f"{server.url}/blobs/{key}",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert b"HTTP/1.1 100 Continue" in run.stderr
    assert b"HTTP/1.1 201" in run.stderr
    assert get(server, key).content == data


def test_expect_continue_raw(server: Server) -> None:
    key = unique("expect")
    with connect(server) as sock:
        sock.sendall(
            f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            piece = sock.recv(1)
            assert piece, "the server closed before 100 Continue"
            interim += piece
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"hello")
        final = read_response(sock, "PUT")
    assert final.status == 201
    assert get(server, key).content == b"hello"


def test_declared_oversize_is_413(limited: Server) -> None:
    key = unique("big")
    r = requests.put(f"{limited.url}/blobs/{key}", data=b"x" * (LIMIT + 1), timeout=TIMEOUT)
    assert_problem(r, 413)
    assert get(limited, key).status_code == 404
    assert put(limited, key, b"x" * LIMIT).status_code == 201


def test_chunked_oversize_is_413_mid_stream(limited: Server) -> None:
    key = unique("big")
    put(limited, key, b"old")
    r = requests.put(
        f"{limited.url}/blobs/{key}", data=chunks(b"y" * (LIMIT + 70000)), timeout=TIMEOUT
    )
    assert_problem(r, 413)
    assert get(limited, key).content == b"old"
    wait_until_empty(storage_root(limited))


def test_short_body_then_close_stores_nothing(limited: Server) -> None:
    key = unique("short")
    with connect(limited) as sock:
        sock.sendall(
            f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode()
            + b"z" * 10
        )
        wait_until_begun(storage_root(limited))
        sock.shutdown(socket.SHUT_WR)  # the body ends here
        answer = read_response(sock, "PUT")
    assert_problem(answer, 400)
    assert get(limited, key).status_code == 404
    wait_until_empty(storage_root(limited))


def test_disconnect_mid_body_stores_nothing(limited: Server) -> None:
    key = unique("gone")
    put(limited, key, b"previous")
    with connect(limited) as sock:
        sock.sendall(
            f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n\r\n".encode()
            + b"z" * 300_000
        )
        wait_until_begun(storage_root(limited))
    wait_until_empty(storage_root(limited))
    assert get(limited, key).content == b"previous"
