"""Which request heads the worker may answer itself (``blobstream.http.head``)."""

from __future__ import annotations

import pytest

from blobstream.http.head import parse_simple_head

HOST = b"Host: x\r\n"


def head(first: bytes, *fields: bytes) -> bytes:
    return first + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


PLAIN = [
    (head(b"GET /blobs/a HTTP/1.1", b"Host: x"), "GET", "/blobs/a", {"HTTP_HOST": "x"}, False),
    (
        head(b"HEAD /blobs/a/b.txt HTTP/1.1", b"host:x", b"Range: bytes=0-9"),
        "HEAD",
        "/blobs/a/b.txt",
        {"HTTP_HOST": "x", "HTTP_RANGE": "bytes=0-9"},
        False,
    ),
    (
        head(b"GET /blobs/a%20b%2Fc HTTP/1.1", b"Host: x", b"Connection: close"),
        "GET",
        "/blobs/a b/c",
        {"HTTP_HOST": "x", "HTTP_CONNECTION": "close"},
        True,
    ),
    (
        head(b"GET /blobs/%C3%A9 HTTP/1.1", b"Host: x", b"Connection: Keep-Alive"),
        "GET",
        "/blobs/\xc3\xa9",  # WSGI: the UTF-8 bytes as latin-1
        {"HTTP_HOST": "x", "HTTP_CONNECTION": "Keep-Alive"},
        False,
    ),
    (
        head(b"GET /blobs/a HTTP/1.1", b"Host: x", b'If-None-Match:  "e1", "e2" \t'),
        "GET",
        "/blobs/a",
        {"HTTP_HOST": "x", "HTTP_IF_NONE_MATCH": '"e1", "e2"'},
        False,
    ),
    (
        head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"X-Empty:"),
        "GET",
        "/blobs/a",
        {"HTTP_HOST": "x", "HTTP_X_EMPTY": ""},
        False,
    ),
]


@pytest.mark.parametrize(("data", "method", "path", "headers", "close"), PLAIN)
def test_plain_heads(
    data: bytes, method: str, path: str, headers: dict[str, str], close: bool
) -> None:
    parsed = parse_simple_head(data + b"GET /next", "/blobs/")
    assert parsed is not None
    assert (parsed.method, parsed.path, parsed.headers, parsed.close) == (
        method,
        path,
        headers,
        close,
    )
    assert parsed.target == data.split(b" ")[1].decode()
    assert parsed.rest == b"GET /next"


REFUSED = {
    "incomplete": b"GET /blobs/a HTTP/1.1\r\nHost: x\r\n",
    "bare LF": b"GET /blobs/a HTTP/1.1\nHost: x\n\n",
    "POST": head(b"POST /blobs/a HTTP/1.1", b"Host: x"),
    "PUT": head(b"PUT /blobs/a HTTP/1.1", b"Host: x"),
    "lower-case method": head(b"get /blobs/a HTTP/1.1", b"Host: x"),
    "HTTP/1.0": head(b"GET /blobs/a HTTP/1.0", b"Host: x"),
    "HTTP/2": head(b"GET /blobs/a HTTP/2.0", b"Host: x"),
    "other prefix": head(b"GET /uploads/a HTTP/1.1", b"Host: x"),
    "absolute form": head(b"GET http://x/blobs/a HTTP/1.1", b"Host: x"),
    "query": head(b"GET /blobs/a?x=1 HTTP/1.1", b"Host: x"),
    "fragment": head(b"GET /blobs/a#f HTTP/1.1", b"Host: x"),
    "two spaces": head(b"GET  /blobs/a HTTP/1.1", b"Host: x"),
    "control byte in target": head(b"GET /blobs/a\x01 HTTP/1.1", b"Host: x"),
    "no Host": head(b"GET /blobs/a HTTP/1.1", b"Accept: */*"),
    "two Hosts": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Host: y"),
    "repeated header": head(b"GET /blobs/a HTTP/1.1", HOST[:-2], b"Range: a", b"range: b"),
    "folded line": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"X-A: 1", b" 2"),
    "space before colon": head(b"GET /blobs/a HTTP/1.1", b"Host : x"),
    "underscore in name": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"X_Forwarded: 1"),
    "no colon": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Bad"),
    "non-ASCII value": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"X-A: \xe9"),
    "NUL in value": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"X-A: a\x00b"),
    "Content-Length": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Content-Length: 0"),
    "Transfer-Encoding": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Transfer-Encoding: x"),
    "Expect": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Expect: 100-continue"),
    "Upgrade": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Upgrade: h2c"),
    "Connection: upgrade": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Connection: Upgrade"),
    "Script-Name": head(b"GET /blobs/a HTTP/1.1", b"Host: x", b"Script-Name: /p"),
}


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_anything_else_goes_the_general_way(data: bytes) -> None:
    assert parse_simple_head(data, "/blobs/") is None


@pytest.mark.parametrize(
    ("limits", "plain"),
    [
        ((4094, 100, 8190), True),
        ((20, 100, 8190), False),  # the request line is longer than 20
        ((0, 1, 0), False),  # two fields, one allowed
        ((0, 2, 0), True),
        ((0, 0, 10), False),  # "Range: bytes=0-9" is longer than 10
        ((0, 0, 0), True),  # 0: no limit, as in gunicorn
    ],
)
def test_gunicorn_limits_are_never_exceeded(limits: tuple[int, int, int], plain: bool) -> None:
    data = head(b"GET /blobs/a-long-key HTTP/1.1", b"Host: x", b"Range: bytes=0-9")
    assert (parse_simple_head(data, "/blobs/", limits) is not None) is plain
