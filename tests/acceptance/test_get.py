"""GET and HEAD /blobs/{key}: validators, ranges, conditionals, downloads."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import os
from urllib.parse import quote

import pytest
import requests

from tests.acceptance.helpers import TIMEOUT, assert_problem, get, put, unique
from tests.support import Server

DATA = os.urandom(10_000)
PAST = "Sat, 01 Jan 2000 00:00:00 GMT"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"


@pytest.fixture(scope="module")
def blob(server: Server) -> tuple[str, str]:
    """A 10 000-byte text/x-test blob on the shared server: (key, quoted ETag)."""
    key = unique("get")
    r = put(server, key, DATA, **{"Content-Type": "text/x-test"})
    assert r.status_code == 201
    return key, r.headers["ETag"]


def test_get_headers_and_body(server: Server, blob: tuple[str, str]) -> None:
    key, etag = blob
    r = get(server, key)
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["ETag"] == etag
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Length"] == str(len(DATA))
    assert r.headers["Content-Type"] == "text/x-test"
    assert r.headers["Last-Modified"].endswith(" GMT")
    digest = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    assert r.headers["Repr-Digest"] == f"sha-256=:{digest}:"


def test_head_equals_get_without_body(server: Server, blob: tuple[str, str]) -> None:
    key, _ = blob
    g = get(server, key)
    h = requests.head(f"{server.url}/blobs/{key}", timeout=TIMEOUT)
    assert h.status_code == 200
    assert h.content == b""
    ignore = {"date", "x-request-id"}  # per request by design
    assert {k.lower(): v for k, v in h.headers.items() if k.lower() not in ignore} == {
        k.lower(): v for k, v in g.headers.items() if k.lower() not in ignore
    }


def test_get_missing_is_404(server: Server) -> None:
    assert_problem(get(server, unique("missing")), 404)
    r = requests.head(f"{server.url}/blobs/{unique('missing')}", timeout=TIMEOUT)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=-1", 9999, 9999),
        ("bytes=9999-", 9999, 9999),
        ("bytes=100-199", 100, 199),
        ("bytes=5000-99999", 5000, 9999),
        ("bytes=-20000", 0, 9999),
        ("bytes=0-", 0, 9999),
    ],
)
def test_single_range(
    server: Server, blob: tuple[str, str], header: str, start: int, end: int
) -> None:
    key, etag = blob
    r = get(server, key, Range=header)
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert r.headers["Content-Length"] == str(end - start + 1)
    assert r.headers["ETag"] == etag
    assert r.content == DATA[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=10000-", "bytes=20000-30000", "bytes=-0"])
def test_unsatisfiable_range_is_416(server: Server, blob: tuple[str, str], header: str) -> None:
    key, _ = blob
    r = get(server, key, Range=header)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-", "bytes=0-9,20-29,-5", "bytes=9000-,0-0"])
def test_multiple_ranges(server: Server, blob: tuple[str, str], header: str) -> None:
    key, _ = blob
    r = get(server, key, Range=header)
    assert r.status_code == 206
    assert r.headers["Content-Length"] == str(len(r.content))
    ctype = r.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    message = email.message_from_bytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + r.content, policy=email.policy.HTTP
    )
    parts = list(message.iter_parts())  # type: ignore[attr-defined]
    assert len(parts) == header.count(",") + 1
    for part in parts:
        assert part["Content-Type"] == "text/x-test"
        unit, _, rest = part["Content-Range"].partition(" ")
        assert unit == "bytes"
        span, _, total = rest.partition("/")
        assert total == str(len(DATA))
        first, _, last = span.partition("-")
        assert part.get_payload(decode=True) == DATA[int(first) : int(last) + 1]


@pytest.mark.parametrize("header", ["bytes=0-,0-,0-", "bytes=0-9999,-10000", "bytes=-6000,0-5000"])
def test_overlapping_ranges_never_send_more_than_the_blob(
    server: Server, blob: tuple[str, str], header: str
) -> None:
    key, _ = blob
    r = get(server, key, Range=header)
    assert r.status_code == 200
    assert r.content == DATA


def test_if_range(server: Server, blob: tuple[str, str]) -> None:
    key, etag = blob
    r = get(server, key, Range="bytes=0-9", **{"If-Range": etag})
    assert r.status_code == 206
    assert r.content == DATA[:10]
    r = get(server, key, Range="bytes=0-9", **{"If-Range": '"other"'})
    assert r.status_code == 200
    assert r.content == DATA
    r = get(server, key, Range="bytes=0-9", **{"If-Range": PAST})
    assert r.status_code == 200


def test_not_modified(server: Server, blob: tuple[str, str]) -> None:
    key, etag = blob
    r = get(server, key, **{"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["ETag"] == etag
    assert get(server, key, **{"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert get(server, key, **{"If-None-Match": '"x"'}).status_code == 200
    assert get(server, key, **{"If-Modified-Since": FUTURE}).status_code == 304
    assert get(server, key, **{"If-Modified-Since": PAST}).status_code == 200


def test_precondition_failed(server: Server, blob: tuple[str, str]) -> None:
    key, etag = blob
    assert_problem(get(server, key, **{"If-Match": '"other"'}), 412)
    assert get(server, key, **{"If-Match": etag}).status_code == 200
    assert get(server, key, **{"If-Match": "*"}).status_code == 200
    assert_problem(get(server, key, **{"If-Unmodified-Since": PAST}), 412)
    assert get(server, key, **{"If-Unmodified-Since": FUTURE}).status_code == 200


def test_download_with_non_ascii_name(server: Server, blob: tuple[str, str]) -> None:
    key, _ = blob
    name = "résumé €.txt"
    r = requests.get(f"{server.url}/blobs/{key}", params={"download": name}, timeout=TIMEOUT)
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    fallback = disposition.split("filename=", 1)[1].split(";", 1)[0]
    assert fallback.isascii()
    assert r.content == DATA


def test_download_defaults_to_the_last_segment(server: Server, blob: tuple[str, str]) -> None:
    key, _ = blob
    r = requests.get(f"{server.url}/blobs/{key}?download", timeout=TIMEOUT)
    assert key.rsplit("/", 1)[-1] in r.headers["Content-Disposition"]


def test_zero_byte_blob(server: Server) -> None:
    key = unique("zero")
    put(server, key, b"")
    r = get(server, key)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["Content-Length"] == "0"
    h = requests.head(f"{server.url}/blobs/{key}", timeout=TIMEOUT)
    assert h.headers["Content-Length"] == "0"
    r = get(server, key, Range="bytes=0-0")
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */0"
