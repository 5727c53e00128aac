"""Malformed requests over raw sockets: always a 4xx problem, never a 5xx or a hang."""

from __future__ import annotations

import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.acceptance.helpers import RawResponse, connect, put, raw, read_response, unique
from tests.support import Server

KEY = "malformed/blob"


@pytest.fixture(scope="module")
def target(server: Server) -> Server:
    assert put(server, KEY, b"0123456789").status_code in (200, 201)
    return server


def request(method: str, path: str, headers: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    return head.encode("latin-1") + body


def assert_client_error(answer: RawResponse, statuses: range = range(400, 500)) -> None:
    assert answer.status in statuses, (answer.status, answer.body[:300])
    assert answer.headers["Content-Type"] == "application/problem+json", answer.body[:300]
    doc = json.loads(answer.body)
    assert doc["status"] == answer.status
    assert {"type", "title", "status", "detail"} <= set(doc)


P = f"/blobs/{KEY}"
BAD_REQUESTS = {
    "cl-letters": request("PUT", P, "Content-Length: abc\r\n", b"abc"),
    "cl-negative": request("PUT", P, "Content-Length: -1\r\n"),
    "cl-plus": request("PUT", P, "Content-Length: +3\r\n", b"abc"),
    "cl-duplicate-different": request(
        "PUT", P, "Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"
    ),
    "cl-list": request("PUT", P, "Content-Length: 3, 4\r\n", b"abcd"),
    "cl-huge": request("PUT", P, "Content-Length: 99999999999999999999999999\r\n", b"a"),
    "cl-and-te": request(
        "PUT", P, "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"
    ),
    "te-gzip-chunked": request(
        "PUT", P, "Transfer-Encoding: gzip, chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n"
    ),
    "te-gzip-chunked-form": request(
        "POST",
        "/blobs/malformed/",
        "Transfer-Encoding: gzip, chunked\r\nContent-Type: multipart/form-data; boundary=b\r\n",
        b"5\r\n--b--\r\n0\r\n\r\n",
    ),
    "bad-chunk-size": request(
        "PUT", P, "Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n"
    ),
    "chunk-missing-crlf": request(
        "PUT", P, "Transfer-Encoding: chunked\r\n", b"3\r\nabcXX0\r\n\r\n"
    ),
    "content-md5-garbage": request("PUT", P, "Content-Length: 3\r\nContent-MD5: zzz\r\n", b"abc"),
    "content-md5-short": request("PUT", P, "Content-Length: 3\r\nContent-MD5: AAAA\r\n", b"abc"),
    "content-digest-garbage": request(
        "PUT", P, "Content-Length: 3\r\nContent-Digest: sha-256=abc\r\n", b"abc"
    ),
    "content-digest-bad-base64": request(
        "PUT", P, "Content-Length: 3\r\nContent-Digest: sha-256=:!!!!:\r\n", b"abc"
    ),
    "content-digest-wrong-length": request(
        "PUT", P, "Content-Length: 3\r\nContent-Digest: sha-256=:AAAA:\r\n", b"abc"
    ),
    "content-type-garbage": request("PUT", P, "Content-Length: 3\r\nContent-Type: ///\r\n", b"abc"),
    "content-type-no-subtype": request(
        "PUT", P, "Content-Length: 3\r\nContent-Type: text\r\n", b"abc"
    ),
    "if-match-garbage-put": request("PUT", P, "Content-Length: 3\r\nIf-Match: garbage\r\n", b"abc"),
    "if-match-garbage-get": request("GET", P, "If-Match: garbage\r\n"),
    "if-match-unterminated": request("GET", P, 'If-Match: "abc\r\n'),
    "key-dotdot": request("GET", "/blobs/a/../b"),
    "key-nul": request("GET", "/blobs/a%00"),
    "key-empty": request("PUT", "/blobs/", "Content-Length: 0\r\n"),
    "request-line-garbage": b"GARBAGE\r\n\r\n",
    "request-line-version": b"GET /blobs/x HTTP/9.9\r\nHost: x\r\n\r\n",
    "header-no-colon": b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
    "header-space-in-name": b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
    "header-control-char": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
    "uri-too-long": b"GET /blobs/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "too-many-headers": b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
    "method-unknown": request("BREW", P),
    "list-limit": request("GET", "/blobs?limit=abc"),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_malformed_request_is_a_4xx_problem(target: Server, name: str) -> None:
    answer = raw(target, BAD_REQUESTS[name])
    assert_client_error(answer)
    assert raw(target, request("GET", P)).body == b"0123456789"


# Garbage a server must ignore or refuse, but never fail on (RFC 9110 §13.1, §14.2).
IGNORABLE = [
    "Range: bytes=abc",
    "Range: bytes=5-1",
    "Range: items=0-1",
    "Range: bytes=99999999999999999999999999-",
    "Range: bytes=" + ",".join(["0-0"] * 500),
    "Range: bytes=-",
    "If-Range: garbage",
    "If-None-Match: garbage",
    'If-None-Match: W/"x", "y',
    "If-Modified-Since: yesterday",
    "If-Unmodified-Since: 32 Foo 99999 99:99:99 GMT",
    "If-Modified-Since: Sat, 01 Jan 0001 00:00:00 GMT",
]


@pytest.mark.parametrize("header", IGNORABLE)
def test_garbage_read_headers_never_fail_the_server(target: Server, header: str) -> None:
    answer = raw(target, request("GET", P, header + "\r\n"))
    if answer.status >= 400:
        assert_client_error(answer)
    else:
        assert answer.status in (200, 206, 304)


def test_nothing_was_stored_by_the_malformed_puts(target: Server) -> None:
    assert raw(target, request("GET", P)).body == b"0123456789"


def test_body_longer_than_declared_is_the_next_request(target: Server) -> None:
    key = unique("longer")
    data = f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcdefgh\r\n\r\n"
    with connect(target) as sock:
        sock.sendall(data.encode())
        first = read_response(sock, "PUT")
        assert first.status == 201
        assert json.loads(first.body)["size"] == 3
        assert_client_error(read_response(sock))
    assert raw(target, request("GET", f"/blobs/{key}")).body == b"abc"


def test_pipelined_request_after_an_error_is_not_read_as_body(target: Server) -> None:
    key = unique("pipe")
    bad = (
        f"PUT /blobs/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-MD5: zzz\r\n\r\nabc"
    ).encode()
    with connect(target) as sock:
        sock.sendall(bad + request("GET", P))
        first = read_response(sock, "PUT")
        assert_client_error(first)
        try:
            second = read_response(sock)
        except (ConnectionError, OSError, ValueError):
            return  # the server closed the connection after the error: fine
        assert second.body == b"0123456789"


TOKEN = st.text(st.sampled_from("abcxyzABC-_0129!#$%&'*+.^`|~"), min_size=1, max_size=12)
VALUE = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
HEADER_NAMES = st.sampled_from(
    [
        b"Content-Length",
        b"Range",
        b"If-Match",
        b"If-None-Match",
        b"If-Range",
        b"If-Modified-Since",
        b"If-Unmodified-Since",
        b"Content-MD5",
        b"Content-Digest",
        b"Content-Type",
        b"Expect",
        b"Host",
    ]
) | TOKEN.map(str.encode)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from([b"GET", b"HEAD", b"PUT", b"POST", b"DELETE", b"OPTIONS"])
    | TOKEN.map(str.encode),
    path=st.sampled_from([P.encode(), b"/blobs", b"/blobs/", b"/healthz", b"/"])
    | st.binary(max_size=40).map(lambda b: b"/blobs/" + b.replace(b" ", b"%20")),
    headers=st.lists(st.tuples(HEADER_NAMES, VALUE), max_size=6),
    body=st.binary(max_size=64),
)
def test_fuzzed_requests_never_get_a_5xx(
    target: Server, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    lines = [method + b" " + path + b" HTTP/1.1", b"Host: x", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", target.port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # a declared length beyond the body is a short body
        with sock.makefile("rb") as reply:
            status_line = reply.readline()
    if status_line:  # a server may close on garbage; it must not answer 5xx
        parts = status_line.split()
        assert parts[0] == b"HTTP/1.1", status_line
        status = int(parts[1])
        assert status < 500, (data[:300], status_line)
    assert raw(target, request("GET", "/healthz")).status == 200
