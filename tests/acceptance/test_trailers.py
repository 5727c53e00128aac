"""Digests in a chunked body's trailer section are checked before the commit (RFC 9530 §2).

Raw sockets, because no common client sends trailers: each case frames the body
itself, so what reaches the server is exactly the case.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket

import pytest
import requests

from tests.acceptance.helpers import (
    TIMEOUT,
    RawResponse,
    assert_problem,
    connect,
    get,
    put,
    read_response,
    sha256,
    unique,
)
from tests.support import Server

BODY = os.urandom(2 * (1 << 20) + 4321)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def sha_field(data: bytes) -> bytes:
    return f"Content-Digest: sha-256=:{b64(hashlib.sha256(data).digest())}:".encode()


def md5_field(data: bytes) -> bytes:
    return f"Content-MD5: {b64(hashlib.md5(data).digest())}".encode()


def chunked_put(key: str, body: bytes, trailers: list[bytes], trailer_header: str = "") -> bytes:
    """A chunked PUT of ``body`` in curl-sized chunks, then ``trailers``; one request's bytes."""
    head = f"PUT /blobs/{key} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
    if trailer_header:
        head += f"Trailer: {trailer_header}\r\n"
    pieces = [head.encode() + b"\r\n"]
    for at in range(0, len(body), 65536):
        piece = body[at : at + 65536]
        pieces.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    pieces.append(b"0\r\n" + b"".join(t + b"\r\n" for t in trailers) + b"\r\n")
    return b"".join(pieces)


def send(server: Server, request: bytes, *, half_close: bool = False) -> RawResponse:
    with connect(server, TIMEOUT) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_response(sock, "PUT")


def test_a_matching_sha256_trailer_stores_the_body(server: Server) -> None:
    key = unique("trailer")
    answer = send(server, chunked_put(key, BODY, [sha_field(BODY)], "Content-Digest"))
    assert answer.status == 201, answer.body[:300]
    assert json.loads(answer.body)["sha256"] == sha256(BODY)
    with get(server, key) as response:
        assert response.content == BODY


def test_a_wrong_sha256_trailer_is_a_400_and_keeps_the_previous_version(server: Server) -> None:
    key = unique("trailer")
    with put(server, key, b"the previous version") as first:
        assert first.status_code == 201
    answer = send(server, chunked_put(key, BODY, [sha_field(b"other")], "Content-Digest"))
    doc = assert_problem(answer, 400)
    assert "digest" in str(doc["type"]) + str(doc["detail"])
    with get(server, key) as response:
        assert response.content == b"the previous version"


def test_a_wrong_trailer_on_a_new_key_stores_nothing(server: Server) -> None:
    key = unique("trailer")
    assert_problem(send(server, chunked_put(key, BODY, [sha_field(b"x")], "Content-Digest")), 400)
    with get(server, key) as response:
        assert response.status_code == 404


def test_an_announced_md5_trailer_is_checked(server: Server) -> None:
    good, bad = unique("trailer"), unique("trailer")
    answer = send(server, chunked_put(good, BODY, [md5_field(BODY)], "Content-MD5"))
    assert answer.status == 201, answer.body[:300]
    assert_problem(send(server, chunked_put(bad, BODY, [md5_field(b"x")], "Content-MD5")), 400)
    with get(server, bad) as response:
        assert response.status_code == 404


def test_an_unannounced_sha256_trailer_is_still_checked(server: Server) -> None:
    """RFC 9110 §6.6.2: ``Trailer`` is a hint; a digest that arrives is never ignored."""
    good, bad = unique("trailer"), unique("trailer")
    assert send(server, chunked_put(good, BODY, [sha_field(BODY)])).status == 201
    assert_problem(send(server, chunked_put(bad, BODY, [sha_field(b"x")])), 400)
    with get(server, bad) as response:
        assert response.status_code == 404


def test_an_unannounced_md5_trailer_is_refused_not_ignored(server: Server) -> None:
    """MD5 is computed only when asked for up front: unannounced, it cannot be checked."""
    key = unique("trailer")
    doc = assert_problem(send(server, chunked_put(key, BODY, [md5_field(BODY)])), 400)
    assert "Trailer: Content-MD5" in str(doc["detail"])
    with get(server, key) as response:
        assert response.status_code == 404


def test_an_announced_digest_that_never_comes_is_a_400(server: Server) -> None:
    key = unique("trailer")
    doc = assert_problem(send(server, chunked_put(key, BODY, [], "Content-Digest")), 400)
    assert "content-digest" in str(doc["detail"])
    with get(server, key) as response:
        assert response.status_code == 404


def test_header_and_trailer_digests_must_both_match(server: Server) -> None:
    key = unique("trailer")
    request = chunked_put(key, BODY, [sha_field(b"x")], "Content-Digest")
    header = sha_field(BODY) + b"\r\n"
    request = request.replace(b"Host: t\r\n", b"Host: t\r\n" + header, 1)
    assert_problem(send(server, request), 400)
    with get(server, key) as response:
        assert response.status_code == 404


def test_other_trailer_fields_are_ignored(server: Server) -> None:
    key = unique("trailer")
    fields = [b"X-Checksum-Note: fine", b"Content-Type: text/plain", sha_field(BODY)]
    answer = send(server, chunked_put(key, BODY, fields, "Content-Digest, X-Checksum-Note"))
    assert answer.status == 201, answer.body[:300]
    assert json.loads(answer.body)["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("name", "trailers"),
    [
        ("no-colon", [b"Content-Digest sha-256=:abc:"]),
        ("space-before-colon", [b"Content-Digest : sha-256=:abc:"]),
        ("bad-name", [b"Cont(ent: 1"]),
        ("obs-fold", [b"X-A: 1", b" continued"]),
        ("control-char", [b"X-A: a\x01b"]),
        ("content-length", [b"Content-Length: 5"]),
        ("host", [b"Host: elsewhere"]),
        ("transfer-encoding", [b"Transfer-Encoding: chunked"]),
        ("authorization", [b"Authorization: Bearer x"]),
        ("bad-digest-syntax", [b"Content-Digest: sha-256=not-base64"]),
        ("short-sha256", [b"Content-Digest: sha-256=:" + b64(b"short").encode() + b":"]),
        ("bad-md5", [b"Content-MD5: !!!"]),
        ("two-md5", [md5_field(BODY), md5_field(BODY)]),
        ("too-long", [b"X-Pad: " + b"a" * 8000] * 40),
    ],
)
def test_malformed_trailers_are_a_400_and_store_nothing(
    server: Server, name: str, trailers: list[bytes]
) -> None:
    key = unique(f"trailer-{name}")
    announced = "Content-MD5" if name in ("bad-md5", "two-md5") else ""
    answer = send(server, chunked_put(key, BODY, trailers, announced), half_close=True)
    assert_problem(answer, 400)
    with get(server, key) as response:
        assert response.status_code == 404


def test_a_body_cut_off_inside_its_trailers_is_a_400(server: Server) -> None:
    key = unique("trailer")
    request = chunked_put(key, BODY, [sha_field(BODY)], "Content-Digest")[:-4]
    assert_problem(send(server, request, half_close=True), 400)
    with get(server, key) as response:
        assert response.status_code == 404


def test_the_connection_serves_the_next_request_after_trailers(server: Server) -> None:
    key = unique("trailer")
    request = chunked_put(key, BODY, [sha_field(BODY)], "Content-Digest")
    following = f"HEAD /blobs/{key} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    with connect(server, TIMEOUT) as sock:
        sock.sendall(request + following)
        assert read_response(sock, "PUT").status == 201
        assert read_response(sock, "HEAD").status == 200


def test_trailers_reach_the_check_through_small_reads(server: Server) -> None:
    """Tiny chunks and a digest spread over many reads still end in one checked commit."""
    key = unique("trailer")
    body = BODY[:300_000]
    head = b"PUT /blobs/%s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" % key.encode()
    framed = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    )
    request = head + framed + b"0\r\n" + sha_field(body) + b"\r\n\r\n"
    assert send(server, request).status == 201
    with requests.get(f"{server.url}/blobs/{key}", timeout=TIMEOUT) as response:
        assert response.content == body
