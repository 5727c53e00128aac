"""The server's lean path answers exactly as the Flask blueprint does.

Two servers share one store: one as shipped (GET, HEAD and PUT of /blobs/{key}
answered by ``server/lean.py``), one with ``BLOBSTREAM_LEAN=0`` (everything
through Flask). The same requests go to both and must get the same status,
the same header fields and values (but the date and the request id) and the
same body; their /metrics must count the same requests.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Server

READ, WRITE = "lean-read-token", "lean-write-token"
TOKENS = {"BLOBSTREAM_TOKENS": f"{READ}=read,{WRITE}=write"}
VARYING = {"date", "x-request-id"}
BODY = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    root = tmp_path_factory.mktemp("lean")
    storage = (root / "data").as_uri()
    lean = Server(storage, root / "lean.log", env=TOKENS)
    flask = Server(storage, root / "flask.log", env={**TOKENS, "BLOBSTREAM_LEAN": "0"})
    with lean, flask:
        yield lean, flask


def call(
    server: Server, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        fields = {n.lower(): v for n, v in response.getheaders() if n.lower() not in VARYING}
        return response.status, fields, data
    finally:
        conn.close()


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def unboundary(fields: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    """Multipart byteranges get a random boundary per response."""
    match = re.search(r"boundary=(\S+)", fields.get("content-type", ""))
    if match is None:
        return fields, body
    boundary = match.group(1)
    fields = {**fields, "content-type": fields["content-type"].replace(boundary, "B")}
    return fields, body.replace(boundary.encode(), b"B")


@pytest.fixture(scope="module")
def stored(pair: tuple[Server, Server]) -> dict[str, str]:
    lean, _ = pair
    status, fields, _ = call(
        lean,
        "PUT",
        "/blobs/lean/one%20blob.bin",
        {**auth(WRITE), "Content-Type": "video/mp4"},
        BODY,
    )
    assert status == 201
    empty, _, _ = call(lean, "PUT", "/blobs/lean/empty", auth(WRITE), b"")
    assert empty == 201
    return {"etag": fields["etag"]}


READS = [
    ("plain", {}),
    ("range", {"Range": "bytes=100-199"}),
    ("suffix range", {"Range": "bytes=-10"}),
    ("two ranges", {"Range": "bytes=0-9,50-59"}),
    ("unsatisfiable", {"Range": "bytes=99999-"}),
    ("bad range ignored", {"Range": "bytes=x-y"}),
    ("if-none-match hit", {"If-None-Match": "ETAG"}),
    ("if-none-match miss", {"If-None-Match": '"other"'}),
    ("if-match miss", {"If-Match": '"other"'}),
    ("if-range match", {"If-Range": "ETAG", "Range": "bytes=0-0"}),
    ("if-range stale", {"If-Range": '"other"', "Range": "bytes=0-0"}),
    ("if-modified-since future", {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}),
    ("bad etag list", {"If-Match": "not-an-etag"}),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("name", "headers"), READS, ids=[r[0] for r in READS])
@pytest.mark.parametrize("token", [READ, WRITE, None, "wrong"])
def test_reads_answer_alike(
    pair: tuple[Server, Server],
    stored: dict[str, str],
    method: str,
    name: str,
    headers: dict[str, str],
    token: str | None,
) -> None:
    headers = {k: v.replace("ETAG", stored["etag"]) for k, v in headers.items()}
    answers = []
    for server in pair:
        status, fields, body = call(server, method, "/blobs/lean/one%20blob.bin",
                                    {**headers, **auth(token)})  # fmt: skip
        answers.append((status, *unboundary(fields, body)))
    assert answers[0] == answers[1], name


@pytest.mark.parametrize(
    "path", ["/blobs/lean/empty", "/blobs/lean/missing", "/blobs/a//b", "/blobs/%FF", "/blobs/"]
)
def test_edge_keys_answer_alike(
    pair: tuple[Server, Server], stored: dict[str, str], path: str
) -> None:
    lean, flask = (call(s, "GET", path, auth(READ)) for s in pair)
    assert lean == flask


def normalized_put(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], object]:
    status, fields, body = answer
    fields = {k: v for k, v in fields.items() if k not in ("etag", "content-length")}
    document = json.loads(body) if body else None
    if isinstance(document, dict):
        for name in ("etag", "last_modified", "key", "instance"):
            document.pop(name, None)
    if "location" in fields:
        fields["location"] = fields["location"].rsplit("-", 1)[0]
    return status, fields, document


WRITES = [
    ("create", {}, BODY),
    ("content type", {"Content-Type": "text/plain; charset=utf-8"}, b"hello"),
    ("bad content type", {"Content-Type": "no slash"}, b"x"),
    ("create only", {"If-None-Match": "*"}, b"x"),
    ("if-match miss", {"If-Match": '"nope"'}, b"x"),
    ("good digest", {"Content-Digest": "sha-256=:LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=:"},
     b"foo"),
    ("bad digest", {"Content-Digest": "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"},
     b"foo"),
    ("md5", {"Content-MD5": "rL0Y20zC+Fzt72VPzMSk2A=="}, b"foo"),
    ("bad md5", {"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="}, b"foo"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "headers", "body"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize("token", [WRITE, READ, None])
def test_writes_answer_alike(
    pair: tuple[Server, Server],
    name: str,
    headers: dict[str, str],
    body: bytes,
    token: str | None,
) -> None:
    answers = []
    for which, server in zip(("lean", "flask"), pair, strict=True):
        key = f"/blobs/w/{name.replace(' ', '_')}-{token}-{which}"
        first = call(server, "PUT", key, {**headers, **auth(token)}, body)
        again = call(server, "PUT", key, {**headers, **auth(token)}, body)
        answers.append((normalized_put(first), normalized_put(again)))
    assert answers[0] == answers[1], name


def test_a_replace_answers_alike(pair: tuple[Server, Server]) -> None:
    """If-Match of the current version replaces it (200), on either path."""
    answers = []
    for which, server in zip(("lean", "flask"), pair, strict=True):
        key = f"/blobs/replace/{which}"
        _, fields, _ = call(server, "PUT", key, auth(WRITE), b"one")
        second = call(server, "PUT", key, {**auth(WRITE), "If-Match": fields["etag"]}, b"two")
        _, _, body = call(server, "GET", key, auth(READ))
        answers.append((normalized_put(second), body))
    assert answers[0] == answers[1]
    assert answers[0][0][0] == 200 and answers[0][1] == b"two"


def blob_counts(server: Server) -> dict[str, float]:
    _, _, text = call(server, "GET", "/metrics", {})
    counts = {}
    for line in text.decode().splitlines():
        if line.startswith(("blobstream_requests_total{", "blobstream_bytes_")) and (
            'route="/blobs/<blobkey:key>"' in line
        ):
            name, value = line.rsplit(" ", 1)
            counts[name] = float(value)
    return counts


def test_metrics_count_alike(tmp_path: Path) -> None:
    """The same requests to a fresh lean server and a fresh Flask one: the same counters."""
    counts = []
    for lean in ("1", "0"):
        srv = Server((tmp_path / lean).as_uri(), tmp_path / f"{lean}.log",
                     env={"BLOBSTREAM_LEAN": lean})  # fmt: skip
        with srv:
            call(srv, "PUT", "/blobs/m/a", {}, BODY)
            call(srv, "PUT", "/blobs/m/a", {"If-None-Match": "*"}, BODY)
            call(srv, "GET", "/blobs/m/a", {})
            call(srv, "GET", "/blobs/m/a", {"Range": "bytes=0-99"})
            call(srv, "HEAD", "/blobs/m/a", {})
            call(srv, "GET", "/blobs/m/missing", {})
            counts.append(blob_counts(srv))
    assert counts[0] == counts[1]
    partial = [n for n in counts[0] if 'method="GET"' in n and 'status="206"' in n]
    assert [counts[0][n] for n in partial] == [1.0]
