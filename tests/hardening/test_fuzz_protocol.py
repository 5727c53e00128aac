"""A property-based raw-socket fuzzer: framing, pipelining, truncation, odd header bytes.

``tests/acceptance/test_malformed.py`` fuzzes one request per connection with
plain headers; this goes further: several requests pipelined on one
connection, every body framing (Content-Length right, short, long; chunked
with good and bad chunk sizes and extensions; both at once; Transfer-Encoding
variants), truncated streams, duplicated and huge headers, bytes beyond ASCII.
Every answer must be a well-formed HTTP/1.1 response below 500 (or gunicorn's
501 for an unknown transfer coding) or a clean close, within the socket
timeout; afterwards the same workers still answer ``/healthz``.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.acceptance.helpers import TIMEOUT
from tests.hardening.conftest import workers
from tests.support import Server

EXAMPLES = 300
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STATS = {"connections": 0, "requests": 0, "responses": 0, "closed_early": 0}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, set[int]]]:
    root = tmp_path_factory.mktemp("fuzz")
    with Server((root / "data").as_uri(), root / "server.log") as srv:
        requests.put(f"{srv.url}/blobs/fuzz/known", data=b"0123456789", timeout=TIMEOUT)
        # The fuzzer may replace or delete fuzz/known; this one it never names.
        requests.put(f"{srv.url}/blobs/kept/known", data=b"0123456789", timeout=TIMEOUT)
        yield srv, workers(srv)


METHODS = st.sampled_from([b"GET", b"HEAD", b"PUT", b"POST", b"DELETE", b"OPTIONS", b"PATCH"])
TARGETS = st.sampled_from(
    [
        b"/blobs/fuzz/known",
        b"/blobs/fuzz/new",
        b"/blobs/fuzz/%E2%82%AC",
        b"/blobs",
        b"/blobs?prefix=fuzz/&limit=2",
        b"/uploads",
        b"/healthz",
        b"*",
        b"http://x/blobs/fuzz/abs",
        b"/blobs/fuzz/\xc3\xa9",
        b"/blobs/fuzz/\xff\xfe",
        b"/blobs/fuzz/a%00b",
        b"/blobs/fuzz/" + b"k" * 1100,
    ]
)
HEADER_VALUE = st.one_of(
    st.sampled_from([b"", b"0", b"-1", b"bytes=0-1", b'"x"', b"*", b"chunked", b"100-continue"]),
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.integers(1000, 10000).map(lambda n: b"v" * n),  # beyond gunicorn's field size at the top
    st.text(max_size=10).map(lambda t: t.encode("utf-8")),
)
HEADER_NAME = st.sampled_from(
    [
        b"Range",
        b"If-Match",
        b"If-None-Match",
        b"Content-Type",
        b"Content-MD5",
        b"Content-Digest",
        b"Expect",
        b"Host",
        b"Upload-Length",
        b"Upload-Offset",
        b"Tus-Resumable",
        b"Authorization",
        b"X-\xe9",
        b"Bad Name",
        b"",
    ]
)
HEADERS = st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=5)
CHUNK_SIZE = st.sampled_from(
    [b"zz", b"-1", b"0x3", b"3 ", b"3;ext=1", b"3;" + b"e" * 5000, b"FFFFFFFFFFFFFFFFFFFF", b""]
)


@st.composite
def framed(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """Framing headers and a body: right, wrong, or several at once."""
    body = draw(st.binary(max_size=48))
    size = str(len(body)).encode()
    kind = draw(
        st.sampled_from(
            ["none", "cl", "cl-short", "cl-long", "chunked", "bad-chunk", "cl-te", "te-variant"]
        )
    )
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    if kind == "none":
        return [], b""
    if kind == "cl":
        return [b"Content-Length: " + size], body
    if kind == "cl-short":  # the body runs on into what looks like the next request
        return [b"Content-Length: " + str(max(0, len(body) - 3)).encode()], body
    if kind == "cl-long":  # truncated body
        return [b"Content-Length: " + str(len(body) + 5).encode()], body
    if kind == "chunked":
        return [b"Transfer-Encoding: chunked"], chunked
    if kind == "bad-chunk":
        return [b"Transfer-Encoding: chunked"], draw(CHUNK_SIZE) + b"\r\nabc\r\n0\r\n\r\n"
    if kind == "cl-te":
        return [b"Content-Length: " + size, b"Transfer-Encoding: chunked"], chunked
    te = draw(
        st.sampled_from(
            [b"gzip, chunked", b"chunked, gzip", b"identity", b"CHUNKED", b" chunked", b"chunk"]
        )
    )
    return [b"Transfer-Encoding: " + te], chunked


@st.composite
def request_bytes(draw: st.DrawFn) -> tuple[bytes, bytes]:
    method = draw(METHODS)
    target = draw(TARGETS)
    version = draw(st.sampled_from([b"HTTP/1.1"] * 6 + [b"HTTP/1.0", b"HTTP/1.2", b"HTTP/11"]))
    framing, body = draw(framed())
    lines = [method + b" " + target + b" " + version, b"Host: x"]
    lines += framing + [name + b": " + value for name, value in draw(HEADERS)]
    if draw(st.booleans()):
        lines.insert(2, draw(st.sampled_from([b" folded", b"\tfolded", b"NoColon", b"X:\x00"])))
    sep = draw(st.sampled_from([b"\r\n"] * 8 + [b"\n", b"\r"]))
    return method, sep.join(lines) + sep + sep + body


@st.composite
def connection(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """One to three pipelined requests, the stream possibly cut anywhere."""
    pairs = draw(st.lists(request_bytes(), min_size=1, max_size=3))
    data = b"".join(req for _, req in pairs)
    if draw(st.integers(0, 4)) == 0:
        data = data[: draw(st.integers(1, len(data)))]
    return [method for method, _ in pairs], data


class _Replay(io.BytesIO):
    def makefile(self, *args: object, **kwargs: object) -> _Replay:
        return self

    def close(self) -> None:
        pass


def responses(data: bytes, methods: list[bytes]) -> Iterator[http.client.HTTPResponse]:
    """Parse the responses in ``data`` one after the other (no body for HEAD)."""
    stream = _Replay(data)
    for method in [*methods, *[b"GET"] * 3]:
        if stream.tell() == len(data):
            return
        resp = http.client.HTTPResponse(stream, method=method.decode("latin-1"))  # type: ignore[arg-type]
        resp.begin()
        if resp.getheader("Connection", "").lower() == "close":
            yield resp  # the last answer: its body runs to the end (even for a HEAD
            return  # gunicorn could not parse)
        resp.read()
        yield resp


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, read until the server closes (never past the timeout)."""
    received = bytearray()
    deadline = time.monotonic() + 15
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before taking everything: fine
        while True:
            assert time.monotonic() < deadline, f"the server hung on {data[:200]!r}"
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            received += piece
    return bytes(received)


@SETTINGS
@given(conn=connection())
def test_every_answer_is_well_formed_and_below_500(
    target: tuple[Server, set[int]], conn: tuple[list[bytes], bytes]
) -> None:
    srv, _ = target
    methods, data = conn
    received = exchange(srv.port, data)
    STATS["connections"] += 1
    STATS["requests"] += len(methods)
    count = 0
    for resp in responses(received, methods):
        count += 1
        assert resp.version == 11 or resp.version == 10 and b"HTTP/1.0" in data, received
        te_case = b"ransfer-Encoding" in data or b"ransfer-encoding" in data
        assert resp.status < 500 or resp.status == 501 and te_case, (data[:300], received[:300])
        if resp.status >= 400 and resp.getheader("Content-Type", "").startswith("application/"):
            assert resp.getheader("Content-Type") == "application/problem+json"
    assert count <= len(methods), (data[:300], received[:600])
    STATS["responses"] += count
    STATS["closed_early"] += count < len(methods)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /blobs/fuzz/known HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"DELETE /blobs/fuzz/none HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PUT /blobs/fuzz/%00 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
)
def test_a_body_left_unread_gets_no_answer_of_its_own(
    target: tuple[Server, set[int]], head: bytes
) -> None:
    """Found by the fuzzer: gunicorn parsed the unread chunked body of a GET after
    the 200 and answered its bad chunk size with a second response, which a client
    or proxy would pair with its next request. Now the connection closes instead."""
    srv, _ = target
    method = head.split(b" ", 1)[0]
    received = exchange(srv.port, head + b"zz\r\nabc\r\n0\r\n\r\n")
    answers = list(responses(received, [method]))
    assert len(answers) == 1, received
    assert answers[0].getheader("Connection") == "close"
    assert answers[0].status < 500


def test_workers_survived_and_answer(target: tuple[Server, set[int]], tmp_path: Path) -> None:
    srv, before = target
    assert STATS["connections"] >= EXAMPLES // 2, STATS
    assert workers(srv) == before, "a worker died and was replaced during the fuzzing"
    r = requests.get(f"{srv.url}/healthz", timeout=TIMEOUT)
    assert r.status_code == 200
    r = requests.get(f"{srv.url}/blobs/kept/known", timeout=TIMEOUT)
    assert r.content == b"0123456789"
    assert "Traceback" not in srv.log()
    (tmp_path / "fuzz-stats.txt").write_text(repr(STATS))
    print("fuzz stats:", STATS)
